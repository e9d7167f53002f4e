"""codesign.models.folder: the one writer of model folders, and the provenance it records."""

from __future__ import annotations

import json

import pytest
from conftest import assert_provenance, write_untrained_lstm

from codesign import cli
from codesign.errors import CodesignError
from codesign.models import folder as model_folder

pytest.importorskip("tensorflow")


def test_writes_a_complete_folder_with_provenance(tmp_path, monkeypatch):
    source, _, model, float_model = write_untrained_lstm(tmp_path / "base", qat_epochs=0)
    monkeypatch.setattr(model_folder, "_command", ["codesign", "compress", "x/spec.yml", "--pes", "8"])
    text = (source / "spec.yml").read_text()
    spec_path = model_folder.write_model_folder(tmp_path / "new", {"name": "new"}, model, float_model, text)
    assert spec_path == tmp_path / "new" / "spec.yml" and spec_path.read_text() == text
    files = sorted(p.name for p in (tmp_path / "new").iterdir())
    assert files == ["float.weights.h5", "metrics.json", "spec.yml", "weights.h5"]
    metrics = json.loads((tmp_path / "new" / "metrics.json").read_text())
    assert metrics["name"] == "new"
    assert_provenance(metrics)
    assert metrics["provenance"]["command"] == "codesign compress x/spec.yml --pes 8"


def test_a_spec_that_does_not_read_back_writes_nothing(tmp_path):
    source, _, model, float_model = write_untrained_lstm(tmp_path / "base", qat_epochs=0)
    with pytest.raises(CodesignError, match="new/spec.yml: model: missing"):
        model_folder.write_model_folder(tmp_path / "new", {}, model, float_model, "dataset: nope\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base"]


def test_the_cli_records_the_command_it_runs(monkeypatch):
    monkeypatch.setattr(model_folder, "_command", None)
    assert cli.main(["flow", "models/jvowels_lstm/spec.yml", "--pes", "0"]) == 2
    assert model_folder.current_command() == "codesign flow models/jvowels_lstm/spec.yml --pes 0"
