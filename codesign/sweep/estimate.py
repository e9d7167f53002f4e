"""Analytic resource and latency estimates of an engine design point (LUT, FF, BRAM 18 Kbit, DSP, cycles).

The engine's model is fitted on Yosys runs and checked on held-out configurations (issue 5, item 4; see
the engine section and codesign.sweep.fit); its coefficients are read from engine_cost.json. hls4ml
points use `codesign.hls.estimate` (circulant layers included), see
codesign.sweep.evaluate; `Resources` is the row both fill. The engine's memories follow Yosys' own rule
(`xc7_memory`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
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
    table_width: int  # an activation table entry: {boundary offset, level} (EngineTypes.table_width)
    table_depth: int
    bias_width: int
    bias_depth: int
    depth: int  # words of the deepest PE memory
    colptr_depth: int  # pointer entries per PE
    ptr_width: int
    max_local_rows: int  # rows per PE (not read by the estimate: it takes csc_pe's LocalRows from the shape)
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
            # both readings can fit colptr and cols (X 4, H 10 and X 12, H 8 do): the biases tell
            fits = self.bias_depth - 4 * h * layers >= 1
            if not (0 < x <= h and self.inputs_plus_units == 2 * h and fits):  # cols = X + H
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
#     7-series (`xc7_memory`), every multiplier takes ceil(a/25) x ceil(b/18) DSP48E1 unless Yosys'
#     mul2dsp leaves it in LUTs (a result under 9 bits). The fit only decides, per memory or multiplier
#     group, how many copies the netlist keeps (1, or 0 when Yosys optimises a group away).
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
# Yosys' memory_libmap costs of the soft logic around RAM units stacked in depth (FACTOR_MUX, FACTOR_DEMUX
# in passes/memory/memory_libmap.cc): per read-mux output bit, and per unit's write enable.
LUT_MUX_COST = 0.5
LUT_DEMUX_COST = 0.5


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
    adds LUT_MUX_COST per read-mux bit and LUT_DEMUX_COST per unit's write enable. Checked against every
    memory of the fit's runs."""
    if depth <= 0 or width <= 0:
        return Xc7Memory(0, 0, 0, 0)
    copies = max(1, read_ports)
    b18 = min(-(-width // w) * -(-depth // d) for w, d in _BRAM18)
    b36 = min(-(-width // w) * -(-depth // d) for w, d in _BRAM36)
    bram_cost, bram18 = min((129 * b18, b18), (257 * b36, 2 * b36))

    # (cost, units, read-mux bits) of each LUT RAM choice, the cheapest shape (as memory_libmap picks it).
    # As Yosys' lutrams_xc5v.txt says, a unit's cost scales with the width it uses ("widthscale": cost -
    # scale x unused fraction); a memory stacked in depth adds a mux per output bit of every read port and
    # a write enable per unit.
    def lutram(shapes, unit_cost: int, scale: int, n: int) -> tuple[float, int, int]:
        def priced(w: int, d: int) -> tuple[float, int, int]:
            deep, rem = -(-depth // d), width % w
            row = unit_cost * (width // w) + (unit_cost - scale * (1 - rem / w) if rem else 0.0)
            mux = copies * width * (deep - 1)
            demux = deep if deep > 1 else 0
            cost = n * deep * row + LUT_MUX_COST * mux + LUT_DEMUX_COST * demux
            return cost, n * deep * -(-width // w), mux

        return min(priced(w, d) for w, d in shapes)

    options = [lutram(_LUTRAM, 8, 7, copies)]
    if copies > 1:  # quad port: one copy serves up to three reads
        options.append(lutram(_LUTRAM_QP, 7, 7, 1))
    cost, units, mux = min(options)
    if sync_read and copies * bram_cost < cost:  # a block RAM reads synchronously only
        return Xc7Memory(copies * bram18, 0, 0, 0)
    return Xc7Memory(0, 4 * units, mux, copies * width * int(sync_read))


def _dsp48(a: int, b: int, y: int | None = None) -> int:
    """DSP48E1 for an a x b signed product with a y-bit result (25 x 18 per slice). Yosys' mul2dsp
    (synth_xilinx, 7-series) leaves a product in LUTs when an operand is under 2 bits or the result
    under 9 bits."""
    if min(a, b) < 2 or (y if y is not None else a + b) < 9:
        return 0
    a, b = max(a, b), min(a, b)
    return min(-(-a // 25) * -(-b // 18), -(-a // 18) * -(-b // 25))


def _pe_products(g: EngineGeometry) -> list[tuple[int, int, int]]:
    """csc_pe's multiplies as (a bits, b bits, result bits): above 18 activation bits the product is split
    into {0, act[16:0]} x weight and act[top:17] x weight (g_split_mul)."""
    act, w = g.act_width, g.weight_width
    if act > 18:
        return [(18, w, 18 + w), (act - 17, w, act - 17 + w - 1)]
    return [(act, w, act + w)]


def _column_product(g: EngineGeometry) -> tuple[int, int, int]:
    """The h lists' column of PE k's unit: local unit x NumPe (a shift when NumPe is a power of 2, the
    constant's trailing zeros shifted out otherwise), as Yosys' wreduce leaves it."""
    odd = g.num_pe >> ((g.num_pe & -g.num_pe).bit_length() - 1)
    unit_bits = int(g.shape()[1]).bit_length()
    return unit_bits, odd.bit_length(), unit_bits + odd.bit_length() if odd > 1 else 0


# ---- the RTL's own sizes ----------------------------------------------------------------------------

RTL_DIR = Path(__file__).resolve().parents[1] / "rtl"
# csc_pe's accumulator memory as declared (two banks, one per matrix phase in flight, each padded to a
# power of 2 rows so the bank is the top address bit). `acc_depth` restates it; `check_acc_declaration`
# reads csc_pe.sv and refuses to price an RTL whose declaration has changed shape.
ACC_DECLARATION = (
    r"RIDX_WIDTH\s*=\s*\(LocalRows > 1\) \? \$clog2\(LocalRows\) : 1",
    r"BANK_ROWS\s*=\s*1 << RIDX_WIDTH",
    r"\bacc_mem\s*\[2 \* BANK_ROWS\]",
)


@lru_cache(maxsize=1)
def check_acc_declaration(source: Path | None = None) -> None:
    text = Path(source or RTL_DIR / "csc_pe.sv").read_text()
    for pattern in ACC_DECLARATION:
        if re.search(pattern, text) is None:
            raise ValueError(
                f"csc_pe.sv: no match for {pattern!r}: acc_mem's declaration changed, so "
                "codesign.sweep.estimate.acc_depth must follow it (then re-fit: make fit-estimator)"
            )


def acc_depth(local_rows: int) -> int:
    """Words of a PE's acc_mem: 2 banks x 2^RIDX_WIDTH rows, RIDX_WIDTH = $clog2(LocalRows) (at least 1)."""
    check_acc_declaration()
    ridx = (local_rows - 1).bit_length() if local_rows > 1 else 1
    return 2 * (1 << ridx)


def local_units(g: EngineGeometry) -> int:
    """LU_MAX: hidden units per PE (unit u on PE u mod NumPe)."""
    return -(-g.shape()[1] // g.num_pe)


def local_rows(g: EngineGeometry) -> int:
    """csc_pe's LocalRows: the four gate rows of every local unit, or the head's rows per PE."""
    return max(4 * local_units(g), -(-g.shape()[2] // g.num_pe))


def list_banks(g: EngineGeometry) -> int:
    """LIST_BANKS: the h and state lists' banks (a power of two >= NumPe)."""
    return 1 << max(0, g.num_pe - 1).bit_length()


def list_entry_bits(g: EngineGeometry) -> int:
    """A list entry's width: {value, end and begin pointer-table addresses} (LIST_W in the RTL)."""
    paddr = max(1, (int(g.colptr_depth) - 1).bit_length())  # $clog2(COLPTR_DEPTH)
    return g.act_width + 2 * paddr


def engine_memories(g: EngineGeometry) -> dict[str, tuple[int, Xc7Memory]]:
    """(copies in the design, mapping) of every memory of rtl/sparse_lstm_engine.sv that Yosys maps to
    block or LUT RAM (h_q and c_q, written by every PE, become flip-flops: `features`)."""
    x, h, c = g.shape()
    p, layers = g.num_pe, max(1, len(g.layer_words_max))
    entry = list_entry_bits(g)
    banks = list_banks(g)
    return {
        "pe_weights": (p, xc7_memory(g.depth, g.weight_width + g.index_width)),
        # column pointers, read at a column's begin and end addresses and the column's flags at its begin:
        # the addresses are the PE's broadcast register, so Yosys makes the reads synchronous (a deep
        # table goes to block RAM, a copy per read); those address flops are the RTL's own (FF)
        "pe_colptr": (
            p,
            dataclasses.replace(xc7_memory(g.colptr_depth, g.ptr_width, read_ports=2), registers=0),
        ),
        "pe_colflags": (p, dataclasses.replace(xc7_memory(g.colptr_depth, 3), registers=0)),
        # column queue of {activation, begin pointer, end pointer, one-word flag, two-word flag}
        "pe_queue": (p, xc7_memory(FIFO_DEPTH, g.act_width + 2 * g.ptr_width + 2, sync_read=False)),
        # accumulators, read by A1 and by the element-wise read port (a copy per read). Yosys makes both
        # reads synchronous (A1's row flop, the read port's data flop), so a deep one goes to block RAM;
        # those flops are the RTL's own either way (FF pe_acc), not extra read registers.
        "pe_acc": (
            p,
            dataclasses.replace(xc7_memory(acc_depth(local_rows(g)), g.acc_width, read_ports=2), registers=0),
        ),
        # biases banked per PE: the PE's gate rows of every layer, then its head rows
        "pe_bias": (p, xc7_memory(4 * local_units(g) * layers + -(-c // p), g.bias_width)),
        # every PE's element-wise unit has its own sigmoid, tanh (g) and tanh (c_t) tables (ShareTables 0)
        "pe_tables": (3 * p, xc7_memory(g.table_depth, g.table_width)),
        "x_list": (1, xc7_memory(x, entry, sync_read=False)),
        # h and state lists: one memory of each kind per bank, every (layer, h bank) in it
        "h_lists": (2 * banks, xc7_memory(2 * layers * -(-h // banks), entry, sync_read=False)),
    }


def derived_terms(g: EngineGeometry) -> dict[str, dict[str, float]]:
    """BRAM (18 Kbit blocks) and DSP of each group, one copy each; the fit gives the copy counts."""
    mems = engine_memories(g)
    gate, cell = g.gate_width, g.cell_width
    return {
        "bram_18k": {f"bram_{k}": float(n * m.bram18) for k, (n, m) in mems.items()},
        "dsp": {
            "dsp_pe_multipliers": float(g.num_pe * sum(_dsp48(*m) for m in _pe_products(g))),
            # every PE's element-wise unit: f*c_prev, i*g, o*tanh(c_t)
            "dsp_elementwise": float(
                g.num_pe * (_dsp48(gate, cell, gate + cell) + 2 * _dsp48(gate, gate, 2 * gate))
            ),
            "dsp_list_column": float(_dsp48(*_column_product(g))),
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
    p, acc, act = g.num_pe, g.acc_width, g.act_width
    x, h, c = g.shape()
    layers = max(1, len(g.layer_words_max))
    lu, rows, banks = local_units(g), local_rows(g), list_banks(g)
    entry = list_entry_bits(g)
    split = g.act_width > 18  # csc_pe g_split_mul
    mems = engine_memories(g)
    lutram = sum(n * m.lutram_luts for n, m in mems.values())
    lutram_mux = sum(n * m.lutram_mux_bits for n, m in mems.values())
    lutram_regs = sum(n * m.registers for n, m in mems.values())
    # h_t (both banks of every layer) and q_state(c_t) of each PE's units: flip-flops (every PE writes)
    state_bits = p * layers * lu * (2 * act + g.cell_width)
    return {
        "lut": {
            "control": 1.0,
            "per_pe": float(p),  # queue and issue control, handshakes, busy counter, element-wise control
            # accumulate adder and forwarding, valid masks of both accumulator reads, z = acc + bias and its
            # cast to the table address, per PE
            "pe_acc": float(p * acc),
            "pe_act": float(p * act),  # queue bypass mux, activation path
            "pe_word": float(p * (g.weight_width + g.index_width)),  # index decode, weight path
            # the two partial products' sum (act + weight bits) in fabric when the multiply is split
            "pe_product_sum": float(p * (act + g.weight_width) * split),
            # products Yosys leaves in LUTs (under 9 result bits): operand bits a x b
            "soft_products": float(
                p * sum(a * b for a, b, y in _pe_products(g) if not _dsp48(a, b, y))
                + (lambda a, b, y: a * b * (b > 1 and not _dsp48(a, b, y)))(*_column_product(g))
            ),
            # element-wise unit: c_t = f*c + i*g and its casts
            "elementwise_cell": float(p * g.cell_width),
            # accumulator valid bits: set decoder and the two reads' masks
            "acc_valid": float(p * rows),
            # state writes: h_q / c_q are [NumPe][rows] arrays, PE k writing at k x rows + row. With rows a
            # power of 2 that address is {k, row} and each word has one writer; otherwise Yosys cannot tell
            # the PEs' ranges apart and every state bit gets a write-port mux
            "state_write": float(0 if lu & (lu - 1) == 0 else state_bits),
            # per h (2 banks) and c word: its write enable and its share of the read muxes (h_t out over
            # every PE's words, c_{t-1} in each PE)
            "state_words": float(p * layers * lu * 3),
            # list writes: each bank takes one of the PEs' {value, column} (h and state lists)
            "list_write": float(2 * banks * p * entry),
            # broadcast read: the list entry from one of the banks (h, state) or the x list
            "list_read": float(2 * entry * row_mux_luts(banks)),
            "lutram": float(lutram),  # LUT sites of the memories in LUT RAM (derived: xc7_memory)
            "lutram_mux": float(lutram_mux),  # output bits selecting among LUT RAM stacked in depth (derived)
        },
        "ff": {
            "control": 1.0,
            "pe_act": float(p * act),  # the activation at P, G, M1, M2, and the h_t / q_state(h_t) out
            "pe_index": float(p * g.index_width),
            "pe_acc": float(p * acc),  # old value, read register, R3 and z per PE
            "pe_address": float(p * g.ptr_width),  # pointer read, word address and end
            "acc_valid": float(p * rows),  # one valid bit per accumulator row
            "state": float(state_bits),  # h_t and c_t banks (derived bit count)
            "elementwise_cell": float(p * g.cell_width),  # c_prev and c_t through the pipeline
            "memory_read_registers": float(lutram_regs),  # synchronous LUT RAM reads (derived)
        },
        **derived_terms(g),
    }


# What each term counts (engine_cost.json and the report carry this beside the coefficients).
FORMS = {
    "lut": {
        "control": "1 (sequencer, stream interfaces, broadcaster, list counts)",
        "per_pe": "NumPe (queue and issue control, handshakes, busy counter, element-wise control)",
        "pe_acc": "NumPe x AccWidth (accumulate adder and forwarding, accumulator read masks, z = acc + bias "
        "and its cast to the table address)",
        "pe_act": "NumPe x ActWidth (queue bypass, activation path)",
        "pe_word": "NumPe x (WeightWidth + IndexWidth) (index decode, weight path)",
        "pe_product_sum": "NumPe x (ActWidth + WeightWidth) when ActWidth > 18 (sum of the two partial "
        "products)",
        "soft_products": "operand bits a x b of the products Yosys keeps in LUTs (a split multiply's top "
        "part under 9 result bits; the h lists' column when NumPe is not a power of 2)",
        "elementwise_cell": "NumPe x CellWidth (c_t = f*c + i*g, its casts)",
        "acc_valid": "NumPe x LocalRows (accumulator valid bits: set decoder, read masks)",
        "state_write": "state bits (NumPe x layers x local units x (2 ActWidth + CellWidth)) when local "
        "units is not a power of 2 (each state word then selects among the PEs' write ports), else 0",
        "state_words": "NumPe x layers x local units x 3 (h_t's two banks and c_t: write enables, read "
        "muxes)",
        "list_write": "2 x LIST_BANKS x NumPe x list entry bits (ActWidth + 2 pointer-table address bits; "
        "each list bank takes one PE's entry)",
        "list_read": "2 x list entry bits x LUT6s of a LIST_BANKS:1 mux (broadcast entry)",
        "lutram": "LUT sites of the memories mapped to LUT RAM (derived: xc7_memory)",
        "lutram_mux": "output bits selecting among LUT RAM units stacked in depth (derived)",
    },
    "ff": {
        "control": "1",
        "pe_act": "NumPe x ActWidth (activation through P, G, M1, M2; h_t and q_state(h_t) out)",
        "pe_index": "NumPe x IndexWidth (word index at M1)",
        "pe_acc": "NumPe x AccWidth (old value, read register, R3, z)",
        "pe_address": "NumPe x PtrWidth (pointer read, word address and end)",
        "acc_valid": "NumPe x LocalRows (accumulator row valid bits)",
        "state": "NumPe x layers x local units x (2 ActWidth + CellWidth) (h_t banks and c_t in flip-flops)",
        "elementwise_cell": "NumPe x CellWidth (c_{t-1}, c_t pipeline registers)",
        "memory_read_registers": "read-data registers of synchronous LUT RAM reads (derived)",
    },
    "bram_18k": {
        "bram_<memory>": "18 Kbit blocks of the memory as xc7_memory maps it; coefficient = copies kept"
    },
    "dsp": {
        "dsp_pe_multipliers": "NumPe x DSP48E1 of the ActWidth x WeightWidth product (above 18 act bits "
        "split in two; a part under 9 result bits stays in LUTs)",
        "dsp_elementwise": "NumPe x DSP48E1 of f*c, i*g, o*tanh(c); coefficient = copies kept",
        "dsp_list_column": "DSP48E1 of the h lists' column (local unit x NumPe) when Yosys maps it to one",
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


@lru_cache(maxsize=1)
def engine_model_fingerprint() -> str:
    """A hash of what an engine estimate follows besides the point: the fitted coefficients and the cycle
    model's parameters (a sweep's cache key: a re-fit or a new cycle model recomputes its cached rows)."""
    from codesign.engine.cycles import CycleParams

    text = json.dumps([default_cost_model().coefficients, dataclasses.asdict(CycleParams())], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
        fill = p.prefetch + p.fill_late + (1 if layer == 0 else 0)
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
        end = max(load + p.prefetch + p.fill_late, end) + per_column
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
    multipliers = g.num_pe * (len(_pe_products(g)) + 3)  # PE products; f*c, i*g, o*tanh(c) per PE
    return Resources(
        lut=int(round(counts["lut"])),
        ff=int(round(counts["ff"])),
        bram_18k=int(round(counts["bram_18k"])),
        dsp=int(round(counts["dsp"])),
        cycles_per_step=step,
        latency_cycles=latency,
        multipliers=multipliers,
    )
