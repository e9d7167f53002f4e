"""Block-sparse LSTM/GRU layers through hls4ml: store and multiply only the non-zero blocks.

hls4ml's compressed kernel is Dense-only and per weight (value + row + column per non-zero); its
recurrent layers store and multiply dense matrices. Here a block-pruned layer (`codesign compress
--method block`) keeps hls4ml's LSTM/GRU cell and swaps the two matrix products for the kernel of
`hls/include/codesign_block_sparse.h`:

- Layout: blocks tile the layer's gate matrix W (rows = gate units, the layer's outputs; columns =
  inputs), which is Keras' kernel transposed, the layout `codesign.compress.pruning` prunes in. W_x
  (x_t's columns) and W_h (h_{t-1}'s) are two matrices here, each packed on its own; a block never
  straddles them because the pruning's column blocks divide X (checked).
- Trigger: the hls4ml layer config key `BlockSparse: "RxC"` (set from the spec's `compression.block`
  by `codesign.hls.config`); the optimizer pass `codesign_block_sparse` packs the weights then.
- Storage: the weights variable becomes the kept blocks, one after the other, each row-major; the
  block coordinates are compile-time constants in the product's config struct (a ROM of n_blocks
  entries per matrix, folded into wiring when fully unrolled). A block that QKeras' quantizer rounded
  to all zeros is dropped too: the stored blocks are exactly the non-zero ones.
- Multipliers: ceil(n_weights / reuse_factor) for x W_x and ceil(n_weights / recurrent_reuse_factor)
  for h W_h, the recurrent reuse factor restored by the `codesign_recurrent` pass.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from codesign.errors import CodesignError
from codesign.resources import HLS_INCLUDE_DIR

HEADER = HLS_INCLUDE_DIR / "codesign_block_sparse.h"
CONFIG_KEY = "BlockSparse"  # hls4ml layer config key: "RxC", rows x columns of W per block
ATTRIBUTE = "codesign_block_sparse"  # node attribute: {weight name: BlockLayout} once packed
MATRICES = ("weight", "recurrent_weight")  # x W_x -> mult_config1, h W_h -> mult_config2

_registered = False


@dataclass(frozen=True)
class BlockLayout:
    """The non-zero blocks of one gate matrix W (outputs x inputs), as the HLS kernel stores them."""

    block: tuple[int, int]  # rows (outputs), columns (inputs) of W per block
    shape: tuple[int, int]  # W's shape: (outputs, inputs)
    block_rows: np.ndarray  # block-row of each kept block (block units), ascending (row-major order)
    block_cols: np.ndarray
    values: np.ndarray  # (n_blocks, rows, cols)

    @property
    def n_blocks(self) -> int:
        return len(self.block_rows)

    @property
    def total_blocks(self) -> int:
        return (self.shape[0] // self.block[0]) * (self.shape[1] // self.block[1])

    @property
    def n_weights(self) -> int:
        """Weights stored (and products computed): every entry of every kept block."""
        return self.values.size

    @property
    def density(self) -> float:
        return self.n_blocks / self.total_blocks

    def packed(self) -> np.ndarray:
        """The weights array the kernel reads: block after block, each row-major."""
        return self.values.reshape(-1)

    def index_bits(self) -> int:
        """Bits of the block coordinates (row and column of each kept block)."""
        rows, cols = self.shape[0] // self.block[0], self.shape[1] // self.block[1]
        return self.n_blocks * (_bits_for(rows) + _bits_for(cols))

    def gate_matrix(self) -> np.ndarray:
        """W rebuilt from the kept blocks (zeros elsewhere)."""
        r, c = self.block
        w = np.zeros(self.shape, dtype=self.values.dtype)
        for br, bc, v in zip(self.block_rows, self.block_cols, self.values, strict=True):
            w[br * r : (br + 1) * r, bc * c : (bc + 1) * c] = v
        return w


def _bits_for(count: int) -> int:
    """Bits of an unsigned index into `count` things."""
    return max(1, math.ceil(math.log2(count))) if count > 1 else 1


def parse_block(value, where: str = CONFIG_KEY) -> tuple[int, int]:
    """A block shape from "4x4", "4X4", (4, 4) or [4, 4]."""
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", value)
        parts = (int(match[1]), int(match[2])) if match else None
    elif isinstance(value, (tuple, list)) and len(value) == 2:
        parts = tuple(value)
    else:
        parts = None
    if parts is None or any(
        isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1 for p in parts
    ):
        raise CodesignError(f"{where}: expected a block shape RxC of positive integers, got {value!r}")
    return int(parts[0]), int(parts[1])


def encode_blocks(kernel: np.ndarray, block) -> BlockLayout:
    """A Keras-layout kernel (inputs, outputs) -> the non-zero blocks of its gate matrix W = kernel.T.

    A block is kept when any of its entries is non-zero; at least one block is always kept (a matrix
    pruned to nothing still has an array in C++), so n_weights >= rows * cols.
    """
    w = np.asarray(kernel).T
    r, c = parse_block(block)
    if w.ndim != 2 or w.shape[0] % r or w.shape[1] % c:
        raise CodesignError(
            f"{CONFIG_KEY}: block {r}x{c} does not tile the {w.shape[0]}x{w.shape[1]} gate matrix W "
            "(rows = gate units, columns = inputs) into whole blocks"
        )
    tiles = w.reshape(w.shape[0] // r, r, w.shape[1] // c, c).transpose(0, 2, 1, 3)
    kept = np.any(tiles != 0, axis=(2, 3))
    if not kept.any():
        kept[0, 0] = True
    block_rows, block_cols = np.nonzero(kept)  # row-major order
    return BlockLayout((r, c), (int(w.shape[0]), int(w.shape[1])), block_rows, block_cols, tiles[kept])


def block_of(spec) -> tuple[int, int] | None:
    """The block shape the spec's model was pruned with (None unless `compression.method: block`)."""
    compression = getattr(spec, "compression", None)
    if compression is None or compression.method != "block" or compression.block is None:
        return None
    return parse_block(compression.block, f"{spec.path}: compression.block")


