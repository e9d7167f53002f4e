"""One block-circulant LSTM layer as `hls/include/codesign_circulant.h` computes it: exact transform-domain
types, the emitted C++ FAST config, and the operation counts the estimate uses.

Per step the kernel takes every input block and every defining vector into the transform domain
(`fastconv.FastCirculant.forward`, additions only), multiplies R pairs per block, accumulates x W_x and
h W_h together per row block, and applies the inverse program once per row block. Weights of at most
LUT_MULT_BITS bits multiply directly instead, b^2 per block (`use_fast_product`).

The types are sized from ranges, so nothing wraps or rounds: inputs may take any value of their type;
defining vectors are this model's (their transforms are known exactly); the accumulator holds the worst
case of the sum and every intermediate value of the inverse program. The forward program's ranges are
exact (linear forms of independent inputs), so its types are the narrowest that hold the worst case; the
accumulator's come from interval arithmetic over the products, an upper bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codesign.circulant import circulant_vectors, expand_vectors
from codesign.errors import CodesignError
from codesign.hls.fastconv import FastCirculant, fast_circulant
from codesign.hls.types import Fixed

# A product with an operand of at most this many bits is a small LUT multiplier, not a DSP (as Vivado maps
# it); the analytic estimate (codesign.hls.estimate) counts multipliers the same way.
LUT_MULT_BITS = 4

_fast_template = """struct {name} {{
    typedef {in_x_t} in_x_t;  // A x: an input block in the transform domain
    typedef {in_v_t} in_v_t;  // B v: a defining vector of W_x in the transform domain
    typedef {rec_x_t} rec_x_t;  // A h
    typedef {rec_v_t} rec_v_t;  // B v of W_h
    typedef {acc_t} acc_t;  // x W_x + h W_h per row block in the transform domain, and the inverse's values
    static const unsigned block = {block};
    static const unsigned rank = {rank};  // multiplies per block
    static const unsigned log2_block = {log2_block};
    template <class T> static void forward(const T in[{block}], T out[{rank}]) {{
        #pragma HLS INLINE
{forward}
    }}
    static void inverse(const acc_t in[{rank}], acc_t out[{block}]) {{  // out = {block} x the block product
        #pragma HLS INLINE
{inverse}
    }}
}};\n"""


def signed_integer_bits(lo: float, hi: float, frac: int) -> int:
    """The fewest integer bits (sign included) of a signed type with `frac` fraction bits holding [lo, hi]."""
    integer = 1
    while lo < -(2.0 ** (integer - 1)) or hi > 2.0 ** (integer - 1) - 2.0**-frac:
        integer += 1
    return integer


def _range(forms: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """[min, max] of linear forms (values, n) over independent inputs in [lo, hi] (..., n)."""
    pos, neg = np.maximum(forms, 0).T, np.minimum(forms, 0).T
    return lo @ pos + hi @ neg, hi @ pos + lo @ neg


@dataclass(frozen=True)
class CirculantProduct:
    """One block-circulant matrix (rows = gate outputs) times an input of `x_type` (`n_cols` real columns,
    zero-padded to whole blocks), fast (`fastconv`) or direct (b^2 per block: `use_fast_product`)."""

    row_blocks: int
    col_blocks: int
    fast: bool
    x_type: Fixed
    weight_type: Fixed
    x: Fixed  # A x
    v: Fixed  # B v
    acc_lo: np.ndarray  # (row blocks, R): range of the sum over column blocks of (A x) (B v)
    acc_hi: np.ndarray
    acc_frac: int
    # multiplies per step, zero weights dropped as synthesis drops them with constant weights (and as the
    # dense estimate counts): non-zero B v values (fast), or non-zero entries of the expanded matrix (direct)
    products: int

    @property
    def blocks(self) -> int:
        return self.row_blocks * self.col_blocks

    @property
    def widths(self) -> tuple[int, int]:
        """Operand widths of a multiplier."""
        if self.fast:
            return self.x.width, self.v.width
        return self.x_type.width, self.weight_type.width

    def multipliers(self, reuse: int) -> int:
        return math.ceil(self.products / reuse)


PRODUCTS = ("auto", "fast", "direct")  # auto: use_fast_product decides per matrix


def circulant_product(
    fast: FastCirculant,
    vectors: np.ndarray,
    n_cols: int,
    x_type: Fixed,
    weight_type: Fixed,
    product: str = "auto",
) -> CirculantProduct:
    """`vectors` (row blocks, column blocks, b): the quantized defining vectors; inputs may take any value
    of `x_type`. Every value of the forward program gets a type that holds it."""
    vectors = np.asarray(vectors, np.float64)
    forms = np.array(fast.forward.forms, np.float64)  # (values, b)
    top = 2.0 ** (x_type.integer - 1)
    x_lo, x_hi = _range(forms, np.full(fast.block, -top), np.full(fast.block, top - 2.0**-x_type.frac))
    v_values = vectors @ forms.T  # (row blocks, column blocks, values): known exactly
    out = fast.forward.outputs
    products = np.stack([x_lo[out] * v_values[..., out], x_hi[out] * v_values[..., out]])
    use_fast = use_fast_product(weight_type) if product == "auto" else product == "fast"
    if use_fast:
        n_products = np.count_nonzero(v_values[..., out])
    else:
        n_products = np.count_nonzero(expand_vectors(vectors, n_cols))
    return CirculantProduct(
        row_blocks=vectors.shape[0],
        col_blocks=vectors.shape[1],
        fast=use_fast,
        x_type=x_type,
        weight_type=weight_type,
        x=_fixed_for(float(x_lo.min()), float(x_hi.max()), x_type.frac),
        v=_fixed_for(float(v_values.min()), float(v_values.max()), weight_type.frac),
        acc_lo=products.min(axis=0).sum(axis=1),
        acc_hi=products.max(axis=0).sum(axis=1),
        acc_frac=x_type.frac + weight_type.frac,
        products=int(n_products),
    )


def _fixed_for(lo: float, hi: float, frac: int) -> Fixed:
    integer = signed_integer_bits(lo, hi, frac)
    return Fixed(integer + frac, integer)


def use_fast_product(weight_type: Fixed) -> bool:
    """Fast unless the weights are so narrow that a direct product is a small LUT multiplier: b^2 of those
    cost less than R multipliers on the transform domain's wider operands (which take DSPs)."""
    return weight_type.width > LUT_MULT_BITS


