"""`codesign rtl SPEC --pes N`: the engine's memory images, parameters and golden/cycle report.

Writes build/rtl/<name>/ (per-PE CSC weight and pointer images, bias, sigmoid/tanh tables, params.json,
engine_params.svh, report.json). The report holds the golden model's accuracy on the test set, its
agreement with the QKeras-equivalent reference, and the cycle model's prediction.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from codesign.options import options_from_args


@dataclass(frozen=True)
class RtlOptions:
    """What `codesign rtl` takes besides the spec (the options of the same names)."""

    pes: int
    weight_width: int = 12
    index_width: int = 4
    max_depth: int | None = None
    index_overflow: str = "pad"
    step_overhead: int = 0
    out: Path | None = None  # parent folder of the output; default build/rtl
    quiet: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> RtlOptions:
        return options_from_args(cls, args)

    def engine_config(self):
        """The validated EngineConfig (a CodesignError names the option otherwise)."""
        from codesign.engine.encoder import EngineConfig

        config = EngineConfig(
            num_pe=self.pes,
            weight_width=self.weight_width,
            index_width=self.index_width,
            max_depth=self.max_depth,
            index_overflow=self.index_overflow,
        )
        config.validate()
        return config


def configure(parser: argparse.ArgumentParser) -> None:
    from codesign.options import pe_range

    parser.add_argument("spec", help="models/<name>/spec.yml (a trained LSTM or reset_after GRU)")
    lo, hi = pe_range()
    parser.add_argument("--pes", type=int, required=True, help=f"number of processing elements ({lo}..{hi})")
    parser.add_argument("--weight-width", type=int, default=12, help="bits per stored weight (4..16)")
    parser.add_argument("--index-width", type=int, default=4, help="bits of the relative row index (1..8)")
    parser.add_argument("--max-depth", type=int, default=None, help="refuse models needing more words per PE")
    parser.add_argument(
        "--index-overflow",
        choices=("pad", "error"),
        default="pad",
        help="a zero run longer than the index can skip: store padding words (ESE) or refuse the model",
    )
    parser.add_argument(
        "--step-overhead", type=int, default=0, help="cycle model: fixed cycles per layer step"
    )
    parser.add_argument("--out", type=Path, default=None, help="parent folder of the output")
    parser.add_argument("-q", "--quiet", action="store_true", help="no table")


def build_rtl(spec, config, out_root: Path | None = None, step_overhead: int = 0) -> dict:
    """Encode the spec's trained model for `config`, check it on the test set, write the folder."""
    import numpy as np

    from codesign.engine.cycles import CycleParams, predict_cycles
    from codesign.engine.encoder import check_spec, encode, model_from_trained, write_image
    from codesign.engine.golden import run_golden
    from codesign.outputs import build_root, staged_folder, write_json

    out_root = build_root() / "rtl" if out_root is None else out_root
    check_spec(spec)  # before the slow TensorFlow import: a GRU spec fails at once
    from codesign.models.train import load_trained
    from codesign.reference import ReferenceModel

    trained = load_trained(spec)
    image = encode(model_from_trained(spec, trained.model), config)
    ds = trained.dataset
    trace = run_golden(image, ds.x_test)
    reference = ReferenceModel.from_keras(spec, trained.model, quantized=True).trace(ds.x_test)
    keras_pred = np.argmax(trained.model.predict(ds.x_test, batch_size=512, verbose=0), axis=1)
    cycles = predict_cycles(image, trace, CycleParams(step_overhead=step_overhead))
    h_diff = [float(np.abs(trace.h_float(i) - layer.h).max()) for i, layer in enumerate(reference.layers)]
    words = sum(m.words_per_pe for m in image.matrices)
    nnz = sum(m.nnz_per_pe for m in image.matrices)
    report = {
        "name": spec.name,
        "num_pe": image.num_pe,
        "weight_width": config.weight_width,
        "index_width": config.index_width,
        "types": image.types.as_dict(),
        "memory_depth": image.depth,
        "nnz_per_pe": nnz.tolist(),
        "words_per_pe": words.tolist(),
        "padding_words": int((words - nnz).sum()),
        "matrices": {
            m.name: {
                "rows": m.rows,
                "cols": m.cols,
                "nnz_per_pe": m.nnz_per_pe.tolist(),
                "words_per_pe": m.words_per_pe.tolist(),
            }
            for m in image.matrices
        },
        "samples": int(len(ds.y_test)),
        "accuracy_golden": float(np.mean(trace.predictions == ds.y_test)),
        "accuracy_keras": float(np.mean(keras_pred == ds.y_test)),
        "agreement_golden_keras": float(np.mean(trace.predictions == keras_pred)),
        "agreement_golden_reference": float(np.mean(trace.predictions == reference.logits.argmax(axis=1))),
        "max_abs_h_golden_minus_reference": h_diff,
        "cycles_per_step": cycles.cycles_per_step,
        "ideal_cycles_per_step": cycles.ideal_cycles_per_step,
        "pe_utilization": cycles.pe_utilization,
        "step_efficiency": cycles.step_efficiency,
        "cycle_model": cycles.as_dict(),
    }
    if image.delta is not None:
        report["delta"] = delta_report(image, trace, ds.x_test, cycles, step_overhead)
    with staged_folder(Path(out_root) / spec.name) as stage:
        write_image(image, stage)
        write_json(stage / "report.json", report)
    return report


