"""Engine scaling benchmark: synthetic balanced-90% LSTMs from H = 32 to 1024 on 8, 16 and 32 PEs.

Writes build/bench/engine_scale.json (a list of rows, one per (units, num_pe)) and prints the markdown
table (`--table` prints it again from the JSON without running anything, its GOPS at the latest
place-and-route run's Fmax; the README's table is that output).

The models: one LSTM layer of H units on X = 39 inputs (ESE's TIMIT front-end: 13 MFCCs with deltas and
delta-deltas) and a 16-class dense head; random weights (`codesign.engine.synthetic.random_model`, dense,
on the 2^-7 grid), then ESE's load-balance-aware pruning (`codesign.compress.pruning.balanced_prune_mask`)
to 90% of the gate matrix W = [W_x W_h] and of the head for the row -> PE mapping of that NumPe
(`pe_of_rows`, so the rows follow the mapping if it changes), encoded by the real encoder (12-bit
weights, 4-bit relative index with padding words: ESE's format). The inputs are N(0, 1) sequences in the
engine's input type; activations that happen to be zero (x_t words and q_state(h_{t-1}) entries) are
skipped by the engine and counted in `zero_activation_fraction`.

Every row: the cycle model (`codesign.engine.cycles.predict_cycles`) on the golden trace
(`codesign.engine.golden.run_golden`) of `--sequences` x `--steps`. At NumPe 16 and H <= `--rtl-max-units`
(1024): Verilator RTL through `codesign.engine.sim_command.simulate` (the `codesign sim` machinery) on the
same sequences: logit mismatches against the golden model and every RTL counter minus the cycle model
(`cycle_model_error`, the largest absolute difference of the step and matrix cycle totals and the per-PE
busy counts). Yosys (no place-and-route; `codesign.synth.yosys.run_yosys`, cached in
build/bench/engine_scale/yosys/ by RTL hash and parameters, as bench/fit_estimator.py caches) for ku060
at H = 1024 and 512, NumPe 32 (`--ku060`) and for ulx3s-85f at NumPe 16 over `--ecp5-units` (128, the largest
H that fits, and 256, the first that does not: block RAM).

Dense-equivalent throughput: 2 ops per MAC of the dense 4H x (X + H) gate matrix per step, over the cycles
per step: ops per cycle (= GOPS per MHz x 1000), per PE, GOPS at the ECP5 place-and-route Fmax when a
build/synth/*-ulx3s-85f/report.json exists, and GOPS at ESE's 200 MHz.

Exit status 1 when an RTL run fails or mismatches the golden model (and with --strict when an RTL counter
differs from the cycle model; otherwise a warning).

Run: .venv/bin/python bench/engine_scale.py [--quick] [--no-rtl] [--no-yosys] [--strict] [--table]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from codesign.outputs import build_root

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
OUT = build_root() / "bench" / "engine_scale.json"
WORK = build_root() / "bench" / "engine_scale"
INPUTS = 39  # ESE's TIMIT front-end: 39 MFCC features per frame
CLASSES = 16
SPARSITY = 0.9
UNITS = (32, 64, 128, 256, 512, 1024)
PES = (8, 16, 32)
RTL_PES = 16
# ESE (Han et al., FPGA 2017, abstract): XCKU060 at 200 MHz, 282 GOPS on the sparse LSTM, 2.52 TOPS on the
# dense one. 282 GOPS at 200 MHz is 1410 ops (705 MACs) per cycle: ESE has far more multipliers than this
# engine's one MAC per PE, so the comparison is per MHz; a per-multiplier one needs ESE's MAC count.
ESE = {
    "board": "ku060",
    "mhz": 200.0,
    "units": 1024,
    "gops_sparse": 282.0,
    "gops_dense": 2520.0,
}
COMPARE_MHZ = 200.0  # the GOPS column's clock when no place-and-route Fmax is found: ESE's, not measured


def log(msg: str) -> None:
    print(f"[engine_scale {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def scale_model(units: int, num_pe: int, seed: int):
    """A random dense LSTM pruned to 90% with ESE's balanced pruning for `num_pe` PEs."""
    import numpy as np

    from codesign.compress.pruning import balanced_prune_mask
    from codesign.engine.encoder import EngineModel, LayerWeights, gate_matrix
    from codesign.engine.synthetic import random_model

    m = random_model(seed, INPUTS, (units,), CLASSES, density=1.0, patterns=False)
    layers = []
    for layer in m.layers:
        w = gate_matrix(layer)  # (4H, X + H)
        w = np.where(balanced_prune_mask(w, SPARSITY, num_pe), w, 0.0)
        kernel, recurrent = w[:, : layer.inputs].T, w[:, layer.inputs :].T
        layers.append(LayerWeights(np.ascontiguousarray(kernel), np.ascontiguousarray(recurrent), layer.bias))
    head = m.dense_kernel.T  # (classes, H)
    head = np.where(balanced_prune_mask(head, SPARSITY, num_pe), head, 0.0).T
    return EngineModel(
        name=f"scale-h{units}-pe{num_pe}",
        layers=tuple(layers),
        dense_kernel=np.ascontiguousarray(head),
        dense_bias=m.dense_bias,
        activation=m.activation,
        recurrent_activation=m.recurrent_activation,
        weight_frac=m.weight_frac,
        bias_type=m.bias_type,
    )


