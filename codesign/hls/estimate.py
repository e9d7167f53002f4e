"""Analytic resource and latency estimate of the hls4ml project (no vendor tool needed).

Counts follow the kernels the project generates (hls4ml's lstm_static/gru_static with the activations
of `hls/include/codesign_activations.h`), per recurrent layer of H units, G gates (LSTM 4, GRU 3),
X inputs, T steps:

- multipliers: ceil(X G H / RF) + ceil(H G H / RRF) for the two matrix products (zero weights are
  dropped, as hls4ml's dense does) + 3 H element-wise products (LSTM: f c, i g, o tanh(c); GRU: r (U h),
  z h, (1 - z) hh); the head adds ceil(H C / RF).
- DSPs: each multiplier of an a x b bit product takes ceil(a / A) ceil(b / B) DSP slices, (A, B) the part's
  DSP multiplier (27 x 18 for DSP48E2 / DSP58 parts, 25 x 18 for 7-series DSP48E1); products with an
  operand of at most `LUT_MULT_BITS` bits are left to LUTs, as Vivado does.
- LUTs: the activation level boundaries (2^bits - 1 words of the input width per activation instance,
  64 bits per LUT6 as distributed ROM) and a bits-deep comparator chain per instance; hard activations a
  clamp; one adder bit per accumulated product bit; LUT multipliers at a x b / 2.
- FF: one accumulator register per multiplier plus the h and c state registers.
- BRAM: under the Resource strategy hls4ml stores each weight matrix as RF words of
  (entries / RF) x bits: ceil(word bits / 36) BRAM18 per 512 words. The Latency strategy keeps weights in
  fabric (0 BRAM); both figures are reported.
- Block-circulant layers (`circulant=b`, codesign.hls.circulant_kernel): weights are the defining
  vectors; products those of the exact fast product (R per block on the transform-domain widths, plus one
  LUT per adder bit of its transforms and FAST_TRANSFORM_LATENCY cycles per step) or, for weights of at
  most LUT_MULT_BITS, the direct ones; zero products dropped as for dense layers.
- Cycles: a step needs max(RF, RRF) cycles of the matrix products, the activation (bits comparisons,
  pipelined in ACT_LATENCY cycles) and ELEMENTWISE_LATENCY cycles; steps are sequential (recurrence);
  latency = sum over layers of T x step + head; the initiation interval is the busiest layer's T x step.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from codesign.hls.circulant_kernel import LUT_MULT_BITS, layer_from_matrices
from codesign.hls.types import ModelTypes
from codesign.spec import Spec

GATES = {"lstm": 4, "gru": 3}
ACT_LATENCY = 2
ELEMENTWISE_LATENCY = 2
FAST_TRANSFORM_LATENCY = 2  # circulant: the fast product's input and output transforms (adder trees)
BRAM18_WIDTH, BRAM18_DEPTH = 36, 512


@dataclass(frozen=True)
class DspShape:
    a: int
    b: int


def dsp_shape(part: str) -> DspShape:
    """The DSP multiplier of a part: 7-series DSP48E1 is 25 x 18, UltraScale(+) DSP48E2 and Versal 27 x 18."""
    return DspShape(25, 18) if part.lower().startswith("xc7") else DspShape(27, 18)


def dsp_per_multiplier(a_bits: int, b_bits: int, dsp: DspShape) -> int:
    if min(a_bits, b_bits) <= LUT_MULT_BITS:
        return 0
    a, b = max(a_bits, b_bits), min(a_bits, b_bits)
    return math.ceil(a / dsp.a) * math.ceil(b / dsp.b)


def bram18_for(entries: int, bits: int, reuse: int) -> int:
    """BRAM18 blocks for a weight matrix stored the Resource way: `reuse` words of entries/reuse weights."""
    if entries == 0:
        return 0
    word_bits = math.ceil(entries / reuse) * bits
    return math.ceil(word_bits / BRAM18_WIDTH) * math.ceil(reuse / BRAM18_DEPTH)


@dataclass
class Estimate:
    dsp: int
    lut: int
    ff: int
    bram_18k: int
    latency_cycles: int
    ii_cycles: int
    multipliers: int
    weight_bits: int
    bram_18k_resource: int  # the same weights under the Resource strategy
    part: str
    estimate: bool = True
    # block-sparse layers (codesign.hls.block_sparse): block coordinates stored beside the packed weights
    index_bits: int = 0
    layers: list[dict] = field(default_factory=list)  # per recurrent layer: its two matrix products

    def as_dict(self) -> dict:
        return asdict(self)


def _activation_luts(bits: int | None, function: str, in_width: int) -> int:
    if function.startswith("hard"):
        return in_width + (bits or in_width)  # compare-and-clamp, then the rounding adder
    bits = bits or 10  # hls4ml's own 1024-entry table for an unquantized tanh/sigmoid
    rom = math.ceil((2**bits - 1) * in_width / 64)
    return rom + bits * math.ceil(in_width / 2)


def estimate(
    spec: Spec,
    types: ModelTypes,
    weights: list[tuple[np.ndarray, np.ndarray]],
    head: np.ndarray,
    steps: int,
    *,
    reuse_factor: int = 1,
    recurrent_reuse_factor: int | None = None,
    strategy: str = "Latency",
    part: str = "xcvu13p-flga2577-2-e",
    block: tuple[int, int] | None = None,
    circulant: int | None = None,
    circulant_product: str = "auto",
) -> Estimate:
    """`weights` are the quantized (kernel, recurrent kernel) per layer; `head` the dense kernel.

    `block`: the recurrent layers use the block-sparse kernel, which stores and multiplies every entry of
    every non-zero block (zeros inside a kept block included) plus each block's coordinates.
    `circulant`: the recurrent kernels are block-circulant with this block size b (codesign.hls.circulant):
    stored as defining vectors, multiplied as codesign_circulant.h does (fast or direct, see above;
    `circulant_product` "auto", "fast" or "direct").
    """
    rf, rrf = reuse_factor, recurrent_reuse_factor or reuse_factor
    dsp_of = dsp_shape(part)
    m = spec.model
    gates = GATES[m.cell]
    mults = dsp = lut = ff = weight_bits = bram_resource = index_bits = 0
    layers = []
    latency = ii = 0
    in_type = types.input
    for (kernel, recurrent), t in zip(weights, types.layers, strict=True):
        units = recurrent.shape[0]
        nz_k, nz_r = int(np.count_nonzero(kernel)), int(np.count_nonzero(recurrent))
        layer_index_bits = transform_bits = 0
        widths = ((in_type.width, t.weight.width), (t.state.width, t.recurrent_weight.width))
        kind = "dense"
        if block is not None:
            from codesign.hls.block_sparse import layer_layouts

            packed = layer_layouts(kernel, recurrent, block)
            nz_k, nz_r = (p.n_weights for p in packed)
            layer_index_bits = sum(p.index_bits() for p in packed)
            kind = "block_sparse {}x{}".format(*block)
        products_k, products_r = nz_k, nz_r
        m_k, m_r = math.ceil(nz_k / rf), math.ceil(nz_r / rrf)
        if circulant is not None:
            cl = layer_from_matrices(kernel, recurrent, circulant, in_type, t, circulant_product)
            nz_k, nz_r = cl.input.blocks * circulant, cl.recurrent.blocks * circulant
            products_k, products_r = cl.input.products, cl.recurrent.products
            m_k, m_r = cl.input.multipliers(rf), cl.recurrent.multipliers(rrf)
            widths = (cl.input.widths, cl.recurrent.widths)
            transform_bits = cl.adder_bits(strategy.lower() == "resource")
            how = ("fast" if p.fast else "direct" for p in (cl.input, cl.recurrent))
            kind = "circulant b={} (x W_x {}, h W_h {}; fast: {} multiplies per block)".format(
                circulant, *how, cl.fast.rank
            )
        m_e = 3 * units
        mults += m_k + m_r + m_e
        dsp += m_k * dsp_per_multiplier(*widths[0], dsp_of)
        dsp += m_r * dsp_per_multiplier(*widths[1], dsp_of)
        gate_bits = m.recurrent_activation.bits or 18
        dsp += m_e * dsp_per_multiplier(t.state.width + 2, gate_bits, dsp_of)
        for n_mult, (a, b) in zip((m_k, m_r), widths, strict=True):
            if dsp_per_multiplier(a, b, dsp_of) == 0:
                lut += n_mult * math.ceil(a * b / 2)
        lut += (m_k + m_r) * t.accum.width  # one adder per accumulated product
        lut += transform_bits  # circulant: the fast product's additions, one LUT per adder bit
        n_gate_act = (gates - 1) * units
        n_state_act = units * (2 if m.cell == "lstm" else 1)  # LSTM: candidate and tanh(c)
        lut += n_gate_act * _activation_luts(
            m.recurrent_activation.bits, m.recurrent_activation.function, t.accum.width
        )
        lut += n_state_act * _activation_luts(m.activation.bits, m.activation.function, t.accum.width)
        ff += (m_k + m_r + m_e) * t.accum.width + units * t.state.width * (2 if m.cell == "lstm" else 1)
        weight_bits += nz_k * t.weight.width + nz_r * t.recurrent_weight.width
        index_bits += layer_index_bits
        lut += math.ceil(layer_index_bits / 64)  # coordinate ROM in LUT6s (wiring when fully unrolled)
        layers.append(
            {
                "name": t.name,
                "kernel": kind,
                "weights": nz_k + nz_r,
                "weight_bits": nz_k * t.weight.width + nz_r * t.recurrent_weight.width,
                "index_bits": layer_index_bits,
                "multipliers": m_k + m_r,
                # x W_x at reuse_factor, h W_h at recurrent_reuse_factor; products per step before reuse
                "input_product": {"weights": nz_k, "products": products_k, "multipliers": m_k},
                "recurrent_product": {"weights": nz_r, "products": products_r, "multipliers": m_r},
            }
        )
        bram_resource += bram18_for(nz_k, t.weight.width, rf) + bram18_for(
            nz_r, t.recurrent_weight.width, rrf
        )
        act_latency = ACT_LATENCY + (m.recurrent_activation.bits or 1)
        step = max(rf, rrf) + act_latency + ELEMENTWISE_LATENCY
        if circulant is not None and (cl.input.fast or cl.recurrent.fast):
            step += FAST_TRANSFORM_LATENCY
        latency += steps * step
        ii = max(ii, steps * step)
        in_type = t.result
    nz_h = int(np.count_nonzero(head))
    m_h = math.ceil(nz_h / rf)
    h = types.head
    mults += m_h
    dsp += m_h * dsp_per_multiplier(in_type.width, h.weight.width, dsp_of)
    lut += m_h * h.accum.width
    ff += m_h * h.accum.width
    weight_bits += nz_h * h.weight.width
    bram_resource += bram18_for(nz_h, h.weight.width, rf)
    latency += rf + ELEMENTWISE_LATENCY
    ii = max(ii, rf)
    return Estimate(
        dsp=dsp,
        lut=lut,
        ff=ff,
        bram_18k=bram_resource if strategy.lower() == "resource" else 0,
        latency_cycles=latency,
        ii_cycles=ii,
        multipliers=mults,
        weight_bits=weight_bits,
        index_bits=index_bits,
        layers=layers,
        bram_18k_resource=bram_resource,
        part=part,
    )