def layer_layouts(kernel: np.ndarray, recurrent_kernel: np.ndarray, block) -> tuple[BlockLayout, BlockLayout]:
    """Both matrices of one recurrent layer (Keras layout) packed as the HLS project stores them."""
    return encode_blocks(kernel, block), encode_blocks(recurrent_kernel, block)


# --- hls4ml extension: optimizer pass, config and function templates -------------------------------

_MULT_CONFIG = """struct {name} : nnet::dense_config {{
    static const unsigned n_in = {n_in};
    static const unsigned n_out = {n_out};
    static const unsigned reuse_factor = {reuse};
    static const unsigned block_rows = {block_rows};
    static const unsigned block_cols = {block_cols};
    static const unsigned n_blocks = {n_blocks};  // of {total_blocks}
    static const unsigned n_weights = {n_weights};
    static const unsigned multiplier_limit = DIV_ROUNDUP(n_weights, reuse_factor);
    static const bool store_weights_in_bram = false;
    typedef {accum_t} accum_t;
    typedef {bias_t} bias_t;
    typedef {weight_t} weight_t;
    static unsigned block_row(unsigned b) {{
        static const unsigned short rows[{n_blocks}] = {{{rows}}};
        return rows[b];
    }}
    static unsigned block_col(unsigned b) {{
        static const unsigned short cols[{n_blocks}] = {{{cols}}};
        return cols[b];
    }}
    template<class data_T, class res_T, class CONFIG_T>
    using kernel = nnet::BlockSparseDense<data_T, res_T, CONFIG_T>;
    template<class x_T, class y_T>
    using product = nnet::product::{product_type}<x_T, y_T>;
}};\n"""


def _block_option(node) -> tuple[int, int] | None:
    value = node.model.config.get_layer_config(node).get(CONFIG_KEY)
    return None if value in (None, False, "", "off") else parse_block(value, f"{node.name}: {CONFIG_KEY}")


def _set_data(var, data: np.ndarray) -> None:
    """Replace a hls4ml WeightVariable's array (and the statistics its writer prints)."""
    var.data = data
    var.shape = list(data.shape)
    var.data_length = int(data.size)
    var.nonzeros = int(np.count_nonzero(data))
    var.nzeros = var.data_length - var.nonzeros
    var.min, var.max = np.min(data), np.max(data)


