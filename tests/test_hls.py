"""hls4ml flow: exact activations (g++), full C-simulations against QKeras, estimate, csynth parsers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codesign.hls import estimate as est
from codesign.hls.extensions import HEADER, quant_type
from codesign.hls.report import parse_csynth_rpt, parse_csynth_xml
from codesign.reference import hard_sigmoid, quantize_bits, quantized_sigmoid, quantized_tanh

from conftest import check_csim_against_reference, run_hls  # isort: skip

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "hls"
HLS4ML_TEMPLATES = Path(__import__("hls4ml").__file__).parent / "templates" / "vivado"
INPUT_TYPE = "ap_fixed<20,6>"  # 14 fractional bits, like the accumulators of the committed models

_PROGRAM = """
#include <cstdio>
#include "ap_fixed.h"
#include "codesign_activations.h"
typedef {input} in_t;
struct cfg {{ static const unsigned n_in = 1; typedef {quant} quant_t; }};
int main() {{
    double x;
    while (std::scanf("%lf", &x) == 1) {{
        in_t d[1] = {{in_t(x)}};
        double r[1];
        ap_fixed<40, 4> out[1];
        nnet::activation::{kernel}<in_t, ap_fixed<40, 4>, cfg>::activation(d, out);
        std::printf("%.17g\\n", out[0].to_double());
    }}
}}
"""


def _compile_activation(tmp_path: Path, kernel: str, quant: str) -> Path:
    source = tmp_path / f"{kernel}.cpp"
    source.write_text(_PROGRAM.format(input=INPUT_TYPE, quant=quant, kernel=kernel))
    binary = tmp_path / kernel
    includes = [HEADER.parent, HLS4ML_TEMPLATES / "nnet_utils", HLS4ML_TEMPLATES / "ap_types"]
    subprocess.run(
        ["g++", "-O1", "-std=c++17", "-w", *(f"-I{p}" for p in includes), str(source), "-o", str(binary)],
        check=True,
    )
    return binary


@pytest.mark.skipif(shutil.which("g++") is None, reason="needs g++")
@pytest.mark.parametrize(
    ("function", "bits", "golden"),
    [
        ("tanh", 8, lambda x: quantized_tanh(x, 8, True)),
        ("sigmoid", 8, lambda x: quantized_sigmoid(x, 8, True)),
        ("hard_tanh", 8, lambda x: quantized_tanh(x, 8, False)),
        ("hard_sigmoid", 6, lambda x: quantized_sigmoid(x, 6, False)),
    ],
)
def test_activation_kernels_equal_qkeras_quantizers_on_the_input_grid(tmp_path, function, bits, golden):
    binary = _compile_activation(tmp_path, f"codesign_{function}", quant_type(function, bits))
    rng = np.random.default_rng(4)
    # dense random points, every level boundary of the smooth ones and the hard ones' ties, all on the grid
    x = np.concatenate([rng.uniform(-8, 8, 4000), np.linspace(-1.2, 1.2, 2401), np.arange(-600, 600) / 256])
    x = quantize_bits(x, 20, 5)  # = ap_fixed<20,6>
    out = subprocess.run(
        [str(binary)], input="\n".join(map(repr, x)), capture_output=True, text=True, check=True
    )
    got = np.array(out.stdout.split(), dtype=np.float64)
    np.testing.assert_array_equal(got, golden(x))


def test_hard_sigmoid_is_qkeras_shift_and_clamp():
    # the golden of the hard kernels is QKeras' clip(x/2 + 1/2), not Keras' slope-0.2 hard sigmoid
    assert hard_sigmoid(np.array([0.6]))[0] == 0.8


@pytest.fixture(scope="module")
def csim_reports(tmp_path_factory):
    """Both committed models through `codesign hls`: convert, g++ compile, C-simulate the full test sets."""
    reports = {}
    for name in ("basicmotions_gru", "jvowels_lstm"):
        out = tmp_path_factory.mktemp("hls") / name
        report, result = run_hls([str(ROOT / "models" / name / "spec.yml"), "--out", str(out), "-q"])
        reports[name] = (report, out, result)
    return reports


@pytest.mark.parametrize(("name", "samples"), [("basicmotions_gru", 40), ("jvowels_lstm", 370)])
def test_csim_agrees_with_qkeras(csim_reports, name, samples):
    report, out, result = csim_reports[name]
    assert report["samples"] == samples
    check_csim_against_reference(ROOT / "models" / name / "spec.yml", report, result)
    assert set(report["estimate"]) >= {"dsp", "lut", "ff", "bram_18k", "latency_cycles"}
    assert report["estimate"]["estimate"] is True
    assert (out / "project" / "firmware" / "nnet_utils" / HEADER.name).is_file()


def test_csim_project_uses_the_exact_activations(csim_reports):
    _, out, _ = csim_reports["basicmotions_gru"]
    parameters = (out / "project" / "firmware" / "parameters.h").read_text()
    assert "nnet::activation::codesign_hard_sigmoid" in parameters
    assert "nnet::activation::codesign_hard_tanh" in parameters
    assert quant_type("hard_sigmoid", 8) in parameters


def _types(spec_name: str):
    from codesign.hls.types import Fixed, LayerTypes, ModelTypes

    w = Fixed(8, 1)
    layer = LayerTypes("rnn1", w, w, Fixed(8, 3), Fixed(25, 6), Fixed(17, 2), 4.0, state=Fixed(16, 5))
    head = LayerTypes("head", Fixed(8, 2), None, Fixed(8, 3), Fixed(22, 5), Fixed(22, 5), 1.0)
    return ModelTypes(Fixed(16, 4), [layer], head)


def test_estimate_scales_with_density_and_reuse():
    from codesign.spec import load_spec

    spec = load_spec(ROOT / "models" / "jvowels_lstm" / "spec.yml")
    rng = np.random.default_rng(0)
    kernel, recurrent, head = rng.normal(size=(12, 128)), rng.normal(size=(32, 128)), rng.normal(size=(32, 9))
    dense = est.estimate(spec, _types(""), [(kernel, recurrent)], head, steps=29)
    mask = rng.random(recurrent.shape) < 0.25
    sparse = est.estimate(spec, _types(""), [(kernel, recurrent * mask)], head, steps=29)
    assert dense.multipliers - sparse.multipliers == recurrent.size - np.count_nonzero(mask)
    assert dense.weight_bits - sparse.weight_bits == 8 * (recurrent.size - np.count_nonzero(mask))
    reused = est.estimate(spec, _types(""), [(kernel, recurrent)], head, steps=29, reuse_factor=4)
    assert reused.multipliers == 3 * 32 + sum(-(-a.size // 4) for a in (kernel, recurrent, head))
    assert reused.latency_cycles > dense.latency_cycles
    resource = est.estimate(spec, _types(""), [(kernel, recurrent)], head, steps=29, strategy="Resource")
    assert resource.bram_18k == resource.bram_18k_resource > 0 == dense.bram_18k


def test_dsp_width_follows_the_part():
    assert est.dsp_per_multiplier(26, 8, est.dsp_shape("xc7z020clg400-1")) == 2  # 25 x 18
    assert est.dsp_per_multiplier(26, 8, est.dsp_shape("xcvu13p-flga2577-2-e")) == 1  # 27 x 18
    assert est.dsp_per_multiplier(16, 4, est.dsp_shape("xcvu13p-flga2577-2-e")) == 0  # LUT multiplier


@pytest.mark.parametrize("tool", ["vitis", "vivado"])
def test_csynth_xml_and_rpt_parsers_agree(tool):
    xml = parse_csynth_xml(FIXTURES / f"{tool}_csynth.xml")
    rpt = parse_csynth_rpt(FIXTURES / f"{tool}_csynth.rpt")
    assert xml == rpt
    import xml.etree.ElementTree as ET

    root = ET.parse(FIXTURES / f"{tool}_csynth.xml").getroot()
    dsp_tag = "DSP" if tool == "vitis" else "DSP48E"
    assert xml["dsp"] == int(root.findtext(f"AreaEstimates/Resources/{dsp_tag}"))
    assert xml["latency_max"] == int(
        root.findtext("PerformanceEstimates/SummaryOfOverallLatency/Worst-caseLatency")
    )


def test_csynth_parser_rejects_other_files(tmp_path):
    from codesign.errors import CodesignError

    bad = tmp_path / "x_csynth.rpt"
    bad.write_text("== Vitis HLS Report for 'x'\nnothing here\n")
    with pytest.raises(CodesignError, match="x_csynth.rpt"):
        parse_csynth_rpt(bad)