def build_image(units: int, num_pe: int, seed: int):
    from codesign.engine import EngineConfig, encode

    return encode(scale_model(units, num_pe, seed), EngineConfig(num_pe=num_pe))


def inputs_for(image, sequences: int, steps: int, seed: int):
    import numpy as np

    from codesign.engine import quantize_input

    rng = np.random.default_rng(seed)
    return quantize_input(image, rng.normal(0.0, 1.0, (sequences, steps, image.inputs)))


def ecp5_fmax() -> tuple[float | None, str | None]:
    """Place-and-route Fmax of the engine from a `codesign synth ... --board ulx3s-85f` report, if any."""
    reports = sorted((build_root() / "synth").glob("*-ulx3s-85f/report.json"))
    for report in reports:
        fmax = json.loads(report.read_text()).get("fmax_mhz")
        if fmax:
            return float(fmax), str(report)
    return None, None


def model_row(image, x_raw) -> tuple[dict, object, object]:
    import numpy as np

    from codesign.engine import predict_cycles, run_golden

    trace = run_golden(image, x_raw, x_is_raw=True)
    model = predict_cycles(image, trace)
    units, x = image.units[0], image.inputs
    zero_x = float(np.mean(x_raw == 0))
    zero_h = float(np.mean(trace.h_state[0][:, :-1] == 0)) if trace.h_state[0].shape[1] > 1 else 0.0
    zero_all = float(
        (np.sum(x_raw == 0) + np.sum(trace.h_state[0][:, :-1] == 0))
        / (x_raw.size + trace.h_state[0][:, :-1].size)
    )
    words = [len(w) for w in image.pe_weight]
    nnz_layer = int(image.layers[0].nnz_per_pe.sum())
    dense_ops = 2 * 4 * units * (x + units)  # per step
    row = {
        "units": units,
        "inputs": x,
        "classes": image.classes,
        "num_pe": image.num_pe,
        "sequences": int(x_raw.shape[0]),
        "steps": int(x_raw.shape[1]),
        "layer_nonzeros": nnz_layer,
        "layer_density": nnz_layer / (4 * units * (x + units)),
        "weight_depth": image.depth,
        "padding_words": int(sum(int((w == 0).sum()) for w in image.pe_weight)),
        "words_per_pe_max": max(words),
        "words_per_pe_min": min(words),
        "cycles_per_step": model.cycles_per_step,
        "matrix_cycles_per_step": model.matrix_cycles_per_step,
        "eltwise_cycles_per_step": model.cycles_per_step - model.matrix_cycles_per_step,
        "ideal_cycles_per_step": model.ideal_cycles_per_step,
        "dense_activation_ideal_cycles_per_step": model.dense_activation_ideal_cycles_per_step,
        "step_efficiency": model.ideal_cycles_per_step / model.cycles_per_step,
        "pe_utilization": model.pe_utilization,
        "zero_activation_fraction": zero_all,
        "zero_x_fraction": zero_x,
        "zero_h_state_fraction": zero_h,
        "dense_ops_per_step": dense_ops,
        "dense_ops_per_cycle": dense_ops / model.cycles_per_step,
        "dense_gops_per_mhz": dense_ops / model.cycles_per_step / 1e3,
        "dense_ops_per_cycle_per_pe": dense_ops / model.cycles_per_step / image.num_pe,
        "cycle_model_params": model.params,
        "rtl_sequences": 0,
        "mismatches": None,
        "cycle_model_error": None,
    }
    return row, model, trace


