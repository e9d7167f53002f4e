"""Compression of trained models: pruning masks and schedules (numpy only, cheap to import) and the
`compress` stage (imports TensorFlow when called).

    from codesign.compress import compress
    pruned = compress(load_spec("models/jvowels_lstm"), "balanced", 0.9, num_pe=8)
"""

from __future__ import annotations

from codesign.compress.pruning import (
    balanced_prune_mask,
    block_prune_mask,
    gate_matrix,
    layer_masks,
    magnitude_prune_mask,
    nnz_per_pe,
    split_gate_mask,
)
from codesign.compress.schedule import polynomial_sparsity, sparsity_schedule
from codesign.compress.stage import compress, variant_name

__all__ = [
    "balanced_prune_mask",
    "block_prune_mask",
    "compress",
    "gate_matrix",
    "layer_masks",
    "magnitude_prune_mask",
    "nnz_per_pe",
    "polynomial_sparsity",
    "sparsity_schedule",
    "split_gate_mask",
    "variant_name",
]
