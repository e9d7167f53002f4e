"""Block-circulant hls4ml kernel: weight storage and multipliers against the dense project, per block size.

For b in {4, 8, 16}: jvowels_lstm's quantized W_x, W_h projected onto block-circulant matrices (least squares,
then onto the kernel precision's grid), through `codesign.hls.estimate` as the dense kernel and as the
circulant kernel (defining vectors, exact fast block product of codesign.hls.fastconv). Per b: the recurrent
layer's weight words and multipliers (reuse factor 1), their ratios to the dense project's, and the ratios
per block beside 1/b, b^2 (direct) and Winograd's minimum 2b - d(b) for an exact product.
Writes build/bench/circulant.json; no timing. The trained b = 8 model's own figures come from `codesign hls
models/jvowels_lstm-circulant8/spec.yml` (report.json, estimate.layers).

Run: .venv/bin/python bench/circulant.py
"""

from __future__ import annotations

import json
import os

from codesign.outputs import build_root

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BASE = "models/jvowels_lstm/spec.yml"
BLOCKS = (4, 8, 16)
OUT = build_root() / "bench" / "circulant.json"


def on_grid(w, frac: int):
    import numpy as np

    return np.round(w * 2.0**frac) / 2.0**frac


def main() -> int:
    import dataclasses

    from codesign.circulant import circulant_projection
    from codesign.hls.config import choose_types
    from codesign.hls.estimate import estimate
    from codesign.hls.fastconv import fast_circulant, winograd_minimum
    from codesign.hls.types import of_precision
    from codesign.models.train import load_trained
    from codesign.reference import ReferenceModel
    from codesign.spec import load_spec

    spec = load_spec(BASE)
    trained = load_trained(spec)
    ref = ReferenceModel.from_keras(spec, trained.model, quantized=True)
    types = choose_types(spec, ref, trained.dataset.x_train)
    steps = trained.dataset.length
    dense_weights = [(w.kernel, w.recurrent_kernel) for w in ref.layers]
    dense = estimate(spec, types, dense_weights, ref.dense_kernel, steps).layers[0]
    frac_k = of_precision(spec.precision.kernel).frac
    frac_r = of_precision(spec.precision.recurrent_kernel).frac
    rows = []
    for b in BLOCKS:
        weights = [
            (
                on_grid(circulant_projection(k.T, b).T, frac_k),
                on_grid(circulant_projection(r.T, b).T, frac_r),
            )
            for k, r in dense_weights
        ]
        layer = estimate(spec, types, weights, ref.dense_kernel, steps, circulant=b).layers[0]
        fast = fast_circulant(b)
        rows.append(
            {
                "block": b,
                "rank": fast.rank,
                "winograd_minimum": winograd_minimum(b),
                "weights": layer["weights"],
                "multipliers": layer["multipliers"],
                "weights_vs_dense": layer["weights"] / dense["weights"],
                "multipliers_vs_dense": layer["multipliers"] / dense["multipliers"],
                "one_over_b": 1 / b,
                "multiplies_per_block_vs_direct": fast.rank / b**2,
            }
        )
    result = {
        "model": spec.name,
        "dense": {"weights": dense["weights"], "multipliers": dense["multipliers"]},
        "circulant": rows,
        "types": dataclasses.asdict(types.layers[0]),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"dense {spec.name}: {dense['weights']} weights, {dense['multipliers']} multipliers (rnn1, RF 1)")
    print(" b  rank  min  weights  x dense  multipliers  x dense  1/b    rank/b^2")
    for r in rows:
        print(
            f"{r['block']:>2}  {r['rank']:>4}  {r['winograd_minimum']:>3}  {r['weights']:>7}  "
            f"{r['weights_vs_dense']:.3f}    {r['multipliers']:>11}  {r['multipliers_vs_dense']:.3f}    "
            f"{r['one_over_b']:.3f}  {r['multiplies_per_block_vs_direct']:.3f}"
        )
    print(f"-> {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
