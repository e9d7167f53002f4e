"""`codesign hls SPEC`: the spec's QKeras model as an hls4ml project, C-simulated against QKeras.

Writes build/hls/<name>/ (the hls4ml project under project/, report.json beside it). With vitis_hls,
vitis-run or vivado_hls on PATH it also runs C synthesis and reports its figures; without, the resources
are the analytic estimate of codesign.hls.estimate, labelled as one.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from codesign.options import options_from_args

VENDOR_TOOLS = ("vitis_hls", "vitis-run", "vivado_hls")
DEFAULT_PART = "xcvu13p-flga2577-2-e"  # hls4ml's default part


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="models/<name>/spec.yml")
    parser.add_argument("--backend", choices=("vitis", "vivado"), default="vitis")
    parser.add_argument("--io", choices=("parallel", "stream"), default="parallel")
    parser.add_argument(
        "--reuse-factor", type=int, default=1, help="reuse factor of the input products and head"
    )
    parser.add_argument(
        "--recurrent-reuse-factor",
        type=int,
        default=None,
        help="reuse factor of h U (default: --reuse-factor)",
    )
    parser.add_argument(
        "--circulant-product",
        choices=("auto", "fast", "direct"),
        default="auto",
        help="block-circulant layers: exact fast block products, direct ones (b^2 multiplies), or auto "
        "(fast for weights wider than 4 bits)",
    )
    parser.add_argument("--part", default=DEFAULT_PART, help=f"FPGA part (default {DEFAULT_PART})")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default build/hls/<name>)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


@dataclass(frozen=True)
class HlsOptions:
    """What `codesign hls` takes besides the spec (the options of the same names)."""

    backend: str = "vitis"
    io: str = "parallel"
    reuse_factor: int = 1
    recurrent_reuse_factor: int | None = None  # None: reuse_factor
    circulant_product: str = "auto"
    part: str = DEFAULT_PART
    out: Path | None = None  # default build/hls/<name>
    quiet: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> HlsOptions:
        return options_from_args(cls, args)

    def validate(self) -> None:
        from codesign.errors import CodesignError

        if self.reuse_factor < 1:
            raise CodesignError(f"--reuse-factor: {self.reuse_factor} must be a positive integer")
        if self.recurrent_reuse_factor is not None and self.recurrent_reuse_factor < 1:
            raise CodesignError(
                f"--recurrent-reuse-factor: {self.recurrent_reuse_factor} must be a positive integer"
            )


def vendor_tool() -> str | None:
    return next((t for t in VENDOR_TOOLS if shutil.which(t)), None)


def build_report(result, est, synthesis: dict | None, options: HlsOptions) -> dict:
    return {
        "samples": result.samples,
        "accuracy_keras": result.accuracy_keras,
        "accuracy_csim": result.accuracy_csim,
        "agreement": result.agreement,
        # exact types: C-simulation logits == the float64 reference's (max_logit_error 0); else why not
        "exact": result.types.exact,
        "inexact_reason": result.types.inexact_reason,
        "max_logit_error": result.max_logit_error,
        "mean_logit_error": result.mean_logit_error,
        "estimate": est.as_dict(),
        "synthesis": synthesis,
        "backend": options.backend,
        "io": f"io_{options.io}",
        "reuse_factor": options.reuse_factor,
        "recurrent_reuse_factor": options.recurrent_reuse_factor or options.reuse_factor,
        "circulant_product": options.circulant_product,
        "types": {
            "input": result.types.input.cpp(),
            **{
                t.name: {
                    "accum": t.accum.cpp(),
                    "state": t.state.cpp(),
                    "result": t.result.cpp(),
                    "weight": t.weight.cpp(),
                }
                for t in result.types.layers
            },
            "head": {"accum": result.types.head.accum.cpp()},
        },
        "seconds": {k: round(v, 2) for k, v in result.seconds.items()},
    }


def run(args: argparse.Namespace) -> int:
    from codesign.spec import load_spec

    options = HlsOptions.from_args(args)
    options.validate()  # before the spec: every option is checked first
    run_hls(load_spec(args.spec), options)
    return 0


def run_hls(spec, options: HlsOptions | None = None) -> dict:
    """The hls stage on `spec`: project, C-simulation, estimate (C synthesis with a vendor tool); writes
    and returns report.json's content."""
    from codesign.errors import CodesignError
    from codesign.hls.circulant import circulant_block
    from codesign.hls.csim import project_name, run_csim
    from codesign.hls.estimate import estimate
    from codesign.hls.report import find_csynth_report, parse_csynth_xml
    from codesign.models.train import load_trained
    from codesign.outputs import build_root, staged_folder, write_json
    from codesign.reference import ReferenceModel

    options = options or HlsOptions()
    options.validate()
    if spec.delta is not None:
        raise CodesignError(
            f"{spec.path}: delta: hls4ml has no delta cell; a delta network runs on the engine "
            f"(codesign rtl / sim), or put its base {spec.delta.base} through hls"
        )
    trained = load_trained(spec)
    log = (lambda *a, **k: None) if options.quiet else print
    target = options.out or build_root() / "hls" / spec.name
    with staged_folder(target) as stage:
        project = stage / "project"
        shutil.rmtree(project, ignore_errors=True)
        result = run_csim(
            trained,
            project,
            backend=options.backend,
            io=options.io,
            reuse_factor=options.reuse_factor,
            recurrent_reuse_factor=options.recurrent_reuse_factor,
            log=log,
            circulant_product=options.circulant_product,
        )
        reference = ReferenceModel.from_keras(spec, trained.model, quantized=True)
        est = estimate(
            spec,
            result.types,
            [(w.kernel, w.recurrent_kernel) for w in reference.layers],
            reference.dense_kernel,
            steps=trained.dataset.length,
            reuse_factor=options.reuse_factor,
            recurrent_reuse_factor=options.recurrent_reuse_factor,
            part=options.part,
            block=result.types.block_sparse,
            circulant=circulant_block(spec),  # stored as defining vectors, fast exact products
            circulant_product=options.circulant_product,
        )
        tool = vendor_tool()
        synthesis = None
        if tool is None:
            print(f"[hls] no {' / '.join(VENDOR_TOOLS)} on PATH: no C synthesis; resources are an estimate")
        else:
            log(f"[hls] C synthesis with {tool}")
            result.hls_model.build(csim=False, synth=True, export=False)
            found = find_csynth_report(project, project_name(spec.name))
            synthesis = parse_csynth_xml(found) if found else None
        report = build_report(result, est, synthesis, options)
        write_json(stage / "report.json", report)
    types = result.types
    exactness = "(exact types)" if types.exact else f"(types not exact: {types.inexact_reason})"
    print(
        f"{spec.name}: {result.samples} test sequences, "
        f"C-simulation ({options.backend}, io_{options.io}) vs QKeras\n"
        f"  accuracy keras {result.accuracy_keras:.4f}  csim {result.accuracy_csim:.4f}  "
        f"agreement {result.agreement:.4f}\n"
        f"  logits vs the float64 reference: max error {result.max_logit_error:.3g} {exactness}\n"
        f"  {'synthesis' if synthesis else 'estimate'}: "
        + (
            f"DSP {synthesis.get('dsp')}  LUT {synthesis.get('lut')}  FF {synthesis.get('ff')}  "
            f"BRAM18 {synthesis.get('bram_18k')}  latency {synthesis.get('latency_max')} cycles"
            if synthesis
            else f"DSP {est.dsp}  LUT {est.lut}  FF {est.ff}  BRAM18 {est.bram_18k}  "
            f"latency {est.latency_cycles} cycles  II {est.ii_cycles}"
        )
        + f"\n  -> {target}/report.json"
    )
    return report