def rtl_row(image, x_raw, model, folder: Path) -> dict:
    """The Verilator run of the row's sequences: mismatches, RTL counters minus the cycle model."""
    import numpy as np

    from codesign.engine import write_image
    from codesign.engine.sim_command import simulate

    img_dir = folder / "image"
    shutil.rmtree(img_dir, ignore_errors=True)
    img_dir.mkdir(parents=True)
    write_image(image, img_dir)
    t0 = time.perf_counter()
    # emit_h: the testbench checks every h_t (a difference fails the run) and counts logit mismatches
    out = simulate(img_dir, x_raw, folder / "run", stall=False, emit_h=True)
    wall = time.perf_counter() - t0
    # the counters of a run with h_t output (which the RTL overlaps with the next matrix phase)
    from codesign.engine import predict_cycles, run_golden

    model = predict_cycles(image, run_golden(image, x_raw, x_is_raw=True), emit_h=True)
    tb, perf = out["tb"], out["tb"]["perf"]
    steps = perf["steps"]
    diffs = {
        "steps": steps - model.sequences * model.steps,
        "step_cycles_total": perf["step_cycles_total"] - round(model.cycles_per_step * steps),
        "matrix_cycles_total": perf["matrix_cycles_total"] - round(model.matrix_cycles_per_step * steps),
        "pe_busy": int(
            np.max(
                np.abs(
                    np.asarray(perf["pe_busy"])
                    - np.round(np.asarray(model.busy_cycles_per_pe_per_step) * steps)
                )
            )
        ),
    }
    return {
        "rtl_sequences": int(x_raw.shape[0]),
        "rtl_checked": "every h_t and every logit, bit for bit",
        "mismatches": int(tb["mismatches"]),
        "rtl_cycles_per_step": perf["step_cycles_total"] / steps,
        "rtl_matrix_cycles_per_step": perf["matrix_cycles_total"] / steps,
        "cycle_model_error": max(abs(v) for v in diffs.values()),
        "cycle_model_differences": diffs,
        "rtl_parameters": {k: str(v) for k, v in out["params"].items()},
        "rtl_build_seconds": round(out["build_seconds"], 1),
        "rtl_run_seconds": round(out["run_seconds"], 1),
        "rtl_wall_seconds": round(wall, 1),
    }


# --- Yosys ---------------------------------------------------------------------------------------------


