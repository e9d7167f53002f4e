"""codesign.sweep.fit: the fitting math on synthetic data with a known model, the held-out split, and the
committed engine_cost.json against what the estimator computes from its own stored points (no Yosys)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from codesign.sweep import fit
from codesign.sweep.estimate import (
    COST_FILE,
    DERIVED,
    FITTED,
    RESOURCES,
    EngineCostModel,
    EngineGeometry,
    engine_estimate,
    engine_memories,
    estimate_counts,
    features,
)


def _synthetic_points(coefficients: dict) -> list[dict]:
    """The design of experiments 'measured' by a known model (counts = the model's estimate)."""
    points = []
    for c in fit.design_of_experiments():
        counts = estimate_counts(c.geometry(), coefficients)
        points.append(fit.measured_point(c, counts, 0.0))
    return points


def _known_model(rng: np.random.Generator) -> dict:
    g = fit.design_of_experiments()[0].geometry()
    f = features(g)
    coefficients = {r: {k: float(rng.uniform(0.5, 20.0)) for k in f[r]} for r in FITTED}
    for r in DERIVED:  # each derived group kept or dropped
        coefficients[r] = {k: float(rng.integers(0, 2)) for k in f[r]}
    return coefficients


def test_fit_coefficients_recovers_a_linear_model():
    rng = np.random.default_rng(0)
    rows = [{"a": float(a), "b": float(b)} for a, b in rng.uniform(1, 100, size=(12, 2))]
    truth = {"a": 3.0, "b": 5.5}
    measured = [truth["a"] * r["a"] + truth["b"] * r["b"] for r in rows]
    got = fit.fit_coefficients(rows, measured)
    assert got == pytest.approx(truth, rel=1e-9)


def test_fit_coefficients_stay_non_negative():
    rows = [{"a": float(k), "b": float(k * k)} for k in range(1, 9)]
    measured = [10.0 * r["a"] - 0.1 * r["b"] for r in rows]  # the unconstrained optimum has b < 0
    got = fit.fit_coefficients(rows, measured)
    assert min(got.values()) >= 0.0


def test_fit_reproduces_a_known_model_on_held_out_points():
    truth = _known_model(np.random.default_rng(1))
    points = _synthetic_points(truth)
    result = fit.fit_and_evaluate(points)
    held = result["heldout"]["summary"]
    for r in FITTED:
        assert held[r]["max_rel"] == pytest.approx(0.0, abs=1e-6), r
    for r in DERIVED:
        assert held[r]["max_abs"] == pytest.approx(0.0, abs=1e-9), r
    # derived groups that are non-zero somewhere in training are identified exactly
    train, _ = fit.split(points)
    for r in DERIVED:
        for name, keep in truth[r].items():
            if any(features(EngineGeometry.from_dict(p["geometry"]))[r][name] for p in train):
                assert result["coefficients"][r][name] == keep, (r, name)


def test_heldout_levels_are_disjoint_and_inside_the_training_range():
    configs = fit.design_of_experiments()
    train = [c for c in configs if c.role == "train"]
    held = [c for c in configs if c.role == "heldout"]
    assert train and held and len({c.name for c in configs}) == len(configs)
    for name in fit.FACTORS:
        tv = {getattr(c, name) for c in train}
        hv = {getattr(c, name) for c in held}
        probe_levels = {pr[name] for pr in fit.PROBES}
        assert hv <= set(fit.LEVELS[name][1]) and tv <= set(fit.LEVELS[name][0]) | probe_levels
        assert min(tv) <= min(hv) and max(hv) <= max(tv), name  # interpolation, not extrapolation
        if name != "layers":
            assert not tv & hv, name
    # both corners of the training range are synthesized
    for pick in (min, max):
        corner = {k: pick(v[0]) for k, v in fit.LEVELS.items()}
        assert any(all(getattr(c, k) == v for k, v in corner.items()) for c in train)


def test_training_separates_odd_pe_counts_from_odd_local_rows():
    """Every pairing of (NumPe a power of 2, LocalRows a power of 2) occurs in training, so the fit can tell
    the two costs apart (the held-out points pair a NumPe of 3, 6, 12 with LocalRows a power of 2)."""

    def pow2(n: int) -> bool:
        return n & (n - 1) == 0

    pairings = {
        (pow2(c.num_pe), pow2(c.geometry().max_local_rows))
        for c in fit.design_of_experiments()
        if c.role == "train"
    }
    assert pairings == {(True, True), (True, False), (False, True), (False, False)}


def test_overlapping_levels_are_refused():
    points = _synthetic_points(_known_model(np.random.default_rng(2)))
    assert fit.check_disjoint_levels(points) == []
    leaked = [dict(p) for p in points]
    first_train = next(p for p in leaked if p["role"] == "train")
    held = next(p for p in leaked if p["role"] == "heldout")
    held["config"] = {**held["config"], "num_pe": first_train["config"]["num_pe"]}
    assert fit.check_disjoint_levels(leaked) == ["num_pe"]
    with pytest.raises(ValueError, match="num_pe"):
        fit.fit_and_evaluate(leaked)


def test_geometry_shape_is_derived_when_not_given():
    for c in fit.design_of_experiments():
        g = c.geometry()
        bare = dataclasses.replace(g, inputs=0, units=0, classes=0)
        assert bare.shape() == (c.inputs, c.units, c.classes)
        assert fit.rtl_parameters(bare) == c.rtl_parameters()


# ---- the committed fit --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads(COST_FILE.read_text())


def test_committed_points_are_the_design_of_experiments(committed):
    by_name = {c.name: c for c in fit.design_of_experiments()}
    assert {p["name"] for p in committed["points"]} == set(by_name)
    for p in committed["points"]:
        c = by_name[p["name"]]
        assert p["role"] == c.role
        assert p["geometry"] == c.geometry().as_dict()


def test_committed_errors_are_what_the_estimator_computes(committed):
    train, held = fit.split(committed["points"])
    recomputed = fit.errors(held, committed["coefficients"])["summary"]
    stored = committed["heldout"]["summary"]
    assert set(recomputed) == set(stored) == set(RESOURCES)
    for r in RESOURCES:
        assert set(recomputed[r]) == set(stored[r])
        for key, value in stored[r].items():
            assert recomputed[r][key] == (value if value is None else pytest.approx(value)), (r, key)
    # the coefficients are the fit of the stored training points
    refit = {**fit.fit(committed["points"]), **fit.fit_derived(committed["points"])}
    for r in RESOURCES:
        assert refit[r] == pytest.approx(committed["coefficients"][r], rel=1e-6, abs=1e-9), r
    loo = fit.leave_one_out(committed["points"])
    for r, stored_loo in committed["train_leave_one_out"].items():
        assert loo[r] == pytest.approx(stored_loo, rel=1e-6), r


def test_engine_estimate_uses_the_committed_coefficients(committed):
    model = EngineCostModel.load(COST_FILE)
    for p in committed["points"]:
        g = EngineGeometry.from_dict(p["geometry"])
        counts = estimate_counts(g, committed["coefficients"])
        res = engine_estimate(g)
        assert (res.lut, res.ff, res.bram_18k, res.dsp) == tuple(round(counts[r]) for r in RESOURCES)
        assert engine_estimate(g, cost=model) == res


def test_report_section_lists_every_resource(committed):
    lines = fit.report_lines()
    table = [line for line in lines if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in table[2:]] == list(RESOURCES)
    held = committed["heldout"]["summary"]
    assert f"{100 * held['lut']['max_rel']:.1f}%" in table[2]


def test_memory_rule_matches_yosys_choices(committed):
    """xc7_memory maps every memory where Yosys' memory_libmap did, on every synthesized configuration."""
    checked = 0
    for p in committed["points"]:
        mems = engine_memories(EngineGeometry.from_dict(p["geometry"]))
        for name, yosys_kind in p["memories"].items():
            if yosys_kind == "ff":
                continue
            ours = "bram" if mems[name][1].bram18 else "lutram"
            assert ours == yosys_kind, (p["name"], name)
            checked += 1
    assert checked >= 4 * len(committed["points"])  # weights, pointers, bias and c at least, every point


def test_over_bar_flags_relative_and_zero_count_errors():
    summary = {"max_rel": 0.05, "zero_points_max_abs": None}
    result = {"heldout": {"summary": {"lut": dict(summary), "bram_18k": dict(summary)}}}
    assert fit.over_bar(result, 0.10) == []
    result["heldout"]["summary"]["lut"]["max_rel"] = 0.12
    result["heldout"]["summary"]["bram_18k"]["zero_points_max_abs"] = 1.0
    assert fit.over_bar(result, 0.10) == ["lut", "bram_18k"]


def test_accumulator_depth_follows_the_rtl(tmp_path):
    """acc_mem's depth as csc_pe.sv declares it (two banks of 2^clog2(LocalRows) rows); an RTL whose
    declaration changed is refused rather than priced."""
    from codesign.sweep.estimate import acc_depth, check_acc_declaration

    check_acc_declaration()  # the shipped RTL has the declaration acc_depth restates
    assert [acc_depth(n) for n in (1, 2, 3, 4, 5, 16, 17)] == [4, 4, 8, 8, 16, 32, 64]
    bad = tmp_path / "bad.sv"
    bad.write_text("logic signed [AccWidth-1:0] acc_mem [3 * LocalRows];")
    with pytest.raises(ValueError, match="acc_mem's declaration changed"):
        check_acc_declaration.__wrapped__(bad)


def test_split_multiply_takes_two_dsp_per_pe():
    """Above 18 activation bits csc_pe multiplies in two parts (g_split_mul), one DSP48E1 each, unless a
    part's result is under 9 bits: Yosys keeps it in LUTs (21-bit act x 4-bit weight: 4 x 4 bits)."""
    from codesign.sweep.estimate import derived_terms, features

    g = fit.design_of_experiments()[0].geometry()
    for act, weight, per_pe in ((16, 16, 1), (18, 16, 1), (19, 16, 2), (24, 16, 2), (21, 4, 1), (24, 4, 2)):
        wide = dataclasses.replace(g, act_width=act, weight_width=weight)
        assert derived_terms(wide)["dsp"]["dsp_pe_multipliers"] == g.num_pe * per_pe, (act, weight)
        soft = features(wide)["lut"]["soft_products"]
        assert (soft > 0) == (act > 18 and per_pe == 1), (act, weight)
