"""The `codesign` command: stages listed, bad input as one line with exit status 2, nothing half-written."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from codesign import cli

ROOT = Path(__file__).resolve().parents[1]


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.stat().st_mtime_ns for p in folder.rglob("*")}


def test_help_lists_every_stage(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for stage in ("train", "compress", "delta", "hls", "rtl", "sim", "synth", "sweep", "flow"):
        assert f"    {stage} " in out


def test_stage_modules_import_without_tensorflow():
    """`codesign --help` must stay fast: no stage's command module may import TensorFlow at its top."""
    code = "import sys, codesign.cli as c; c.build_parser(); print('tensorflow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "False", result.stderr


def test_hls_and_circulant_algebra_import_without_tensorflow():
    """Every module of codesign.hls, and the circulant algebra it shares with models/ and compress/, import
    without TensorFlow, QKeras or hls4ml (those load when a conversion runs)."""
    code = (
        "import importlib, pkgutil, sys, codesign.hls as h\n"
        "for m in pkgutil.iter_modules(h.__path__): importlib.import_module('codesign.hls.' + m.name)\n"
        "import codesign.circulant, codesign.sweep.transform\n"
        "print(sorted(k for k in ('tensorflow', 'qkeras', 'hls4ml') if k in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "[]", result.stderr


def _edit_spec(folder: Path, edit) -> Path:
    path = folder / "spec.yml"
    data = yaml.safe_load(path.read_text())
    edit(data)
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda d: d["model"].update(layers=2), "model.layers: unknown field"),
        (lambda d: d.update(dataset="ucr_gunpoint"), "dataset: 'ucr_gunpoint' is not one of"),
        (lambda d: d["precision"].update(kernel={"bits": 8, "integer": 12}), "precision.kernel.integer: 12"),
        (lambda d: d["precision"].update(bias={"bits": 8, "integer": 0}), "precision.bias: bits=8 integer=0"),
    ],
)
def test_bad_spec_is_one_line_exit_2_nothing_written(
    edit, expected, model_copy, capsys, monkeypatch, tmp_path
):
    folder = model_copy("jvowels_lstm")
    path = _edit_spec(folder, edit)
    monkeypatch.chdir(tmp_path)  # build/ would appear here
    before = _snapshot(tmp_path)
    assert cli.main(["flow", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith(f"codesign: error: {path}: ")
    assert expected in err
    assert _snapshot(tmp_path) == before


def test_flow_rejects_unknown_skip(capsys):
    assert cli.main(["flow", "models/jvowels_lstm/spec.yml", "--skip", "lint"]) == 2
    assert "--skip: 'lint' is not one of hls, rtl, sim, synth, sweep" in capsys.readouterr().err


def test_one_build_root_overridable(monkeypatch, tmp_path, capsys):
    """Every stage writes under codesign.outputs.build_root(): build/ by default, $CODESIGN_BUILD, or
    `codesign --build-dir` (which sets the variable, so worker processes see it too)."""
    from codesign.outputs import BUILD_ENV, build_root

    monkeypatch.delenv(BUILD_ENV, raising=False)
    assert build_root() == Path("build")
    monkeypatch.setenv(BUILD_ENV, str(tmp_path / "env"))
    assert build_root() == tmp_path / "env"
    root = ROOT / "models" / "jvowels_lstm" / "spec.yml"
    assert cli.main(["--build-dir", str(tmp_path / "cli"), "flow", str(root), "--skip", "lint"]) == 2
    assert build_root() == tmp_path / "cli"
    capsys.readouterr()


def test_malformed_yaml(tmp_path, capsys):
    path = tmp_path / "m" / "spec.yml"
    path.parent.mkdir()
    path.write_text("dataset: japanese_vowels\n  model: {cell: lstm\n")
    assert cli.main(["train", str(path)]) == 2
    err = capsys.readouterr().err
    assert "malformed YAML" in err and str(path) in err
    assert sorted(p.name for p in path.parent.iterdir()) == ["spec.yml"]


def test_flow_on_shipped_model_prints_table_and_report(model_copy, capsys, monkeypatch, tmp_path):
    folder = model_copy("jvowels_lstm")
    monkeypatch.chdir(tmp_path)
    argv = ["flow", "-q", str(folder / "spec.yml"), "--samples", "3", "--skip", "synth"]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "370 test sequences" in out
    assert "quantized" in out and "float" in out
    summary = out.split("jvowels_lstm: summary\n", 1)[1].splitlines()
    assert [line.split()[0] for line in summary] == ["train", "hls", "rtl", "sim", "sweep"]
    for report in ("flow", "hls", "rtl"):
        assert (tmp_path / "build" / report / "jvowels_lstm" / "report.json").is_file()
    sim = json.loads((tmp_path / "build" / "rtl" / "jvowels_lstm" / "sim_report.json").read_text())
    assert (sim["samples"], sim["mismatches"]) == (3, 0)
    assert (tmp_path / "build" / "sweep" / "jvowels_lstm_flow" / "results.csv").is_file()


def test_installed_command_exits_2():
    """The console script itself: the exit status a shell sees."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    codesign = Path(sys.executable).parent / "codesign"
    result = subprocess.run(
        [str(codesign), "train", "no/such/spec.yml"], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert result.returncode == 2
    assert result.stderr == "codesign: error: no/such/spec.yml: no such spec file\n"


# --- options: errors name the option the user typed, and come before any progress line ---------------

SPEC = str(ROOT / "models" / "jvowels_lstm" / "spec.yml")
PES_LIMIT = "is outside 1..64"  # codesign.engine.types.NUM_PE_RANGE, the one limit every stage states


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["synth", SPEC, "--board", "icebreaker", "--pes", "0"], "--pes 0 " + PES_LIMIT),
        (["synth", SPEC, "--board", "icebreaker", "--pes", "65"], "--pes 65 " + PES_LIMIT),
        (["synth", SPEC, "--board", "nope"], "--board 'nope' is not one of icebreaker, "),
        (["synth", SPEC, "--board", "icebreaker", "--clock", "0"], "--clock 0.0 must be greater than 0"),
        (["synth", SPEC, "--board", "icebreaker", "--file-list", "no.f"], "--file-list no.f: no such file"),
        (
            ["compress", SPEC, "--method", "balanced", "--sparsity", "0.9", "--pes", "0"],
            "--pes 0 " + PES_LIMIT,
        ),
        (
            ["compress", SPEC, "--method", "balanced", "--sparsity", "0.9", "--pes", "65"],
            "--pes 65 " + PES_LIMIT,
        ),
        (["compress", SPEC, "--method", "balanced", "--sparsity", "0.9"], "--pes: balanced pruning needs"),
        (["compress", SPEC, "--method", "magnitude", "--sparsity", "0.9", "--steps", "0"], "--steps 0 < 1"),
        (["compress", SPEC, "--method", "circulant", "--block", "4x8"], "--block 4x8: circulant blocks are"),
        (["rtl", SPEC, "--pes", "65"], "--pes 65 " + PES_LIMIT),
        (["sim", SPEC, "--pes", "0"], "--pes 0 " + PES_LIMIT),
        (["sim", SPEC, "--pes", "8", "--samples", "0"], "--samples 0 < 1"),
        (["flow", SPEC, "--pes", "0"], "--pes 0 " + PES_LIMIT),
        (["flow", SPEC, "--board", "nope"], "--board 'nope' is not one of"),
        (["flow", SPEC, "--samples", "-1"], "--samples -1 < 0"),
    ],
)
def test_bad_option_is_one_line_naming_it_before_any_work(argv, expected, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # build/ would appear here
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing announced before the error
    assert captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(f"codesign: error: {expected}"), captured.err
    assert list(tmp_path.iterdir()) == []