def yosys_counts(image, board_name: str, cache: Path) -> dict:
    """Yosys cell counts of sparse_lstm_engine built for `image` on `board_name` (cached by RTL hash and
    parameters; the MemDir contents do not change the counts and are left out, as bench/fit_estimator.py
    does)."""
    import threading

    from codesign.engine.sim_command import engine_build_params
    from codesign.filelist import read_file_list
    from codesign.resources import ENGINE_FILE_LIST
    from codesign.sweep.fit import rtl_fingerprint
    from codesign.synth import yosys
    from codesign.synth.boards import get_board
    from codesign.synth.command import over_budget

    board = get_board(board_name)
    file_list = read_file_list(ENGINE_FILE_LIST)
    params = {k: v for k, v in engine_build_params(image).items()}
    rtl_hash = rtl_fingerprint([*file_list.files, *file_list.headers()])
    key = hashlib.sha256(
        json.dumps({"params": params, "rtl": rtl_hash, "family": board.family}, sort_keys=True).encode()
    ).hexdigest()[:16]
    folder = cache / board.family / key
    done = folder / "result.json"
    if done.is_file():
        record = json.loads(done.read_text())
        record["cached"] = True
        return record
    stage = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(stage, ignore_errors=True)
    peak = {"kb": 0}
    stop = threading.Event()

    def watch() -> None:  # peak resident memory of the processes running in the stage folder (Yosys)
        while not stop.wait(1.0):
            total = 0
            for proc in Path("/proc").iterdir():
                try:
                    if proc.name.isdigit() and Path(os.readlink(proc / "cwd")) == stage.resolve():
                        status = (proc / "status").read_text()
                        total += int(status.split("VmRSS:")[1].split()[0])
                except (OSError, IndexError, ValueError):
                    continue
            peak["kb"] = max(peak["kb"], total)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    try:
        result = yosys.run_yosys(
            file_list.files,
            "sparse_lstm_engine",
            board.family,
            stage,
            params=params,
            defines=file_list.defines,
            include_dirs=file_list.include_dirs,
            netlist=False,
            progress=False,
        )
    except Exception as exc:  # cached too (the same RTL fails the same way): how long, how much memory
        record = {
            "board": board.name,
            "units": image.units[0],
            "num_pe": image.num_pe,
            "error": f"{type(exc).__name__}: {exc}".replace(str(stage), str(folder)),
            "yosys_seconds": round(time.perf_counter() - t0, 1),
            "yosys_peak_rss_mb": round(peak["kb"] / 1024),
            "params": params,
            "rtl_hash": rtl_hash,
        }
        stage.mkdir(parents=True, exist_ok=True)
        (stage / "result.json").write_text(json.dumps(record, indent=2) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        stage.rename(folder)
        return record | {"cached": False}
    finally:
        stop.set()
    seconds = time.perf_counter() - t0
    counts = result.counts.as_dict()
    used = {k: counts[k] for k in ("lut", "ff", "bram", "dsp")}
    over = over_budget(used, board.totals)
    record = {
        "board": board.name,
        "part": board.part,
        "units": image.units[0],
        "num_pe": image.num_pe,
        "counts": used,
        "available": board.totals,
        "bram_unit": board.bram_unit,
        "fits": not over,
        "over": over,
        "yosys_seconds": round(seconds, 1),
        "yosys_peak_rss_mb": round(peak["kb"] / 1024),  # sampled every second
        "params": params,
        "rtl_hash": rtl_hash,
        "yosys": result.version,
        "note": "Yosys post-synthesis cell counts (no place-and-route)",
    }
    (stage / "result.json").write_text(json.dumps(record, indent=2) + "\n")
    shutil.rmtree(folder, ignore_errors=True)
    stage.rename(folder)
    record["cached"] = False
    return record


# --- table -----------------------------------------------------------------------------------------------


def _f(v, fmt: str = ".1f") -> str:
    return "-" if v is None else format(v, fmt)


def table_lines(result: dict) -> list[str]:
    rows = result["rows"]
    fmax = result.get("ecp5_fmax_mhz")
    # GOPS at the measured ECP5 clock when a place-and-route report exists, and at ESE's clock beside it
    clocks = ([fmax] if fmax else []) + [COMPARE_MHZ]
    heads = ([f"GOPS at {fmax:g} MHz (ECP5 Fmax)"] if fmax else []) + [f"GOPS if at {COMPARE_MHZ:g} MHz"]
    lines = [
        "| H | NumPe | cycles/step | ideal | step efficiency | PE utilization | zero acts "
        f"| RTL seqs x steps "
        f"| mismatches | RTL - model | dense-equiv. GOPS/MHz | ops/cycle/PE | {' | '.join(heads)} |",
        "| --- " * (12 + len(heads)) + "|",
    ]
    for r in rows:
        rtl = f"{r['rtl_sequences']} x {r['steps']}" if r["rtl_sequences"] else "-"
        gops = " | ".join(f"{r['dense_gops_per_mhz'] * clock:.1f}" for clock in clocks)
        lines.append(
            f"| {r['units']} | {r['num_pe']} | {r['cycles_per_step']:.1f} | "
            f"{r['ideal_cycles_per_step']:.1f} | "
            f"{r['step_efficiency']:.3f} | {r['pe_utilization']:.3f} | {r['zero_activation_fraction']:.3f} | "
            f"{rtl} | {_f(r['mismatches'], 'd')} | {_f(r['cycle_model_error'], 'd')} | "
            f"{r['dense_gops_per_mhz']:.3f} | {r['dense_ops_per_cycle_per_pe']:.2f} | {gops} |"
        )
    if fmax:
        lines += ["", f"ECP5 Fmax: {fmax:g} MHz, from {result.get('ecp5_fmax_source')}."]
    ese = result["ese"]
    ese_per_mhz = ese["gops_dense"] / ese["mhz"]
    lines += [
        "",
        f"ESE (XCKU060, {ese['mhz']:g} MHz, {ese['units']} cells): {ese['gops_sparse']:g} GOPS on the sparse "
        f"model, {ese['gops_dense']:g} GOPS dense-equivalent = {ese_per_mhz:.1f} dense-equivalent GOPS/MHz "
        f"({ese['gops_sparse'] * 1e3 / ese['mhz']:.0f} sparse ops per cycle: many more multipliers than one "
        "MAC per PE, so compare per MHz).",
    ]
    synth = result.get("synth", [])
    if synth:
        lines += [
            "",
            "| board | H | NumPe | LUT | FF | BRAM | DSP | fits | Yosys s | peak MB |",
            "| --- " * 10 + "|",
        ]
        for s in synth:
            if "error" in s:
                err = s["error"].split(" (log:")[0]
                lines.append(
                    f"| {s['board']} | {s['units']} | {s['num_pe']} | failed: {err} | | | | | "
                    f"{s.get('yosys_seconds', 0):.0f} | {s.get('yosys_peak_rss_mb') or '-'} |"
                )
                continue
            c, a, unit = s["counts"], s["available"], s["bram_unit"].split(" (")[0]
            lines.append(
                f"| {s['board']} | {s['units']} | {s['num_pe']} | {c['lut']:,} / {a['lut']:,} | "
                f"{c['ff']:,} / {a['ff']:,} | {c['bram']:g} / {a['bram']:g} {unit} | "
                f"{c['dsp']} / {a['dsp']} | {'yes' if s['fits'] else 'no: ' + s['over']} | "
                f"{s['yosys_seconds']:.0f} | {s.get('yosys_peak_rss_mb') or '-'} |"
            )
    return lines


def synth_job(board: str, units: int, pes: int, args) -> dict:
    image = build_image(units, pes, args.seed + units)
    log(f"Yosys {board} H {units} NumPe {pes} ...")
    rec = yosys_counts(image, board, args.work / "yosys")
    if "error" in rec:
        log(f"Yosys {board} H {units} NumPe {pes} FAILED after {rec['yosys_seconds']} s: {rec['error']}")
    else:
        log(
            f"Yosys {board} H {units} NumPe {pes}: {rec['counts']} fits {rec['fits']} "
            f"({rec['yosys_seconds']} s{', cached' if rec['cached'] else ''})"
        )
    return rec


# --- main --------------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=list(UNITS))
    parser.add_argument("--pes", type=int, nargs="+", default=list(PES))
    parser.add_argument("--sequences", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rtl-max-units", type=int, default=1024, help="RTL for H up to this")
    parser.add_argument("--rtl-pes", type=int, nargs="+", default=[RTL_PES], help="RTL at these NumPe")
    parser.add_argument("--no-rtl", action="store_true")
    parser.add_argument("--no-yosys", action="store_true")
    parser.add_argument(
        "--ku060",
        type=int,
        nargs="*",
        default=[1024, 32, 512, 32],
        metavar="H PES",
        help="(H, NumPe) pairs for ku060 (default 1024 32 512 32)",
    )
    parser.add_argument(
        "--ecp5-units", type=int, nargs="*", default=[128, 256], help="ulx3s-85f Yosys, NumPe 16"
    )
    parser.add_argument("--quick", action="store_true", help="H 32 and 64, NumPe 8 and 16, no Yosys")
    parser.add_argument("--seed", type=int, default=2017)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--work", type=Path, default=WORK)
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when an RTL counter differs from the cycle model"
    )
    parser.add_argument("--table", action="store_true", help="print the markdown table of --out and exit")
    args = parser.parse_args()
    if args.table:
        result = json.loads(args.out.read_text())
        # GOPS at the latest place-and-route run's Fmax (the rows' cycles do not depend on the clock), else
        # at the one the run recorded
        fmax, source = ecp5_fmax()
        if fmax:
            result["ecp5_fmax_mhz"], result["ecp5_fmax_source"] = fmax, source
        print("\n".join(table_lines(result)))
        return 0
    if args.quick:
        args.units, args.pes, args.no_yosys = [32, 64], [8, 16], True

    t_start = time.perf_counter()
    rows = []
    # Yosys runs in the background (two at a time) while the rows (cycle model, Verilator) run.
    pool = ThreadPoolExecutor(max_workers=2)
    synth_jobs = []
    if not args.no_yosys:
        pairs = list(zip(args.ku060[::2], args.ku060[1::2], strict=True))
        jobs = [("ku060", u, p) for u, p in pairs if u]
        jobs += [("ulx3s-85f", u, RTL_PES) for u in args.ecp5_units]
        synth_jobs = [pool.submit(synth_job, board, u, p, args) for board, u, p in jobs]
    for units in args.units:
        for pes in args.pes:
            t0 = time.perf_counter()
            image = build_image(units, pes, args.seed + units)
            x_raw = inputs_for(image, args.sequences, args.steps, args.seed)
            row, model, _ = model_row(image, x_raw)
            row["model_seconds"] = round(time.perf_counter() - t0, 1)
            log(
                f"H {units:4d} NumPe {pes:2d}: cycle model {row['cycles_per_step']:.1f} cycles/step "
                f"(ideal {row['ideal_cycles_per_step']:.1f}, PE util {row['pe_utilization']:.3f}) "
                f"[{row['model_seconds']:.1f} s]"
            )
            if not args.no_rtl and pes in args.rtl_pes and units <= args.rtl_max_units:
                log(f"H {units:4d} NumPe {pes:2d}: Verilator, {args.sequences} x {args.steps} steps ...")
                try:
                    row |= rtl_row(image, x_raw, model, args.work / "rtl" / f"h{units}-pe{pes}")
                    log(
                        f"  {row['mismatches']} mismatches, RTL - model {row['cycle_model_error']}, build "
                        f"{row['rtl_build_seconds']} s, run {row['rtl_run_seconds']} s"
                    )
                except Exception as exc:  # keep the other rows; the JSON says what failed
                    row["rtl_error"] = f"{type(exc).__name__}: {exc}"
                    log(f"  RTL FAILED: {row['rtl_error']}")
            rows.append(row)

    while not all(f.done() for f in synth_jobs):  # a line a minute while only Yosys is left
        log(f"Yosys: {sum(f.done() for f in synth_jobs)} of {len(synth_jobs)} runs done, waiting ...")
        wait(synth_jobs, timeout=60)
    synth = [f.result() for f in synth_jobs]
    pool.shutdown()

    fmax, fmax_source = ecp5_fmax()
    for r in rows:
        r["ecp5_fmax_mhz"] = fmax
        r["dense_gops_at_fmax"] = None if fmax is None else r["dense_gops_per_mhz"] * fmax
    result = {
        "rows": rows,
        "synth": synth,
        "ese": ESE,
        "ecp5_fmax_mhz": fmax,
        "ecp5_fmax_source": fmax_source,
        "seconds": round(time.perf_counter() - t_start, 1),
        "note": f"X = {INPUTS} (ESE's TIMIT front-end), {CLASSES} classes, balanced {SPARSITY:.0%} "
        "pruning per "
        "NumPe; dense-equivalent ops = 2 x 4H x (X + H) per step; cycles from the cycle model (RTL rows: "
        "equal to the RTL counters when cycle_model_error is 0)",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print("\n".join(table_lines(result)))
    log(f"{len(rows)} rows in {result['seconds']:.0f} s -> {args.out}")
    off = [r for r in rows if r["cycle_model_error"]]
    for r in off:
        log(
            f"WARNING: H {r['units']} NumPe {r['num_pe']}: RTL counters differ from the cycle model "
            f"{r['cycle_model_differences']}"
        )
    bad = [r for r in rows if r.get("rtl_error") or r["mismatches"]]
    return 1 if bad or (args.strict and off) else 0


if __name__ == "__main__":
    sys.exit(main())