@dataclass(frozen=True)
class CirculantLayer:
    fast: FastCirculant
    input: CirculantProduct  # x W_x
    recurrent: CirculantProduct  # h W_h
    acc: Fixed  # the fast products' shared transform-domain accumulator

    def fast_struct(self, name: str) -> str:
        """The C++ FAST config of `codesign_circulant_lstm_static`."""
        f = self.fast
        indent = " " * 8
        return _fast_template.format(
            name=name,
            in_x_t=self.input.x.cpp(),
            in_v_t=self.input.v.cpp(),
            rec_x_t=self.recurrent.x.cpp(),
            rec_v_t=self.recurrent.v.cpp(),
            acc_t=self.acc.cpp(),
            block=f.block,
            rank=f.rank,
            log2_block=f.log2_block,
            forward="\n".join(indent + s for s in f.forward.cpp("in", "out", "T").splitlines()),
            inverse="\n".join(indent + s for s in f.inverse.cpp("in", "out", "acc_t").splitlines()),
        )

    def adder_bits(self, weights_in_memory: bool) -> int:
        """Adder bits of the transforms per step: forward programs of the inputs, the inverse per row block
        and, when the weights come from memory (Resource strategy), the forward programs of the vectors
        (constant weights fold them away in synthesis)."""
        f = self.fast
        fast = [p for p in (self.input, self.recurrent) if p.fast]
        if not fast:
            return 0
        bits = self.input.row_blocks * f.inverse.additions * self.acc.width
        for p in fast:
            bits += p.col_blocks * f.forward.additions * p.x.width
            if weights_in_memory:
                bits += p.blocks * f.forward.additions * p.v.width
        return bits


def circulant_layer(
    b: int,
    kernel_vectors: np.ndarray,
    recurrent_vectors: np.ndarray,
    n_in: int,
    x_type: Fixed,
    h_type: Fixed,
    weight_type: Fixed,
    recurrent_weight_type: Fixed,
    product: str = "auto",
) -> CirculantLayer:
    """`kernel_vectors` / `recurrent_vectors`: (4H/b, ceil(n_in/b), b) and (4H/b, H/b, b); `product` one of
    PRODUCTS, for both matrices."""
    if product not in PRODUCTS:
        raise CodesignError(f"--circulant-product: {product!r} is not one of {', '.join(PRODUCTS)}")
    fast = fast_circulant(b)
    pi = circulant_product(fast, kernel_vectors, n_in, x_type, weight_type, product)
    n_state = np.shape(recurrent_vectors)[1] * b
    pr = circulant_product(fast, recurrent_vectors, n_state, h_type, recurrent_weight_type, product)
    # the fast products accumulate together; the type also holds every value of the inverse program
    acc_lo = pi.acc_lo * pi.fast + pr.acc_lo * pr.fast
    acc_hi = pi.acc_hi * pi.fast + pr.acc_hi * pr.fast
    lo, hi = _range(np.array(fast.inverse.forms, np.float64), acc_lo, acc_hi)
    acc = _fixed_for(float(lo.min()), float(hi.max()), max(pi.acc_frac, pr.acc_frac))
    return CirculantLayer(fast, pi, pr, acc)


def layer_from_matrices(
    kernel: np.ndarray, recurrent: np.ndarray, b: int, x_type: Fixed, types, product: str = "auto"
) -> CirculantLayer:
    """From Keras-layout (inputs, 4H) / (H, 4H) kernels that are block-circulant (e.g. a quantized
    QCirculantLSTM's expanded ones): the defining vectors are read back exactly (constant diagonals).
    `types`: the layer's `codesign.hls.config.LayerTypes`."""
    return circulant_layer(
        b,
        circulant_vectors(np.asarray(kernel).T, b),
        circulant_vectors(np.asarray(recurrent).T, b),
        np.shape(kernel)[0],
        x_type,
        types.state,
        types.weight,
        types.recurrent_weight,
        product,
    )
