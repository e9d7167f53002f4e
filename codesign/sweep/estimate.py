"""Analytic resource and latency estimates for a design point (LUT, FF, BRAM 18 Kbit, DSP, cycles).

These are first-order models with every coefficient named in one dataclass per target, so issue 5's
item 4 can fit them on Yosys runs and replace the defaults (and report the error table). Until
`codesign.hls` ships its own per-project estimate, `hls_estimate` here is the stand-in: replace it with
that call when it exists.

Memories (both targets): a memory of depth d x width w takes the cheapest 7-series block-RAM aspect
ratio (RAMB18: 16Kx1, 8Kx2, 4Kx4, 2Kx9, 1Kx18, 512x36); one no deeper than `lutram_max_depth` goes to
distributed RAM instead (ceil(d / 64) LUTs per bit), as Yosys and Vivado map shallow memories.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

BRAM18_SHAPES = ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512))  # (width, depth)


def bram18_count(depth: int, width: int) -> int:
    """RAMB18 blocks for a depth x width memory at the cheapest aspect ratio."""
    if depth <= 0 or width <= 0:
        return 0
    return min(-(-width // w) * -(-depth // d) for w, d in BRAM18_SHAPES)


@dataclass(frozen=True)
class Memory:
    bram18: int
    lutram_luts: int


def memory_cost(depth: int, width: int, lutram_max_depth: int) -> Memory:
    if depth <= 0 or width <= 0:
        return Memory(0, 0)
    if depth <= lutram_max_depth:
        return Memory(0, -(-depth // 64) * width)
    return Memory(bram18_count(depth, width), 0)


@dataclass(frozen=True)
class Resources:
    lut: int
    ff: int
    bram_18k: int
    dsp: int
    cycles_per_step: float  # all layers, one time step
    latency_cycles: int  # one sequence: every step plus the head
    multipliers: int

    def as_dict(self) -> dict:
        return asdict(self)


# --- the engine -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineCostModel:
    """Per-PE and shared costs of the ESE-style engine (placeholders until fitted on Yosys runs)."""

    dsp_per_pe: int = 1  # one WeightWidth x ActWidth multiplier (<= 25 x 18 fits one DSP48)
    elementwise_dsp: int = 3  # f*c, i*g, o*tanh(c)
    control_lut: int = 300  # sequencer, stream interfaces, counters
    pe_fixed_lut: int = 60  # FIFO control, valid/ready, address counter
    elementwise_lut_per_bit: int = 4  # casts and adders of the element-wise unit, per cell-type bit
    control_ff: int = 250
    pe_fixed_ff: int = 24
    fifo_depth: int = 16  # (activation, column) pairs per PE FIFO, in distributed RAM
    lutram_max_depth: int = 64


@dataclass(frozen=True)
class EngineGeometry:
    """What the estimate needs to know of an encoded model (all from the CSC storage and the types)."""

    num_pe: int
    weight_width: int
    index_width: int
    act_width: int
    acc_width: int
    cell_width: int
    gate_width: int
    table_depth: int
    bias_width: int
    bias_depth: int
    depth: int  # words of the deepest PE memory
    colptr_depth: int  # pointer entries per PE
    ptr_width: int
    max_local_rows: int  # accumulators per PE
    inputs_plus_units: int  # the widest broadcast vector (column index width)
    layer_words_max: tuple[int, ...]  # per layer: the most words any PE stores (matrix phase, every a != 0)
    head_words_max: int
    timesteps: int
    # The model's shape (the build's Max* parameters). 0 = derive it from the fields above, which hold it
    # exactly for one layer and for stacked layers of equal width (the encoder's layout).
    inputs: int = 0
    units: int = 0
    classes: int = 0

    def shape(self) -> tuple[int, int, int]:
        """(inputs, units, classes) of the widest layer."""
        if self.inputs and self.units and self.classes:
            return self.inputs, self.units, self.classes
        layers = len(self.layer_words_max)
        if layers <= 1:  # colptr = (X + H + 1) + (H + 1), cols = X + H
            h = self.colptr_depth - self.inputs_plus_units - 2
            x = self.inputs_plus_units - h
        else:  # colptr = (X + H + 1) + (2H + 1) + (H + 1), cols = max(X + H, 2H)
            h = (self.colptr_depth - self.inputs_plus_units - 3) // 3
            x = self.inputs_plus_units - h
            if x < h:
                h = self.inputs_plus_units // 2
                x = self.colptr_depth - 4 * h - 3
        c = self.bias_depth - 4 * h * max(layers, 1)
        return max(x, 1), max(h, 1), max(c, 1)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["layer_words_max"] = list(self.layer_words_max)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> EngineGeometry:
        return cls(**{**d, "layer_words_max": tuple(d["layer_words_max"])})


def engine_estimate(
    g: EngineGeometry, step_overhead: int = 0, head_overhead: int = 0, cost: EngineCostModel | None = None
) -> Resources:
    c = cost or EngineCostModel()
    col_bits = max(1, int(g.inputs_plus_units).bit_length())
    weights = memory_cost(g.depth, g.weight_width + g.index_width, c.lutram_max_depth)
    colptr = memory_cost(g.colptr_depth, g.ptr_width, c.lutram_max_depth)
    fifo = memory_cost(c.fifo_depth, g.act_width + col_bits, c.lutram_max_depth)
    tables = memory_cost(g.table_depth, g.gate_width, c.lutram_max_depth)
    bias = memory_cost(g.bias_depth, g.bias_width, c.lutram_max_depth)
    pe_lut = (
        c.pe_fixed_lut
        + g.acc_width  # accumulate adder
        + g.max_local_rows  # accumulator write-enable decode
        + 2 * g.ptr_width  # word address counter and column end compare
        + weights.lutram_luts
        + colptr.lutram_luts
        + fifo.lutram_luts
    )
    pe_ff = c.pe_fixed_ff + g.max_local_rows * g.acc_width + g.act_width + g.weight_width + g.index_width
    pe_ff += 2 * g.ptr_width
    lut = c.control_lut + g.num_pe * pe_lut + c.elementwise_lut_per_bit * g.cell_width
    lut += 2 * tables.lutram_luts + bias.lutram_luts
    ff = c.control_ff + g.num_pe * pe_ff + 3 * g.cell_width + 2 * g.gate_width
    bram = g.num_pe * (weights.bram18 + colptr.bram18) + 2 * tables.bram18 + bias.bram18
    step = float(sum(g.layer_words_max) + step_overhead * len(g.layer_words_max))
    latency = int(round(step * g.timesteps)) + g.head_words_max + head_overhead
    return Resources(
        lut=int(lut),
        ff=int(ff),
        bram_18k=int(bram),
        dsp=g.num_pe * c.dsp_per_pe + c.elementwise_dsp,
        cycles_per_step=step,
        latency_cycles=latency,
        multipliers=g.num_pe + c.elementwise_dsp,
    )


# --- hls4ml -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HlsCostModel:
    """hls4ml io_parallel with one reuse factor R for every matrix (Resource strategy when R > 1)."""

    data_bits: int = 16  # ap_fixed<16,6> activations and states
    dsp_min_weight_bits: int = 6  # narrower products map to LUTs (placeholder until fitted)
    lut_per_lut_multiplier_bit2: float = 0.6  # LUTs per (weight bit x data bit) of a fabric multiplier
    lut_per_accumulate_bit: int = 1  # adder tree: one LUT per accumulator bit per multiplier
    ff_per_multiplier_bit: int = 1  # pipeline register after each product
    mult_depth: int = 3  # cycles of a pipelined multiplier
    activation_depth: int = 4  # table lookup and element-wise update
    table_depth: int = 1024
    control_lut: int = 200
    control_ff: int = 200
    lutram_max_depth: int = 64


@dataclass(frozen=True)
class HlsMatrix:
    multiplications: int  # per evaluation, after compression (what the kernel computes)
    stored_values: int  # weight values it stores (non-zero blocks, defining vectors, or all)
    fan_in: int  # inputs summed per output (adder-tree depth)
    outputs: int


def hls_estimate(
    layers: list[HlsMatrix],
    head: HlsMatrix,
    weight_bits: int,
    reuse_factor: int,
    units: list[int],
    timesteps: int,
    cost: HlsCostModel | None = None,
) -> Resources:
    """Stand-in for codesign.hls's estimate: multipliers = ceil(multiplications / R), weights in BRAM
    (R deep) when R > 1, II of a step = R, one activation table pair per layer."""
    c = cost or HlsCostModel()
    r = reuse_factor
    lut = c.control_lut
    ff = c.control_ff + sum(units) * 2 * c.data_bits  # h and c registers
    bram = dsp = mults_total = 0
    step = 0.0
    tables = memory_cost(c.table_depth, c.data_bits, c.lutram_max_depth)
    acc_bits = c.data_bits + weight_bits + 8
    for i, m in enumerate([*layers, head]):
        mults = -(-m.multiplications // r)
        mults_total += mults
        if weight_bits >= c.dsp_min_weight_bits:
            dsp += mults
        else:
            lut += int(np.ceil(mults * weight_bits * c.data_bits * c.lut_per_lut_multiplier_bit2))
        lut += mults * acc_bits * c.lut_per_accumulate_bit
        ff += mults * (weight_bits + c.data_bits) * c.ff_per_multiplier_bit + m.outputs * acc_bits
        if r > 1:
            per_row = -(-m.stored_values // r)  # values read per cycle
            mem = memory_cost(r, per_row * weight_bits, c.lutram_max_depth)
            bram += mem.bram18
            lut += mem.lutram_luts
        depth = r + c.mult_depth + max(1, int(m.fan_in).bit_length())
        if i < len(layers):
            bram += 2 * tables.bram18
            lut += 2 * tables.lutram_luts
            step += depth + c.activation_depth
        else:
            head_cycles = depth
    latency = int(round(step * timesteps)) + head_cycles
    return Resources(
        lut=int(lut),
        ff=int(ff),
        bram_18k=int(bram),
        dsp=int(dsp),
        cycles_per_step=step,
        latency_cycles=latency,
        multipliers=int(mults_total),
    )


# --- fitted engine model (stub, replaced below) ---
RESOURCES = ("lut", "ff", "bram_18k", "dsp")
FITTED = ("lut", "ff")


def features(g: EngineGeometry) -> dict[str, dict[str, float]]:
    return {"lut": {"one": 1.0}, "ff": {"one": 1.0}}


def estimate_counts(g: EngineGeometry, coefficients) -> dict[str, float]:
    f = features(g)
    return {r: sum(coefficients[r].get(k, 0.0) * v for k, v in f[r].items()) if r in f else 0.0 for r in RESOURCES}
