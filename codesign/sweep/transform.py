"""One design point's weights, without retraining: prune (or project) the recurrent layers' latent
weights in the structure asked for.

Pruning masks are `codesign.compress`'s (magnitude, ESE's balanced, Narang's block) on the matrix
W = [W_x W_h] the engine stores. Circulant projection is `codesign.circulant`'s least-squares one,
applied to W_x and W_h separately (what QCirculantLSTM and the hls4ml kernel store: a block never
straddles the input / recurrent boundary, and the input's padding to whole blocks is not averaged in).
Quantization happens afterwards, in the reference model, so a weight that rounds to 0 is a zero too.
"""

from __future__ import annotations

import numpy as np

from codesign.circulant import circulant_projection
from codesign.compress.pruning import layer_masks

STRUCTURE_METHOD = {"unstructured": "magnitude", "balanced": "balanced", "block": "block"}


def circulant_layer(
    kernel: np.ndarray, recurrent_kernel: np.ndarray, b: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keras (X, G*H) / (H, G*H) kernels projected onto b x b block-circulant W_x = kernel^T and
    W_h = recurrent_kernel^T (gate-major rows, as codesign.models.circulant tiles them)."""
    k = circulant_projection(np.asarray(kernel).T, b).T
    r = circulant_projection(np.asarray(recurrent_kernel).T, b).T
    return k.astype(kernel.dtype), r.astype(recurrent_kernel.dtype)


def compress_layer(
    kernel: np.ndarray, recurrent_kernel: np.ndarray, point: dict
) -> tuple[np.ndarray, np.ndarray]:
    """(kernel, recurrent kernel) of one recurrent layer after the point's structure and sparsity."""
    structure = point["structure"]
    if structure == "circulant":
        return circulant_layer(kernel, recurrent_kernel, point["circulant_block"])
    if point["sparsity"] == 0.0:
        return kernel, recurrent_kernel
    block = None if point["block"] is None else tuple(point["block"])
    num_pe = point["num_pe"] if structure == "balanced" else None
    km, rm = layer_masks(
        kernel, recurrent_kernel, STRUCTURE_METHOD[structure], point["sparsity"], num_pe=num_pe, block=block
    )
    return kernel * km, recurrent_kernel * rm
