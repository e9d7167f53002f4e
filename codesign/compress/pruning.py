"""Pruning masks: unstructured magnitude, ESE's load-balance-aware, and Narang et al.'s block pruning.

The primitives work on a layer's gate matrix as the engine sees it, W = [W_x W_h] with one row per gate
unit (4H for an LSTM) and X + H columns (docs/engine.md); `gate_matrix` / `split_gate_mask` convert
between that and Keras' (kernel (X, 4H), recurrent_kernel (H, 4H)) layout, and `layer_masks` returns
masks in Keras' layout, ready to multiply the two tensors. A mask is a numpy bool array, True = kept.

Counting rule (all methods): a mask for sparsity s keeps `floor((1 - s) * n)` weights (or blocks) at
most, so the measured sparsity is never below the one asked for. Ties in magnitude are broken by
position (a stable sort), so a mask is a deterministic function of the weights.
"""

from __future__ import annotations

import numpy as np

from codesign.errors import CodesignError

PRUNING_METHODS = ("magnitude", "balanced", "block")
BLOCK_SCORES = ("max", "l2")

# (1 - s) * n computed in floating point can land a hair below an integer it equals (0.1 * 70).
_COUNT_SLACK = 1e-9


def check_sparsity(sparsity: float, option: str = "sparsity") -> float:
    if isinstance(sparsity, bool) or not isinstance(sparsity, (int, float, np.floating)):
        raise CodesignError(f"{option}: expected a number in [0, 1), got {sparsity!r}")
    if not 0.0 <= float(sparsity) < 1.0:
        raise CodesignError(f"{option}: {sparsity} is outside [0, 1)")
    return float(sparsity)


def kept_count(size: int, sparsity: float) -> int:
    """How many of `size` weights a mask of `sparsity` keeps: the most that keeps sparsity >= s."""
    return int(np.floor((1.0 - sparsity) * size + _COUNT_SLACK))


def _top_k_mask(scores: np.ndarray, k: int) -> np.ndarray:
    """True at the k largest scores (ties: lower flat index first)."""
    flat = scores.ravel()
    mask = np.zeros(flat.shape, dtype=bool)
    if k > 0:
        order = np.argsort(-flat, kind="stable")
        mask[order[:k]] = True
    return mask.reshape(scores.shape)


def magnitude_prune_mask(w: np.ndarray, sparsity: float) -> np.ndarray:
    """Unstructured: keep the largest |w| over the whole matrix (Han et al.; Zhu & Gupta)."""
    sparsity = check_sparsity(sparsity)
    w = np.asarray(w)
    return _top_k_mask(np.abs(w), kept_count(w.size, sparsity))


def pe_of_rows(rows: int, num_pe: int, units: int | None = None) -> np.ndarray:
    """The PE each gate-matrix row is dealt to (docs/engine.md "Rows to PEs"): for a recurrent layer's
    gate matrix (rows = gates x units) row r -> PE (r mod units) mod num_pe, so that the gate rows of
    one unit sit on one PE; without `units` (the head) row r -> PE r mod num_pe. (Both are r mod num_pe
    when num_pe divides units.)"""
    r = np.arange(rows)
    return (r % units) % num_pe if units else r % num_pe


def balanced_level(capacities: np.ndarray, keep: int) -> int:
    """The largest per-PE count L with sum(min(capacity, L)) <= keep (water-filling)."""
    low, high = 0, int(capacities.max(initial=0))
    while low < high:
        mid = (low + high + 1) // 2
        if int(np.minimum(capacities, mid).sum()) <= keep:
            low = mid
        else:
            high = mid - 1
    return low


def balanced_prune_mask(
    w_gate_matrix: np.ndarray, sparsity: float, num_pe: int, units: int | None = None
) -> np.ndarray:
    """ESE's load-balance-aware pruning: every PE keeps the same number of its largest weights.

    `w_gate_matrix` is W = [W_x W_h] (rows x columns), row r on PE `pe_of_rows(rows, num_pe, units)`
    (pass the layer's units: row r on PE (r mod units) mod num_pe). The engine's step
    costs max over PEs of their non-zeros, so the rule is equal counts, not equal densities: every PE
    keeps exactly L weights, L the largest level whose total fits the budget floor((1 - s) * n). When
    rows is not a multiple of num_pe the PEs hold sub-matrices of different sizes but the counts are
    still equal; only a PE whose sub-matrix has fewer than L entries (low sparsity, few rows) keeps all
    of them and falls short of L. So the sparsity is >= s, and by less than num_pe weights' worth
    when no PE is full.
    """
    sparsity = check_sparsity(sparsity)
    if isinstance(num_pe, bool) or not isinstance(num_pe, (int, np.integer)) or num_pe < 1:
        raise CodesignError(f"num_pe: expected a positive integer, got {num_pe!r}")
    w = np.asarray(w_gate_matrix)
    if w.ndim != 2:
        raise CodesignError(f"balanced pruning needs a 2-D gate matrix, got shape {w.shape}")
    rows, cols = w.shape
    pe = pe_of_rows(rows, num_pe, units)
    capacities = np.bincount(pe, minlength=num_pe) * cols
    level = balanced_level(capacities, kept_count(w.size, sparsity))
    mask = np.zeros(w.shape, dtype=bool)
    for p in range(num_pe):
        rows_p = pe == p
        mask[rows_p] = _top_k_mask(np.abs(w[rows_p]), min(level, int(capacities[p])))
    return mask


