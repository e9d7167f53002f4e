from pathlib import Path

import pytest

from codesign.errors import CodesignError
from codesign.spec import Precision, load_spec, parse_spec

ROOT = Path(__file__).resolve().parents[1]

MINIMAL = {
    "dataset": "japanese_vowels",
    "model": {"cell": "lstm", "units": [8]},
    "precision": {
        "kernel": {"bits": 8, "integer": 0},
        "recurrent_kernel": {"bits": 8, "integer": 0},
        "bias": {"bits": 8, "integer": 2},
        "dense_kernel": {"bits": 8, "integer": 1},
        "dense_bias": {"bits": 8, "integer": 2},
    },
}


def _with(path: str, value):
    """MINIMAL with one dotted field replaced (or removed when value is ...)."""
    import copy

    data = copy.deepcopy(MINIMAL)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if value is ...:
        del node[last]
    else:
        node[last] = value
    return data


@pytest.mark.parametrize("name", ["jvowels_lstm", "basicmotions_gru"])
def test_reference_specs_load(name):
    spec = load_spec(ROOT / "models" / name / "spec.yml")
    assert spec.name == name
    assert spec.folder == ROOT / "models" / name


def test_defaults():
    spec = parse_spec(MINIMAL)
    assert spec.model.activation.function == "tanh"
    assert spec.model.recurrent_activation.function == "hard_sigmoid"
    assert spec.precision.state is None
    assert spec.training.optimizer == "adam"


def test_precision_is_ap_fixed_with_sign_bit():
    p = Precision(bits=8, integer=0)
    t = p.fixed_type()
    assert (t.width, t.integer, t.signed) == (8, 1, True)
    assert p.max_value == 1 - 2**-7
    assert p.min_value == -1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("model.cell", "transformer", "model.cell: 'transformer' is not one of lstm, gru, simple_rnn"),
        ("model.colour", "red", "model.colour: unknown field"),
        ("dataset", "mnist", "dataset: 'mnist' is not one of"),
        ("precision.kernel.integer", 9, "precision.kernel.integer: 9 integer bits do not fit in 8 bits"),
        ("precision.bias.bits", 1, "precision.bias.bits: 1 is out of range [2, 32]"),
        ("precision.bias.bits", "eight", "precision.bias.bits: expected an integer, got 'eight'"),
        ("precision.dense_bias", ..., "precision.dense_bias: missing required field"),
        ("model.units", [8, 8, 8, 8], "model.units: expected 1 to 3 layer sizes"),
        ("model.activation", {"function": "relu"}, "model.activation.function: 'relu' is not one of tanh"),
        ("training", {"optimizer": "lbfgs"}, "training.optimizer: 'lbfgs' is not one of adam, sgd"),
        ("training", {"epoch": 3}, "training.epoch: unknown field"),
    ],
)
def test_errors_name_file_field_and_value(field, value, message):
    with pytest.raises(CodesignError) as err:
        parse_spec(_with(field, value), source="models/m/spec.yml")
    text = str(err.value)
    assert text.startswith("models/m/spec.yml: ")
    assert message in text
    assert "\n" not in text


def test_simple_rnn_has_no_gate_activation():
    data = _with("model.cell", "simple_rnn")
    data["model"]["recurrent_activation"] = "sigmoid"
    with pytest.raises(CodesignError, match="model.recurrent_activation: a simple_rnn cell has no gates"):
        parse_spec(data)


def test_malformed_yaml_names_line(tmp_path):
    path = tmp_path / "m" / "spec.yml"
    path.parent.mkdir()
    path.write_text("dataset: japanese_vowels\nmodel: [cell: lstm\n")
    with pytest.raises(CodesignError, match=r"spec.yml: line \d+: malformed YAML"):
        load_spec(path)


def test_missing_file(tmp_path):
    with pytest.raises(CodesignError, match="no such spec file"):
        load_spec(tmp_path / "nope.yml")


def test_compression_section():
    data = _with("model.cell", "lstm")
    data["compression"] = {"method": "balanced", "sparsity": 0.9, "num_pe": 8, "base": "jvowels_lstm"}
    c = parse_spec(data).compression
    assert (c.method, c.sparsity, c.num_pe, c.base) == ("balanced", 0.9, 8, "jvowels_lstm")
    data["compression"] = {"method": "balanced", "sparsity": 0.9}
    with pytest.raises(CodesignError, match="compression.num_pe: balanced pruning needs"):
        parse_spec(data)
    data["compression"] = {"method": "block", "sparsity": 0.75, "block": [4]}
    with pytest.raises(CodesignError, match=r"compression.block: expected \[rows, cols\], got \[4\]"):
        parse_spec(data)
