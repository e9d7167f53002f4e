"""Block-circulant algebra, numpy only: the layout, projection and expansion that models/ (the QKeras
layer), compress/ (the projection of a trained model), sweep/ and hls/ (the exact kernel's types) share.

W_x (4H x X) and W_h (4H x H), in the gate-major orientation the hardware uses (row = gate output), are
tiled into b x b blocks; block (i, j) is the circulant matrix of one defining vector v_ij:

    W[i b + r, j b + c] = v_ij[(r - c) mod b]

The defining vectors of a matrix are (4H/b, ceil(cols/b), b): the input is zero-padded to whole blocks,
as C-LSTM does.

The projection is the least-squares one: a b x b circulant block has b free values, each repeated along
one wrapped diagonal (r - c) mod b, so the nearest block in Frobenius norm takes the mean of the dense
entries on each diagonal. Padding is not part of the model, so the mean runs over the real entries only:
the projection of the cropped matrix, not of a zero-padded one.
"""

from __future__ import annotations

import math

import numpy as np

from codesign.errors import CodesignError

BLOCK_SIZES = (4, 8, 16)
GATES = 4


def circulant_index(b: int) -> np.ndarray:
    """(b, b) index of the defining-vector entry at row r, column c of a circulant block: (r - c) mod b."""
    return (np.arange(b)[:, None] - np.arange(b)[None, :]) % b


def expand_vectors(vectors: np.ndarray, cols: int) -> np.ndarray:
    """Defining vectors (R, C, b) -> the (R b, cols) block-circulant matrix W, cropped to `cols` columns."""
    vectors = np.asarray(vectors)
    rb, cb, b = vectors.shape
    blocks = vectors[..., circulant_index(b)]  # (R, C, b, b) as [i, j, r, c]
    return blocks.transpose(0, 2, 1, 3).reshape(rb * b, cb * b)[:, :cols]


def keras_kernel(vectors: np.ndarray, inputs: int) -> np.ndarray:
    """Defining vectors -> the Keras kernel (inputs, 4H) = W^T."""
    return expand_vectors(vectors, inputs).T


def check_block(b: int, units: int, where: str = "compression.block") -> int:
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or int(b) not in BLOCK_SIZES:
        raise CodesignError(
            f"{where}: {b!r} is not a circulant block size ({', '.join(map(str, BLOCK_SIZES))})"
        )
    if units % int(b):
        raise CodesignError(
            f"{where}: block {b} does not divide the {units} units (each b x b block must lie in one gate)"
        )
    return int(b)


def vector_shapes(inputs: int, units: int, b: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Shapes of (kernel_vectors, recurrent_vectors) for a layer of `units` on `inputs` features."""
    rows = GATES * units // b
    return (rows, math.ceil(inputs / b), b), (rows, units // b, b)


def circulant_vectors(w: np.ndarray, b: int) -> np.ndarray:
    """Defining vectors (ceil(rows/b), ceil(cols/b), b) of the block-circulant matrix nearest to w (rows x
    cols, gate-major: row = output) in the least-squares sense over w's own entries."""
    w = np.asarray(w, np.float64)
    rows, cols = w.shape
    pr, pc = -(-rows // b) * b, -(-cols // b) * b
    padded = np.zeros((pr, pc))
    real = np.zeros((pr, pc))
    padded[:rows, :cols] = w
    real[:rows, :cols] = 1.0
    index = circulant_index(b)
    tiles = padded.reshape(pr // b, b, pc // b, b).transpose(0, 2, 1, 3)  # (R, C, b, b) as [i, j, r, c]
    counts = real.reshape(pr // b, b, pc // b, b).transpose(0, 2, 1, 3)
    sums = np.stack([tiles[..., index == k].sum(-1) for k in range(b)], axis=-1)
    n = np.stack([counts[..., index == k].sum(-1) for k in range(b)], axis=-1)
    return np.where(n > 0, sums / np.maximum(n, 1), 0.0)


def circulant_projection(w: np.ndarray, b: int) -> np.ndarray:
    """The nearest block-circulant matrix to w, same shape (the projection itself, for tests and sweeps)."""
    return expand_vectors(circulant_vectors(w, b), w.shape[1]).astype(np.asarray(w).dtype)


def circulant_weights(
    kernel: np.ndarray, recurrent_kernel: np.ndarray, b: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keras (X, 4H) / (H, 4H) kernels -> (kernel_vectors, recurrent_vectors) of QCirculantLSTM."""
    return circulant_vectors(np.asarray(kernel).T, b), circulant_vectors(np.asarray(recurrent_kernel).T, b)