def delta_report(image, trace, x, cycles, step_overhead: int = 0) -> dict:
    """A delta image's temporal sparsity (golden model, every step the engine runs) and its cycle model
    against the same weights run without delta."""
    import dataclasses

    from codesign.delta import skipped_fractions
    from codesign.engine.cycles import CycleParams, predict_cycles
    from codesign.engine.golden import run_golden

    plain_image = dataclasses.replace(image, delta=None)
    plain = predict_cycles(plain_image, run_golden(plain_image, x), CycleParams(step_overhead=step_overhead))
    return {
        "thresholds_act_raw": {"x": image.delta[0], "h": image.delta[1]},
        "temporal_sparsity": skipped_fractions(trace.input_changed, trace.state_changed),
        "cycles_per_step_no_delta": plain.cycles_per_step,
        "speedup_vs_no_delta": plain.cycles_per_step / cycles.cycles_per_step,
    }


def run(args: argparse.Namespace) -> int:
    from codesign.spec import load_spec

    spec = load_spec(args.spec)
    run_rtl(spec, RtlOptions.from_args(args))
    return 0


def run_rtl(spec, options: RtlOptions) -> dict:
    """The rtl stage on `spec`: the engine image for `options`, checked on the test set; writes the folder
    and returns report.json's content."""
    from codesign.outputs import build_root

    config = options.engine_config()
    out_root = build_root() / "rtl" if options.out is None else Path(options.out)
    report = build_rtl(spec, config, out_root, options.step_overhead)
    if not options.quiet:
        print(
            f"{spec.name}: {report['num_pe']} PEs, "
            f"{report['weight_width']}+{report['index_width']}-bit words, "
            f"depth {report['memory_depth']} -> {out_root / spec.name}"
        )
        print(
            f"  golden accuracy {report['accuracy_golden']:.4f} (QKeras {report['accuracy_keras']:.4f}, "
            f"agreement {report['agreement_golden_keras']:.4f}) on {report['samples']} sequences"
        )
        print(
            f"  cycles/step {report['cycles_per_step']:.1f}, ideal {report['ideal_cycles_per_step']:.1f}, "
            f"PE utilization {report['pe_utilization']:.3f}, step efficiency {report['step_efficiency']:.3f}"
        )
        if "delta" in report:
            d = report["delta"]
            skipped = d["temporal_sparsity"]
            print(
                f"  delta: skipped dx {skipped['x']:.3f}, dh {skipped['h']:.3f}; "
                f"{d['speedup_vs_no_delta']:.2f}x fewer cycles/step than without delta "
                f"({d['cycles_per_step_no_delta']:.1f})"
            )
    return report
