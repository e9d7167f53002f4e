"""Sparsity of the weights as stored: counted after quantization, so a weight that rounds to 0 is a zero."""

from __future__ import annotations

import numpy as np

from codesign.compress.pruning import gate_matrix, nnz_per_pe
from codesign.spec import Precision


def stored_gate_matrix(
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    kernel_precision: Precision,
    recurrent_precision: Precision,
) -> np.ndarray:
    """The engine's W = [W_x W_h] as raw fixed-point integers of the spec's weight precisions."""
    return gate_matrix(
        kernel_precision.fixed_type().quantize(kernel),
        recurrent_precision.fixed_type().quantize(recurrent_kernel),
    )


def sparsity_report(
    layers: dict[str, tuple[np.ndarray, np.ndarray]],
    kernel_precision: Precision,
    recurrent_precision: Precision,
    num_pe: int | None = None,
) -> dict:
    """`layers`: name -> (kernel, recurrent kernel) latent weights in Keras layout.

    Returns the totals over the pruned tensors (`sparsity`, `nnz`, `weights`), per layer the same plus
    its gate-matrix shape, and with `num_pe` each layer's non-zeros per PE (row r on PE
    (r mod units) mod num_pe, docs/engine.md)
    and `nnz_per_pe` {num_pe, max, min} over all layers.
    """
    report: dict = {"layers": {}}
    total_nnz = total_size = 0
    per_pe_all = []
    for name, (kernel, recurrent) in layers.items():
        w = stored_gate_matrix(kernel, recurrent, kernel_precision, recurrent_precision)
        nnz = int(np.count_nonzero(w))
        entry = {"shape": list(w.shape), "nnz": nnz, "sparsity": 1.0 - nnz / w.size}
        if num_pe is not None:
            counts = nnz_per_pe(w, num_pe, np.asarray(recurrent).shape[0])
            entry["nnz_per_pe"] = counts.tolist()
            per_pe_all.append(counts)
        report["layers"][name] = entry
        total_nnz += nnz
        total_size += w.size
    report["sparsity"] = 1.0 - total_nnz / total_size
    report["nnz"] = total_nnz
    report["weights"] = total_size
    if num_pe is not None:
        counts = np.concatenate(per_pe_all)
        report["nnz_per_pe"] = {"num_pe": num_pe, "max": int(counts.max()), "min": int(counts.min())}
    return report
