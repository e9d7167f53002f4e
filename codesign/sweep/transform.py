"""One design point's weights, without retraining: prune (or project) the recurrent layers' latent
weights in the structure asked for, as the matrix W = [W_x W_h] the hardware stores.

Pruning masks are `codesign.compress`'s (magnitude, ESE's balanced, Narang's block). Circulant
projection is local until `codesign.compress` has one (replace `circulant_projection` with it then).
Quantization happens afterwards, in the reference model, so a weight that rounds to 0 is a zero too.
"""

from __future__ import annotations

import numpy as np

from codesign.compress.pruning import gate_matrix, layer_masks, split_gate_mask

STRUCTURE_METHOD = {"unstructured": "magnitude", "balanced": "balanced", "block": "block"}


def circulant_projection(w: np.ndarray, b: int) -> np.ndarray:
    """The nearest (Frobenius) block-circulant matrix with b x b blocks: each block's wrapped diagonals
    averaged, C[i, j] = c[(i - j) mod b] (C-LSTM / E-RNN's projection of a trained dense model). The
    matrix is zero-padded to whole blocks for the projection and cropped back."""
    rows, cols = w.shape
    pr, pc = -(-rows // b) * b, -(-cols // b) * b
    padded = np.zeros((pr, pc), np.float64)
    padded[:rows, :cols] = w
    tiles = padded.reshape(pr // b, b, pc // b, b).transpose(0, 2, 1, 3)  # (R, C, b, b)
    diag = (np.arange(b)[:, None] - np.arange(b)[None, :]) % b  # which defining entry sits at (i, j)
    vectors = np.zeros(tiles.shape[:2] + (b,))
    for k in range(b):
        vectors[..., k] = tiles[..., diag == k].mean(axis=-1)
    projected = vectors[..., diag].transpose(0, 2, 1, 3).reshape(pr, pc)
    return projected[:rows, :cols].astype(w.dtype)


def compress_layer(
    kernel: np.ndarray, recurrent_kernel: np.ndarray, point: dict
) -> tuple[np.ndarray, np.ndarray]:
    """(kernel, recurrent kernel) of one recurrent layer after the point's structure and sparsity."""
    structure = point["structure"]
    if structure == "circulant":
        w = circulant_projection(gate_matrix(kernel, recurrent_kernel), point["circulant_block"])
        k, r = split_gate_mask(w, kernel.shape[0])  # the split works on any matrix, not only masks
        return k.astype(kernel.dtype), r.astype(recurrent_kernel.dtype)
    if point["sparsity"] == 0.0:
        return kernel, recurrent_kernel
    block = None if point["block"] is None else tuple(point["block"])
    num_pe = point["num_pe"] if structure == "balanced" else None
    km, rm = layer_masks(
        kernel, recurrent_kernel, STRUCTURE_METHOD[structure], point["sparsity"], num_pe=num_pe, block=block
    )
    return kernel * km, recurrent_kernel * rm