def _optimizer_pass():
    from hls4ml.model.optimizer import OptimizerPass

    class CodesignBlockSparse(OptimizerPass):
        """Pack a BlockSparse LSTM/GRU node's W_x and W_h into their non-zero blocks."""

        def match(self, node):
            return (
                node.class_name in ("LSTM", "GRU")
                and node.get_attr(ATTRIBUTE) is None
                and _block_option(node) is not None
            )

        def transform(self, model, node):
            block = _block_option(node)
            layouts = {}
            for name in MATRICES:
                var = node.weights[name]
                try:
                    layout = encode_blocks(var.data, block)
                except CodesignError as error:
                    raise CodesignError(f"{node.name}.{name}: {error}") from None
                _set_data(var, layout.packed())
                layouts[name] = layout
            node.set_attr(ATTRIBUTE, layouts)
            return False

    return CodesignBlockSparse


def mult_config_cpp(
    name: str,
    layout: BlockLayout,
    reuse_factor: int,
    accum_t: str,
    bias_t: str,
    weight_t: str,
    product: str = "mult",
) -> str:
    """The C++ config struct `name` of one block-sparse product (what codesign_block_sparse.h reads)."""
    return _MULT_CONFIG.format(
        name=name,
        n_in=layout.shape[1],
        n_out=layout.shape[0],
        reuse=reuse_factor,
        block_rows=layout.block[0],
        block_cols=layout.block[1],
        n_blocks=layout.n_blocks,
        total_blocks=layout.total_blocks,
        n_weights=layout.n_weights,
        accum_t=accum_t,
        bias_t=bias_t,
        weight_t=weight_t,
        rows=", ".join(map(str, layout.block_rows)),
        cols=", ".join(map(str, layout.block_cols)),
        product_type=product,
    )


def _mult_config(node, name: str, suffix: str) -> str:
    from hls4ml.backends import get_backend

    weights = node.get_weights(name)
    bias = node.get_weights("bias" if name == "weight" else "recurrent_bias")
    return mult_config_cpp(
        f"config{node.index}_{suffix}",
        node.get_attr(ATTRIBUTE)[name],
        node.get_attr("reuse_factor" if name == "weight" else "recurrent_reuse_factor"),
        node.get_attr("accum_t").name,
        bias.type.name,
        weights.type.name,
        get_backend("vivado").product_type(node.get_input_variable().type.precision, weights.type.precision),
    )


def _templates():
    from codesign.hls import extensions

    recurrent_config, recurrent_function = extensions.recurrent_templates()

    class BlockSparseConfig(recurrent_config):
        """The project's LSTM/GRU config with both mult configs replaced by block-sparse ones."""

        def __init__(self):
            super().__init__()
            self.name = "codesign_block_sparse_config_template"

        def match(self, node):
            return super().match(node) and node.get_attr(ATTRIBUTE) is not None

        def format(self, node):
            text = super().format(node)
            for name, suffix in zip(MATRICES, ("1", "2"), strict=True):
                pattern = re.compile(
                    rf"struct config{node.index}_{suffix} : nnet::dense_config \{{\n.*?\n\}};\n", re.DOTALL
                )
                replacement = _mult_config(node, name, suffix)
                text, count = pattern.subn(lambda _, r=replacement: r, text, count=1)
                if count != 1:
                    raise RuntimeError(f"{node.name}: config{node.index}_{suffix} not in hls4ml's template")
            return text

    class BlockSparseFunction(recurrent_function):
        """The project's LSTM/GRU call (the block kernel sits behind nnet::dense), plus the header."""

        def __init__(self):
            super().__init__()
            self.name = "codesign_block_sparse_function_template"
            self.include_header = [*self.include_header, f"nnet_utils/{HEADER.name}"]

        def match(self, node):
            return super().match(node) and node.get_attr(ATTRIBUTE) is not None

    return BlockSparseConfig, BlockSparseFunction


def register() -> None:
    """Install the pass, templates and header into hls4ml (idempotent).

    Called from `codesign.hls.registry.register()` after the project's recurrent templates, so these
    (which match block-sparse nodes only) format last; the pass joins `vivado:optimize`, which runs
    before `vivado:apply_resource_strategy` (whose transpose leaves a 1-D packed array as it is).
    """
    global _registered
    if _registered:
        return
    from hls4ml.backends import get_backend

    vivado = get_backend("Vivado")
    vivado.register_pass("codesign_block_sparse", _optimizer_pass(), flow="vivado:optimize")
    for template in _templates():
        vivado.register_template(template)
    for backend in ("Vivado", "Vitis"):
        get_backend(backend).register_source(HEADER)
    _registered = True
