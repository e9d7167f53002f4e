"""bench/engine_scale.py's models and rows (the cycle model only: no Verilator, no Yosys)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "engine_scale.py"


@pytest.fixture(scope="module")
def scale():
    spec = importlib.util.spec_from_file_location("engine_scale", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("num_pe", [8, 16])
def test_balanced_90_percent_for_the_pe_mapping(scale, num_pe: int) -> None:
    image = scale.build_image(32, num_pe, seed=1)
    layer = image.layers[0]
    assert len(set(layer.nnz_per_pe.tolist())) == 1  # ESE's balance: equal non-zeros per PE
    assert 0.095 <= layer.nnz_per_pe.sum() / (4 * 32 * (scale.INPUTS + 32)) <= 0.1


def test_rows_and_table(scale, tmp_path: Path) -> None:
    image = scale.build_image(32, 8, seed=1)
    x_raw = scale.inputs_for(image, 2, 3, seed=1)
    row, model, _ = scale.model_row(image, x_raw)
    assert row["cycles_per_step"] == model.cycles_per_step and row["num_pe"] == 8
    assert row["step_efficiency"] == pytest.approx(row["ideal_cycles_per_step"] / row["cycles_per_step"])
    assert row["dense_ops_per_step"] == 2 * 4 * 32 * (scale.INPUTS + 32)
    assert np.isclose(row["dense_gops_per_mhz"] * 1e3, row["dense_ops_per_step"] / row["cycles_per_step"])
    result = {"rows": [row], "synth": [], "ese": scale.ESE, "ecp5_fmax_mhz": None}
    lines = scale.table_lines(json.loads(json.dumps(result)))
    assert lines[2].startswith("| 32 | 8 | ") and any("ESE" in line for line in lines)
    # with a place-and-route Fmax: GOPS at it, beside ESE's clock
    result |= {"ecp5_fmax_mhz": 90.73, "ecp5_fmax_source": "report.json"}
    lines = scale.table_lines(json.loads(json.dumps(result)))
    head, row_line = lines[0].split(" | "), lines[2].strip("| ").split(" | ")
    assert head[-2:] == ["GOPS at 90.73 MHz (ECP5 Fmax)", "GOPS if at 200 MHz |"]
    assert len(row_line) == len(head)
    assert float(row_line[-2]) == pytest.approx(row["dense_gops_per_mhz"] * 90.73, abs=0.05)
    assert float(row_line[-1]) == pytest.approx(row["dense_gops_per_mhz"] * 200, abs=0.05)