def check_block(block, shape: tuple[int, int], option: str = "block") -> tuple[int, int]:
    if (
        not isinstance(block, (tuple, list))
        or len(block) != 2
        or any(isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b < 1 for b in block)
    ):
        raise CodesignError(f"{option}: expected (rows, cols) of positive integers, got {block!r}")
    r, c = int(block[0]), int(block[1])
    if shape[0] % r or shape[1] % c:
        raise CodesignError(
            f"{option}: {r}x{c} does not divide the {shape[0]}x{shape[1]} gate matrix into whole blocks"
        )
    return r, c


def block_scores(w: np.ndarray, block: tuple[int, int], score: str = "max") -> np.ndarray:
    """One score per (r x c) block: its largest |w| or its L2 norm (Narang et al. 2017 use the max)."""
    r, c = block
    tiles = np.abs(np.asarray(w, dtype=np.float64)).reshape(w.shape[0] // r, r, w.shape[1] // c, c)
    if score == "max":
        return tiles.max(axis=(1, 3))
    if score == "l2":
        return np.sqrt((tiles**2).sum(axis=(1, 3)))
    raise CodesignError(f"block score: {score!r} is not one of {', '.join(BLOCK_SCORES)}")


def block_prune_mask(
    w: np.ndarray, sparsity: float, block: tuple[int, int], score: str = "max"
) -> np.ndarray:
    """Block pruning: whole r x c blocks kept or zeroed, the highest-scoring floor((1 - s) * blocks) kept."""
    sparsity = check_sparsity(sparsity)
    w = np.asarray(w)
    if w.ndim != 2:
        raise CodesignError(f"block pruning needs a 2-D matrix, got shape {w.shape}")
    r, c = check_block(block, w.shape)
    scores = block_scores(w, (r, c), score)
    kept = _top_k_mask(scores, kept_count(scores.size, sparsity))
    return np.repeat(np.repeat(kept, r, axis=0), c, axis=1)


def gate_matrix(kernel: np.ndarray, recurrent_kernel: np.ndarray) -> np.ndarray:
    """Keras kernel (X, G) and recurrent kernel (H, G) -> the engine's W = [W_x W_h], shape (G, X + H)."""
    return np.concatenate([np.asarray(kernel).T, np.asarray(recurrent_kernel).T], axis=1)


def split_gate_mask(mask: np.ndarray, inputs: int) -> tuple[np.ndarray, np.ndarray]:
    """A mask of W (G, X + H) -> masks in Keras layout: kernel (X, G), recurrent kernel (H, G)."""
    return mask[:, :inputs].T.copy(), mask[:, inputs:].T.copy()


def gate_matrix_mask(
    w: np.ndarray,
    method: str,
    sparsity: float,
    num_pe: int | None = None,
    block: tuple[int, int] | None = None,
    units: int | None = None,
) -> np.ndarray:
    if method == "magnitude":
        return magnitude_prune_mask(w, sparsity)
    if method == "balanced":
        if num_pe is None:
            raise CodesignError("num_pe: balanced pruning needs the number of PEs it balances for")
        return balanced_prune_mask(w, sparsity, num_pe, units)
    if method == "block":
        if block is None:
            raise CodesignError("block: block pruning needs a block shape (rows, cols)")
        return block_prune_mask(w, sparsity, block)
    raise CodesignError(f"method: {method!r} is not one of {', '.join(PRUNING_METHODS)}")


def layer_masks(
    kernel: np.ndarray,
    recurrent_kernel: np.ndarray,
    method: str,
    sparsity: float,
    num_pe: int | None = None,
    block: tuple[int, int] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Masks for one recurrent layer, pruned as the one matrix W the engine stores; Keras layout."""
    w = gate_matrix(kernel, recurrent_kernel)
    units = np.asarray(recurrent_kernel).shape[0]
    return split_gate_mask(gate_matrix_mask(w, method, sparsity, num_pe, block, units), kernel.shape[0])


def nnz_per_pe(w_gate_matrix: np.ndarray, num_pe: int, units: int | None = None) -> np.ndarray:
    """Non-zeros each PE stores of W (rows dealt as `pe_of_rows`): the engine's per-step work per PE."""
    w = np.asarray(w_gate_matrix)
    pe = pe_of_rows(w.shape[0], num_pe, units)
    return np.bincount(pe, weights=np.count_nonzero(w, axis=1), minlength=num_pe).astype(np.int64)
