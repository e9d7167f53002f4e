"""pytest side of the board-top test: rtl/ulx3s_engine_top.sv (UART bridge + engine) under Verilator.

Two small random models (codesign.engine.synthetic): one baked into the build through MemDir, one loaded
over the UART. The UART runs at 8 clocks a bit (ClkHz / Baud) to keep the simulation short.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codesign import sim
from codesign.engine import EngineConfig, encode, load_image, quantize_input, random_model, write_image
from codesign.engine.params import MAXIMA_PARAMETERS, image_rtl_parameters
from codesign.engine.sim_command import engine_build_params

TOP = "ulx3s_engine_top"
FILE_LIST = sim.RTL_DIR / "ulx3s_engine.f"
HERE = Path(__file__).resolve().parent
UART_DIR = HERE.parent / "uart"  # uart_bfm.py
NUM_PE = 4
MAXIMA = MAXIMA_PARAMETERS


def write_model(folder: Path, seed: int, inputs: int, units: tuple[int, ...], classes: int, sequences: int):
    image = encode(random_model(seed, inputs, units, classes, density=0.35), EngineConfig(num_pe=NUM_PE))
    folder.mkdir(parents=True, exist_ok=True)
    write_image(image, folder)
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1.5, (sequences, 4, inputs))
    x[rng.random(x.shape) < 0.2] = 0.0
    np.save(folder / "x.npy", quantize_input(image, x))
    return load_image(folder)


def build_params(images) -> dict:
    """Types shared by the images; maxima that fit every one."""
    per_image = [engine_build_params(img) for img in images]
    types = [{k: v for k, v in p.items() if k not in MAXIMA} for p in per_image]
    assert all(t == types[0] for t in types), "the images need one build"
    maxima = {
        "MaxInputs": max(i.inputs for i in images),
        "MaxUnits": max(max(i.units) for i in images),
        "MaxClasses": max(i.classes for i in images),
        "MaxLayers": max(len(i.units) for i in images),
        "WeightDepth": max(i.depth for i in images),
        "AccWidth": max(i.types.acc.width for i in images),
    }
    baked = images[0]
    baked_params = image_rtl_parameters(baked)
    config = {k: baked_params[k] for k in ("NumInputs", "Units0", "Units1", "NumClasses", "NumLayers")}
    # MemDir is relative to the simulator's working directory (the build folder): the build stays cached.
    return {**types[0], **maxima, **config, "MemDir": '"image"', "ClkHz": 8_000_000, "Baud": 1_000_000}


def test_ulx3s_engine_top(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loaded = write_model(tmp_path / "loaded", 32, 4, (8,), 3, sequences=2)
    # The baked model's image must sit in the build folder; its shapes differ from the loaded one's.
    probe = write_model(tmp_path / "baked", 31, 5, (6,), 4, sequences=3)
    params = build_params([probe, loaded])
    build_dir = sim.build_dir_for(TOP, params)
    baked = write_model(build_dir / "image", 31, 5, (6,), 4, sequences=3)
    # Loading skips the tables (2 x 4096 beats): they must be the ones in the build.
    assert np.array_equal(loaded.sigmoid_table, baked.sigmoid_table)
    assert np.array_equal(loaded.tanh_table, baked.tanh_table)
    runner = sim.build(TOP, params, sim.rtl_sources(FILE_LIST), sim.rtl_include_dirs(FILE_LIST))
    case = {
        "baked": {"image": str(build_dir / "image"), "x": str(build_dir / "image" / "x.npy")},
        "loaded": {"image": str(tmp_path / "loaded"), "x": str(tmp_path / "loaded" / "x.npy")},
    }
    (tmp_path / "case.json").write_text(json.dumps(case))
    monkeypatch.syspath_prepend(str(UART_DIR))
    sim.run(runner, TOP, "ulx3s_engine_top_tb", HERE, {"ULX3S_CASE": str(tmp_path / "case.json")})


@pytest.mark.slow
def test_ulx3s_engine_top_jvowels(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bitstream's configuration: jvowels_lstm-balanced90 at 8 PEs with the parameters `codesign synth`
    gives the top (engine_parameters), 6 test sequences through the UART, logits equal the golden model's.
    The load test reloads the same model (weights, pointers, biases, configuration) and runs 2 more."""
    import shutil

    from codesign.engine.command import build_rtl
    from codesign.models.train import load_trained
    from codesign.spec import load_spec
    from codesign.synth.command import engine_parameters, top_parameters

    spec = load_spec(Path(__file__).resolve().parents[3] / "models" / "jvowels_lstm-balanced90" / "spec.yml")
    build_rtl(spec, EngineConfig(num_pe=8), tmp_path)
    image_dir = tmp_path / spec.name
    image = load_image(image_dir)
    declared = top_parameters(sim.RTL_DIR / f"{TOP}.sv", TOP)
    synth_params = engine_parameters(json.loads((image_dir / "params.json").read_text()), image_dir)
    params = {k: v for k, v in synth_params.items() if k in declared}
    params |= {"MemDir": '"image"', "ClkHz": 8_000_000, "Baud": 1_000_000}
    build_dir = sim.build_dir_for(TOP, params)
    shutil.copytree(image_dir, build_dir / "image", dirs_exist_ok=True)
    x_raw = quantize_input(image, load_trained(spec).dataset.x_test[:8])
    np.save(tmp_path / "x_baked.npy", x_raw[:6])
    np.save(tmp_path / "x_loaded.npy", x_raw[6:])
    runner = sim.build(TOP, params, sim.rtl_sources(FILE_LIST), sim.rtl_include_dirs(FILE_LIST))
    case = {
        "baked": {"image": str(build_dir / "image"), "x": str(tmp_path / "x_baked.npy")},
        "loaded": {"image": str(image_dir), "x": str(tmp_path / "x_loaded.npy")},
    }
    (tmp_path / "case.json").write_text(json.dumps(case))
    monkeypatch.syspath_prepend(str(UART_DIR))
    sim.run(runner, TOP, "ulx3s_engine_top_tb", HERE, {"ULX3S_CASE": str(tmp_path / "case.json")})
