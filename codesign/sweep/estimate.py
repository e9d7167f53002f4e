"""Analytic resource and latency estimates of an engine design point (LUT, FF, BRAM 18 Kbit, DSP, cycles).

The engine's model is fitted on Yosys runs and checked on held-out configurations (issue 5, item 4; see
the engine section and codesign.sweep.fit); its coefficients are read from engine_cost.json. hls4ml
points use `codesign.hls.estimate` (circulant layers included), see
codesign.sweep.evaluate; `Resources` is the row both fill. The engine's memories follow Yosys' own rule
(`xc7_memory`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from codesign.engine.params import FIFO_DEPTH as ENGINE_FIFO_DEPTH


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
        else:  # colptr = (X + H + 1) + (2H + 1) + (H + 1) = X + 4H + 3, cols = max(X + H, 2H)
            h = self.inputs_plus_units // 2  # cols = 2H when X <= H
            x = self.colptr_depth - 4 * h - 3
            if not (0 < x <= h and self.inputs_plus_units == 2 * h):  # cols = X + H
                h = (self.colptr_depth - self.inputs_plus_units - 3) // 3
                x = self.inputs_plus_units - h
        c = self.bias_depth - 4 * h * max(layers, 1)
        return max(x, 1), max(h, 1), max(c, 1)

    def as_dict(self) -> dict:
        d = asdict(self)
        d["layer_words_max"] = list(self.layer_words_max)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> EngineGeometry:
        return cls(**{**d, "layer_words_max": tuple(d["layer_words_max"])})


# The engine's model is fitted on Yosys synth_xilinx runs of rtl/sparse_lstm_engine.sv (issue 5, item 4):
# bench/fit_estimator.py synthesizes a design of experiments, codesign.sweep.fit fits and checks it on
# held-out configurations, and the result (coefficients, every measured point, the held-out error table)
# is committed as engine_cost.json beside this file. Forms:
#   BRAM and DSP are derived, not fitted: every memory is mapped the way Yosys' memory_libmap maps it for
#     7-series (`xc7_memory`), every multiplier takes ceil(a/25) x ceil(b/18) DSP48E1. The fit only
#     decides, per memory or multiplier group, how many copies the netlist keeps (1, or 0 when Yosys
#     optimises a group away; on the fitted RTL every group is kept).
#   LUT and FF are sums of physically named terms (`features`; LUT RAM sites derived), fitted by
#     non-negative least squares on the relative error.
# The memory list mirrors the RTL the fit was run on (engine_cost.json names its fingerprint); when the
# RTL adds or reshapes a memory, `engine_memories` must follow, and the re-fit's error table shows it.

COST_FILE = Path(__file__).with_name("engine_cost.json")
RESOURCES = ("lut", "ff", "bram_18k", "dsp")
FITTED = ("lut", "ff")  # continuous coefficients; BRAM and DSP get integer copy counts
DERIVED = ("bram_18k", "dsp")
FIFO_DEPTH = ENGINE_FIFO_DEPTH  # FifoDepth of every build (codesign.engine.params)

_BRAM18 = ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512))
_BRAM36 = ((1, 32768), (2, 16384), (4, 8192), (9, 4096), (18, 2048), (36, 1024), (72, 512))
_LUTRAM = ((3, 64), (6, 32))  # RAM64M as 64 x 3, RAM32M as 32 x 6 (simple dual port): 4 LUT sites each
_LUTRAM_QP = ((1, 64), (2, 32))  # the same primitives with three read ports
# Yosys' cost of one read-mux bit of LUT RAM stacked in depth (not in its library file), bracketed by the
# fit's runs: any value from 0.26 to 0.5 maps every memory of every run as Yosys did (below, a 271 x 9
# memory with two reads stays in LUT RAM; above, 272 x 8 and 256 x 10 ones with one read go to block RAM).
LUT_MUX_COST = 0.33


@dataclass(frozen=True)
class Xc7Memory:
    bram18: int  # 18 Kbit blocks (a RAMB36 counts 2)
    lutram_luts: int  # LUT sites of RAM64M / RAM32M
    lutram_mux_bits: int  # output bits that select among LUT RAM units stacked in depth
    registers: int  # bits of registered read data pulled out of LUT RAM (synchronous reads)


def xc7_memory(depth: int, width: int, read_ports: int = 1, sync_read: bool = True) -> Xc7Memory:
    """How Yosys' memory_libmap maps a depth x width memory with one write port and `read_ports` reads
    (1 to 3) on 7-series: the cheapest of block RAM (129 per RAMB18, 257 per RAMB36 at the best aspect
    ratio, one copy per read port; synchronous reads only), simple dual-port LUT RAM (RAM64M as 64 x 3 or
    RAM32M as 32 x 6 at cost 8, one copy per read port) and, for two or three reads, quad-port LUT RAM
    (RAM64M as 64 x 1 or RAM32M as 32 x 2 with three read ports, at cost 7); LUT RAM stacked in depth
    adds LUT_MUX_COST per read-mux bit. Checked against every memory of the fit's runs."""
    if depth <= 0 or width <= 0:
        return Xc7Memory(0, 0, 0, 0)
    copies = max(1, read_ports)
    b18 = min(-(-width // w) * -(-depth // d) for w, d in _BRAM18)
    b36 = min(-(-width // w) * -(-depth // d) for w, d in _BRAM36)
    bram_cost, bram18 = min((129 * b18, b18), (257 * b36, 2 * b36))

    # (cost, units, read-mux bits) of each LUT RAM choice. As Yosys' lutrams_xc5v.txt says, a unit's cost
    # scales with the width it uses ("widthscale": cost - scale x unused fraction), and every read port
    # of a memory stacked in depth has a mux per output bit, LUT_MUX_COST each.
    def lutram(shapes, unit_cost: int, scale: int, n: int) -> tuple[float, int, int]:
        w, d = min(shapes, key=lambda s: (-(-width // s[0]) * -(-depth // s[1]), -(-depth // s[1])))
        deep, rem = -(-depth // d), width % w
        row = unit_cost * (width // w) + (unit_cost - scale * (1 - rem / w) if rem else 0.0)
        mux = copies * width * (deep - 1)
        return n * deep * row + LUT_MUX_COST * mux, n * deep * -(-width // w), mux

    options = [lutram(_LUTRAM, 8, 7, copies)]
    if copies > 1:  # quad port: one copy serves up to three reads
        options.append(lutram(_LUTRAM_QP, 7, 7, 1))
    cost, units, mux = min(options)
    if sync_read and copies * bram_cost < cost:  # a block RAM reads synchronously only
        return Xc7Memory(copies * bram18, 0, 0, 0)
    return Xc7Memory(0, 4 * units, mux, copies * width * int(sync_read))


def _dsp48(a: int, b: int) -> int:
    """DSP48E1 for an a x b signed product (25 x 18 per slice)."""
    a, b = max(a, b), min(a, b)
    return min(-(-a // 25) * -(-b // 18), -(-a // 18) * -(-b // 25))


def engine_memories(g: EngineGeometry) -> dict[str, tuple[int, Xc7Memory]]:
    """(copies in the design, mapping) of every memory of rtl/sparse_lstm_engine.sv."""
    x, h, c = g.shape()
    layers = max(1, len(g.layer_words_max))
    col_bits = max(1, int(g.inputs_plus_units).bit_length())
    return {
        "pe_weights": (g.num_pe, xc7_memory(g.depth, g.weight_width + g.index_width)),
        "pe_colptr": (g.num_pe, xc7_memory(g.colptr_depth, g.ptr_width, read_ports=2)),
        # per-PE column queue of {activation, begin pointer, end pointer}
        "pe_queue": (g.num_pe, xc7_memory(FIFO_DEPTH, g.act_width + 2 * g.ptr_width, sync_read=False)),
        "bias": (1, xc7_memory(g.bias_depth, g.bias_width)),
        "tables": (3, xc7_memory(g.table_depth, g.gate_width)),
        "h": (1, xc7_memory(2 * layers * h, g.act_width, sync_read=False)),
        "c": (1, xc7_memory(layers * h, g.cell_width)),
        # non-zero activation lists (value, column): x_t; h of every layer and bank (two readers of
        # exclusive use, one selected address: Yosys merges them into one read port)
        "x_list": (1, xc7_memory(x, g.act_width + col_bits, sync_read=False)),
        "h_lists": (1, xc7_memory(2 * layers * h, g.act_width + col_bits, sync_read=False)),
    }


def derived_terms(g: EngineGeometry) -> dict[str, dict[str, float]]:
    """BRAM (18 Kbit blocks) and DSP of each group, one copy each; the fit gives the copy counts."""
    mems = engine_memories(g)
    return {
        "bram_18k": {f"bram_{k}": float(n * m.bram18) for k, (n, m) in mems.items()},
        "dsp": {
            "dsp_pe_multipliers": float(g.num_pe * _dsp48(g.act_width, g.weight_width)),
            "dsp_elementwise": float(
                _dsp48(g.gate_width, g.cell_width) + 2 * _dsp48(g.gate_width, g.gate_width)
            ),
        },
    }


def row_mux_luts(rows: int) -> int:
    """LUT6s of one bit of a rows:1 multiplexer on 7-series (rows a power of 2): a LUT6 selects among 4,
    MUXF7 / MUXF8 (free) combine up to 16 in a slice, and wider muxes add a LUT level over the slices."""
    if rows <= 1:
        return 0
    if rows <= 16:
        return max(1, rows // 4)
    return 4 * (rows // 16) + max(1, row_mux_luts(rows // 16))


def features(g: EngineGeometry) -> dict[str, dict[str, float]]:
    """Every resource's terms for a geometry: LUT and FF (fitted) and BRAM and DSP (derived)."""
    # Yosys maps the accumulator array to flip-flops padded to a power of 2 (its row index width):
    # LocalRows 13 costs what 16 does, 20 what 32 does (measured on csc_pe alone, AccWidth 30)
    p, rows, acc = g.num_pe, 1 << max(0, g.max_local_rows - 1).bit_length(), g.acc_width
    word = g.weight_width + g.index_width
    mems = engine_memories(g)
    per_pe = ("pe_weights", "pe_colptr", "pe_queue")
    lutram_pe = sum(n * m.lutram_luts for k, (n, m) in mems.items() if k in per_pe)
    lutram_shared = sum(n * m.lutram_luts for k, (n, m) in mems.items() if k not in per_pe)
    lutram_mux = sum(n * m.lutram_mux_bits for n, m in mems.values())
    lutram_regs = sum(n * m.registers for n, m in mems.values())
    return {
        "lut": {
            "control": 1.0,
            "per_pe": float(p),
            "accumulate": float(p * acc),  # accumulate adder, A1 forwarding mux, R2 select over the PEs
            # the accumulator rows' select logic in every PE, counted in LUT6s of a row mux per bit: the
            # A1 read (accumulate), the R1 read (element-wise), the row write enables. Its cost per row
            # grows in steps with the mux tree (16 rows fit a slice's MUXF7/F8), not linearly in rows.
            "accumulator_select": float(p * acc * row_mux_luts(rows)),
            "word_decode": float(p * word),  # index decode, row arithmetic, weight word path
            # column queue and word issue: begin / end / address compares and increments
            "address": float(p * g.ptr_width),
            # element-wise unit: z + bias and its saturating cast (AccWidth wide), the cell path
            # (c_prev * f, c sum, casts to the cell and to the table input: CellWidth wide)
            "elementwise_acc": float(acc),
            "elementwise_cell": float(g.cell_width),
            "lutram_pe": float(lutram_pe),
            "lutram_shared": float(lutram_shared),
            "lutram_mux": float(lutram_mux),
        },
        "ff": {
            "control": 1.0,
            "per_pe": float(p),  # pipeline valids, queue pointers, activation registers, busy counter
            "accumulators": float(p * rows * acc),
            "pe_datapath": float(p * (word + g.weight_width)),  # issued word, product (act x weight)
            "address": float(p * g.ptr_width),  # pointer read, queue head, issue address and end
            "elementwise_acc": float(acc),  # the read accumulator and the logit path
            "elementwise_cell": float(g.cell_width),  # c_prev, c_t pipeline registers, f*c product
            "memory_read_registers": float(lutram_regs),
        },
        **derived_terms(g),
    }


# What each term counts (engine_cost.json and the report carry this beside the coefficients).
FORMS = {
    "lut": {
        "control": "1 (sequencer, stream interfaces, list walk, fixed part of the element-wise unit)",
        "per_pe": "NumPe (queue control, handshakes)",
        "accumulate": "NumPe x AccWidth (accumulate adder, A1 forwarding mux, R2 PE select mux)",
        "accumulator_select": "NumPe x AccWidth x LUT6s of a LocalRows (to a power of 2):1 mux "
        "(row_mux_luts; A1 and R1 accumulator reads, row write enables)",
        "word_decode": "NumPe x (WeightWidth + IndexWidth) (index decode, word path)",
        "address": "NumPe x PtrWidth (column queue, word address counters, column-end compares)",
        "elementwise_acc": "AccWidth (z + bias, its cast: rounding increment + range check)",
        "elementwise_cell": "CellWidth (cell update, casts of c_t)",
        "lutram_pe": "LUT sites of the PE memories mapped to LUT RAM (derived: xc7_memory)",
        "lutram_shared": "LUT sites of the shared memories mapped to LUT RAM (derived: xc7_memory)",
        "lutram_mux": "output bits selecting among LUT RAM units stacked in depth (derived)",
    },
    "ff": {
        "control": "1",
        "per_pe": "NumPe (valids, queue pointers, activation registers, 32-bit busy counter)",
        "accumulators": "NumPe x LocalRows (to a power of 2) x AccWidth",
        "pe_datapath": "NumPe x (2 WeightWidth + IndexWidth) (issued word, product)",
        "address": "NumPe x PtrWidth (pointer read, issue address and end)",
        "elementwise_acc": "AccWidth (accumulator read register)",
        "elementwise_cell": "CellWidth (cell pipeline registers)",
        "memory_read_registers": "read-data registers of synchronous LUT RAM reads (derived)",
    },
    "bram_18k": {
        "bram_<memory>": "18 Kbit blocks of the memory as xc7_memory maps it; coefficient = copies kept"
    },
    "dsp": {
        "dsp_pe_multipliers": "NumPe x DSP48E1 of an ActWidth x WeightWidth product",
        "dsp_elementwise": "DSP48E1 of f*c, i*g, o*tanh(c); coefficient = copies kept",
    },
}


@dataclass(frozen=True)
class EngineCostModel:
    """Fitted coefficients per resource (term name -> coefficient), as engine_cost.json stores them."""

    coefficients: dict
    source: str = "engine_cost.json"

    @classmethod
    def load(cls, path: Path | None = None) -> EngineCostModel:
        path = Path(path or COST_FILE)
        data = json.loads(path.read_text())
        return cls(coefficients=data["coefficients"], source=str(path.name))


@lru_cache(maxsize=1)
def default_cost_model() -> EngineCostModel:
    return EngineCostModel.load(COST_FILE)


def estimate_counts(g: EngineGeometry, coefficients: dict) -> dict[str, float]:
    """LUT, FF, BRAM 18K, DSP of a geometry under `coefficients` (unrounded)."""
    f = features(g)
    return {r: float(sum(coefficients[r].get(k, 0.0) * v for k, v in f[r].items())) for r in RESOURCES}


def engine_step_cycles(
    g: EngineGeometry, step_overhead: int = 0, head_overhead: int = 0
) -> tuple[float, int]:
    """(cycles per step, head cycles) by the engine's cycle model (codesign.engine.cycles, which equals the
    RTL) in the worst case: every activation non-zero, so each matrix phase is its busiest PE's words (or
    one broadcast entry a cycle). With overlap (docs/engine.md "Overlap") phase p's matrix phase M(p) runs
    while the element-wise phase E(p - 1) does, so the time between two element-wise starts is
    max(M(p), E(p - 1)), and M(p) cannot end before E(p - 1) has written its pending list (+ drain). The
    head: what its matrix phase and the logits add after the last step."""
    from codesign.engine.cycles import CycleParams

    p = CycleParams()
    x, h, c = g.shape()
    layers = len(g.layer_words_max)
    # every PE's element-wise unit finishes its own ceil(H / NumPe) units
    eltwise = -(-4 * -(-h // g.num_pe) // p.eltwise_rows_per_cycle) + p.eltwise_latency + step_overhead
    step = 0.0
    for layer, words in enumerate(g.layer_words_max):
        entries = (x if layer == 0 else h) + h  # one broadcast entry per cycle
        # layer 0: the frame's first word arrives in the phase's first cycle, its entry loads the next
        fill = p.fill_late + (1 if layer == 0 else 0)
        matrix = fill + max(words, entries) + p.drain
        pending = layer > 0 or layers == 1  # segment 1 written by E(p - 1) while M(p) runs
        step += max(matrix, eltwise + (p.drain if pending else 0))
    # The head's h_T entries come as the last layer's element-wise units write them (local unit lu's
    # NumPe entries 4 (lu + 1) + latency cycles after it starts), one broadcast a cycle, each column
    # head_words_max / H words on the busiest PE, issued 2 cycles after its entry loads.
    per_column = g.head_words_max / h
    load, end = -1, 0.0
    for u in range(h):
        load = max(-(-4 * (u // g.num_pe + 1) // p.eltwise_rows_per_cycle) + p.eltwise_latency, load + 1)
        end = max(load + p.fill_late, end) + per_column
    head_matrix = max(-int(-end // 1), eltwise) + p.drain  # ceil
    head = head_matrix - eltwise + p.logit_cycles * c + head_overhead
    return step, head


def engine_estimate(
    g: EngineGeometry, step_overhead: int = 0, head_overhead: int = 0, cost: EngineCostModel | None = None
) -> Resources:
    c = cost or default_cost_model()
    counts = estimate_counts(g, c.coefficients)
    step, head = engine_step_cycles(g, step_overhead, head_overhead)
    latency = int(round(step * g.timesteps)) + head
    multipliers = g.num_pe + 3
    return Resources(
        lut=int(round(counts["lut"])),
        ff=int(round(counts["ff"])),
        bram_18k=int(round(counts["bram_18k"])),
        dsp=int(round(counts["dsp"])),
        cycles_per_step=step,
        latency_cycles=latency,
        multipliers=multipliers,
    )
