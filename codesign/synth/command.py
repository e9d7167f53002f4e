"""`codesign synth SPEC --board B [--pes N]`: synthesize the sparse-LSTM engine for a board.

Xilinx boards: Vivado when it is on PATH, otherwise Yosys synth_xilinx counts (an estimate, no Fmax).
Lattice boards: Yosys synth_ecp5 / synth_ice40, then nextpnr for achieved Fmax and utilisation, and a
bitstream when the board's pin file places every port. Writes build/synth/<name>-<board>/report.json.
`synthesize()` is the generic driver (any file list, top, parameters) that the HLS and sweep stages reuse.
"""

from __future__ import annotations

import argparse
import json
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from codesign.errors import CodesignError
from codesign.filelist import FileList, read_file_list
from codesign.options import options_from_args
from codesign.outputs import build_root
from codesign.resources import ENGINE_FILE_LIST, RTL_DIR
from codesign.synth.boards import BOARDS, Board, get_board
from codesign.synth.ecp5_dspreg import DSP_REGS
from codesign.synth.pll import PllConfig, ecp5_pll

RESOURCE_KEYS = ("lut", "ff", "bram", "dsp")
ENGINE_TOP = "sparse_lstm_engine"


def _tool_params(params: Mapping[str, object], cwd: Path | None) -> dict[str, object]:
    """Path values become what the tool sees: relative to `cwd` for YoWASP, absolute for Vivado."""
    from codesign.synth.tools import tool_path

    out = {}
    for name, value in params.items():
        if isinstance(value, Path):
            value = tool_path(value, cwd) if cwd is not None else str(value.resolve())
        out[name] = value
    return out


def _clear(folder: Path) -> None:
    # staged_folder carries the previous run's files over; a stale bitstream must not survive a new run
    for item in folder.iterdir():
        if item.is_dir():
            shutil.rmtree(item)
        else:
            item.unlink()


def synthesize(
    files: Sequence[Path] | Path,
    top: str,
    params: Mapping[str, object] | None,
    board: Board | str,
    out_dir: Path,
    *,
    defines: Mapping[str, str | None] | None = None,
    include_dirs: Sequence[Path] = (),
    clock_port: str = "clk_i",
    clock_mhz: float | None = None,
    use_vivado: bool | None = None,
    vivado_implement: bool = False,
    bitstream: bool = True,
    route: bool = True,
    bram_outreg: bool = False,
    dsp_regs: str | None = None,
    floorplan: bool = False,
    seed: int = 1,
    placer: Mapping[str, int] | None = None,
    seeds: int = 1,
    name: str | None = None,
    progress: bool = True,
    log=print,
    require_fit: bool = True,
    extra: Mapping[str, object] | None = None,
) -> dict:
    """Synthesize `top` for `board` into `out_dir` and return report.json's content.

    `files` is a list of sources or one .f file list. `params` override the top's parameters (int or
    str; a pathlib.Path is passed as a path the tool can open, e.g. a $readmemh folder). `use_vivado`:
    None = when on PATH (Xilinx boards), False = never, True = required. `route=False` stops nextpnr after
    placement (a post-placement Fmax estimate, no bitstream: report.json's `routed` is false).
    `bram_outreg` (ECP5) moves the flops that take a block RAM read straight into the DP16KD's output
    register before nextpnr (codesign.synth.ecp5_outreg); `dsp_regs` (ECP5: "product" or "all") moves the
    flops around the multipliers into the MULT18X18Ds' registers (codesign.synth.ecp5_dspreg); `floorplan`
    (ECP5) locks the engine lanes' block RAMs and multipliers into regions (codesign.synth.ecp5_floorplan)
    and folds the flops' reset inverters (codesign.synth.ecp5_lsr). `placer` sets nextpnr's HeAP placer
    (codesign.synth.nextpnr.PLACER_SETTINGS by name; nextpnr's defaults where absent). `seeds` > 1 routes
    that many placer seeds from `seed` on and keeps the route with the highest Fmax (report.json: pnr.seeds).

    A design that needs more of a resource than the board has raises `DoesNotFit` (nothing is written
    to `out_dir`; the logs go to `<out_dir>.failed/`), unless `require_fit` is False (a sweep measuring
    points): then report.json says so in its notes. `extra` adds keys to report.json (the PLL, say).
    """
    from codesign.outputs import staged_folder, write_json
    from codesign.synth.report import format_report

    board = get_board(board) if isinstance(board, str) else board
    files, defines, include_dirs = _sources(files, defines, include_dirs)
    clock = board.clock_mhz if clock_mhz is None else float(clock_mhz)
    out_dir = Path(out_dir)
    vivado_exe = _vivado_to_use(board, use_vivado)

    with staged_folder(out_dir) as stage:
        _clear(stage)
        job = SynthJob(
            files=files,
            top=top,
            params=dict(params or {}),
            board=board,
            stage=stage,
            defines=defines,
            include_dirs=include_dirs,
            clock_mhz=clock,
            name=name,
            log=log,
            progress=progress,
        )
        try:
            if vivado_exe is not None:
                report = _vivado_flow(job, clock_port=clock_port, implement=vivado_implement)
            else:
                report = _open_source_flow(
                    job,
                    bitstream=bitstream,
                    route=route,
                    bram_outreg=bram_outreg,
                    dsp_regs=dsp_regs,
                    floorplan=floorplan,
                    seed=seed,
                    placer=placer,
                    seeds=seeds,
                )
            if require_fit:
                check_fit(report, board, stage)
        except CodesignError as exc:
            raise _keep_logs(exc, stage, out_dir) from None
        report.update(extra or {})
        write_json(stage / "report.json", report)
    for line in format_report(report):
        log(line)
    return report


@dataclass(frozen=True)
class SynthJob:
    """One synthesis run as the tool flows see it."""

    files: list[Path]
    top: str
    params: dict[str, object]  # the top's parameter overrides (a Path is passed as a path the tool opens)
    board: Board
    stage: Path  # the (staged) output folder the tools write into
    defines: dict[str, str | None]
    include_dirs: list[Path]
    clock_mhz: float
    name: str | None  # report.json's name
    log: Callable[[str], None]
    progress: bool


def _sources(
    files: Sequence[Path] | Path, defines: Mapping[str, str | None] | None, include_dirs: Sequence[Path]
) -> tuple[list[Path], dict[str, str | None], list[Path]]:
    """(sources, defines, include folders) from a list of sources or one .f file list (its defines give way
    to `defines`)."""
    defines = dict(defines or {})
    include_dirs = list(include_dirs)
    if isinstance(files, (str, Path)):
        file_list = read_file_list(Path(files))
        files = file_list.files
        include_dirs += file_list.include_dirs
        defines = {**file_list.defines, **defines}
    files = [Path(f) for f in files]
    if not files:
        raise CodesignError("synthesize: no source files")
    return files, defines, include_dirs


def _vivado_to_use(board: Board, use_vivado: bool | None) -> str | None:
    """Vivado's executable when this run uses it (see `synthesize`), else None; an error when it must and
    cannot."""
    from codesign.synth import vivado

    if use_vivado and board.vendor != "xilinx":
        raise CodesignError(f"board {board.name}: Vivado does not target {board.part}")
    vivado_exe = vivado.vivado_path() if board.vendor == "xilinx" and use_vivado is not False else None
    if use_vivado and vivado_exe is None:
        raise CodesignError(vivado.NOT_INSTALLED.split(";")[0])
    return vivado_exe


def _vivado_flow(job: SynthJob, *, clock_port: str, implement: bool) -> dict:
    """Vivado synth_design (and place-and-route with `implement`): report.json's content."""
    from codesign.synth import vivado
    from codesign.synth.report import build_report

    board = job.board
    job.log(f"[synth] {board.name}: Vivado synth_design for {board.part}")
    result = vivado.run_vivado(
        job.files,
        job.top,
        board,
        job.stage,
        params=_tool_params(job.params, None),
        defines=job.defines,
        include_dirs=job.include_dirs,
        clock_port=clock_port,
        clock_mhz=job.clock_mhz,
        implement=implement,
        progress=job.progress,
    )
    numbers = {k: result.used.get(k) for k in ("lut", "ff", "bram", "dsp")}
    numbers["fmax_mhz"] = result.fmax_mhz
    where = "vivado route_design" if implement else "vivado synth_design"
    notes = [] if implement else ["Fmax from Vivado's post-synthesis timing (no place-and-route)"]
    return build_report(
        board,
        job.top,
        params_for_report(job.params),
        numbers=numbers,
        sources=dict.fromkeys(numbers, where),
        tool=result.version,
        estimate=False,
        clock_mhz=job.clock_mhz,
        available=result.available,
        details={"vivado": {"used": result.used, "log": "vivado.log"}},
        notes=notes,
        name=job.name,
    )


def params_for_report(params: Mapping[str, object]) -> dict[str, object]:
    return {k: str(v) if isinstance(v, Path) else v for k, v in params.items()}


def _open_source_flow(
    job: SynthJob,
    *,
    bitstream: bool,
    route: bool = True,
    bram_outreg: bool = False,
    dsp_regs: str | None = None,
    floorplan: bool = False,
    seed: int = 1,
    placer: Mapping[str, int] | None = None,
    seeds: int = 1,
) -> dict:
    """Yosys, then (Lattice) nextpnr and a bitstream: report.json's content."""
    from codesign.synth import nextpnr, sta, yosys
    from codesign.synth.report import build_report
    from codesign.synth.vivado import NOT_INSTALLED

    board, stage, clock, log, progress = job.board, job.stage, job.clock_mhz, job.log, job.progress
    notes: list[str] = []

    if board.vendor == "xilinx":
        log(f"[synth] {board.name}: {NOT_INSTALLED}")
    pnr_flow = board.flow.startswith("nextpnr")
    log(f"[synth] {board.name}: yosys {board.yosys_synth} ({board.part})")
    ys = yosys.run_yosys(
        job.files,
        job.top,
        board.family,
        stage,
        params=_tool_params(job.params, stage),
        defines=job.defines,
        include_dirs=job.include_dirs,
        netlist=pnr_flow,
        progress=progress,
    )
    counts = ys.counts.as_dict()
    numbers = {k: counts[k] for k in ("lut", "ff", "bram", "dsp")} | {"fmax_mhz": None}
    sources: dict[str, str | None] = dict.fromkeys(("lut", "ff", "bram", "dsp"), f"yosys {board.yosys_synth}")
    sources["fmax_mhz"] = None
    details: dict = {
        "yosys": {"cells": ys.cells, "counts": counts, "log": "yosys.log"},
        "pnr": None,
        "bitstream": None,
    }
    tool, available, estimate = ys.version, {}, True
    if not pnr_flow:
        notes.append("Yosys post-synthesis cell counts (before packing); no Fmax without place-and-route")
    else:
        over = over_budget(counts, board.totals)
        if over:
            notes.append(f"does not fit: {over}; not placed")
        else:
            only = "" if route else " (placement only)"
            log(f"[synth] {board.name}: {board.flow} at {clock:g} MHz{only}")
            pnr, best, fmaxes = nextpnr.route_seeds(
                board,
                ys.netlist,
                ys.ports,
                stage,
                list(range(seed, seed + seeds)),
                bitstream=bitstream,
                progress=progress,
                log=log,
                clock_mhz=clock,
                route=route,
                bram_outreg=bram_outreg,
                dsp_regs=dsp_regs,
                floorplan_top=job.top if floorplan else None,
                placer=placer,
            )
            notes += pnr.notes
            placer_used = nextpnr.PLACER_SETTINGS | dict(placer or {})
            details["pnr"] = {"mode": pnr.mode, "routed": route, "seed": best, "placer": placer_used}
            if seeds > 1:
                details["pnr"]["seeds"] = {
                    str(k): None if f is None else round(f, 2) for k, f in fmaxes.items()
                }
                notes.append(f"the best of {seeds} placer seeds ({seed} to {seed + seeds - 1}): pnr.seeds")
            if pnr.report is not None:
                rep = pnr.report
                estimate = False
                tool = f"{ys.version} + {nextpnr.tool_version(board)}"
                for key in ("lut", "ff", "bram", "dsp"):
                    if key in rep.used:
                        numbers[key] = rep.used[key]
                        sources[key] = board.flow
                available = rep.available
                numbers["fmax_mhz"] = rep.fmax_mhz
                sources["fmax_mhz"] = board.flow if route else f"{board.flow} post-placement estimate"
                details["pnr"].update(
                    used=rep.used,
                    available=rep.available,
                    fmax_mhz={nextpnr.clock_port(c, ys.ports): round(f, 2) for c, f in rep.fmax.items()},
                    log="nextpnr.log",
                )
                text = []
                if rep.critical_paths:
                    # worst first: nextpnr reports the critical path of each clock pair
                    paths = [nextpnr.critical_path_summary(p) for p in rep.critical_paths]
                    details["pnr"]["critical_paths"] = sorted(paths, key=lambda p: -p["delay_ns"])
                    text += nextpnr.format_critical_paths(rep.critical_paths)
                if pnr.census is not None:
                    details["pnr"]["endpoints"] = pnr.census
                    census_lines = sta.format_census(pnr.census)
                    log(f"[synth] {census_lines[0]}")
                    text += ["", *census_lines]
                if text:
                    (stage / "timing.txt").write_text("\n".join(text))
                    details["pnr"]["timing_report"] = "timing.txt"
                if pnr.bitstream is not None:
                    details["bitstream"] = pnr.bitstream.name
    return build_report(
        board,
        job.top,
        params_for_report(job.params),
        numbers=numbers,
        sources=sources,
        tool=tool,
        estimate=estimate,
        clock_mhz=clock,
        available=available,
        details=details,
        notes=notes,
        name=job.name,
    )


class DoesNotFit(CodesignError):
    """The design needs more of a resource than the board has."""


def over_budget(used: Mapping[str, float | None], available: Mapping[str, float]) -> str:
    """'LUT 16754 > 5280, BRAM 56 > 30' for every resource used beyond what is available ('' if none)."""
    over = [
        k for k in RESOURCE_KEYS if used.get(k) is not None and available.get(k) and used[k] > available[k]
    ]
    return ", ".join(f"{k.upper()} {used[k]:g} > {available[k]:g}" for k in over)


def check_fit(report: Mapping, board: Board, logs: Path) -> None:
    """Raise DoesNotFit, in one line: what does not fit where, by how much, and the board's limits."""
    over = over_budget(report, report["available"])
    if not over:
        return
    first = next(k for k in RESOURCE_KEYS if k.upper() + " " in over)
    counted = f"{report['sources'][first]} counts" if report["estimate"] else report["sources"][first]
    raise DoesNotFit(
        f"{report['name']} does not fit {board.name} ({board.part}): {over} ({counted}; logs: {logs})"
    )


def _keep_logs(exc: CodesignError, stage: Path, out_dir: Path) -> CodesignError:
    """The staged folder is deleted on failure: keep its logs in <out_dir>.failed/ and point there."""
    failed = out_dir.with_name(out_dir.name + ".failed")
    shutil.rmtree(failed, ignore_errors=True)
    shutil.copytree(stage, failed)
    kind = DoesNotFit if isinstance(exc, DoesNotFit) else CodesignError
    return kind(str(exc).replace(str(stage), str(failed)))


# ---------------------------------------------------------------------------------------------------------
# The engine


def top_parameters(source: Path, top: str) -> set[str]:
    """Parameter names the top module declares (so only existing ones are overridden), the engine's
    among them when it expands `ENGINE_PARAMETERS (ulx3s_engine_top)."""
    from codesign.engine.params import declared_parameters

    return set(declared_parameters(source, top))


def engine_parameters(image: Mapping, mem_dir: Path) -> dict[str, object]:
    """Top-level parameters of sparse_lstm_engine from the encoder's params.json (codesign.engine.params)."""
    from codesign.engine.params import rtl_parameters

    return rtl_parameters(image, mem_dir=Path(mem_dir))


def _engine_image(spec, rtl_dir: Path, pes: int | None, log) -> dict:
    params_path = rtl_dir / "params.json"
    image = json.loads(params_path.read_text()) if params_path.is_file() else None
    from codesign.engine.command import build_rtl
    from codesign.engine.encoder import FORMAT_VERSION, EngineConfig

    if image is not None and image.get("format") != FORMAT_VERSION:
        image = None  # written by an older encoder: rebuilt below
    if image is not None and (pes is None or image["num_pe"] == pes):
        return image

    num_pe = pes or 8
    why = "no engine image" if image is None else f"built for {image['num_pe']} PEs"
    log(f"[synth] {rtl_dir}: {why}; running codesign rtl --pes {num_pe}")
    config = EngineConfig(num_pe=num_pe)
    config.validate()
    build_rtl(spec, config, rtl_dir.parent)
    return json.loads(params_path.read_text())


def shipped_file_list(path: Path) -> Path:
    """`path` when it exists, else the file list of that name in the package's rtl/ folder."""
    path = Path(path)
    if not path.exists() and path.parent == Path() and (RTL_DIR / path.name).is_file():
        return RTL_DIR / path.name
    return path


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", help="models/<name>/spec.yml (the model whose engine image is synthesized)")
    parser.add_argument("--board", required=True, help=f"one of: {', '.join(sorted(BOARDS))}")
    parser.add_argument(
        "--pes", type=int, default=None, help="NumPe; rebuilds build/rtl/<name> if it differs"
    )
    parser.add_argument(
        "--clock", type=float, default=None, help="clock target in MHz (default: the board's)"
    )
    parser.add_argument(
        "--fit-clock",
        type=int,
        default=0,
        metavar="N",
        help="a top with a PLL (ulx3s_engine_top): when place-and-route misses --clock, set the PLL to the "
        "Fmax reached and place again, up to N times (make bitstream: 2)",
    )
    parser.add_argument("--no-vivado", action="store_true", help="use Yosys even when Vivado is on PATH")
    parser.add_argument("--no-bitstream", action="store_true", help="skip ecppack / icepack")
    parser.add_argument(
        "--no-route",
        action="store_true",
        help="nextpnr places but does not route: Fmax is its post-placement estimate (minutes, not most of "
        "an hour: for iterating on critical paths), no bitstream, no --fit-clock",
    )
    parser.add_argument(
        "--bram-outreg",
        action="store_true",
        help="ECP5: move the flops that take a block RAM read straight into the DP16KD's output register "
        "(5.8 -> 1.0 ns clock to output, same cycles; slower for the engine as it stands: docs/fmax.md)",
    )
    parser.add_argument(
        "--dsp-regs",
        choices=DSP_REGS,
        default=None,
        help="ECP5: move the flops a multiply's product goes into (product), or its operands' flops too "
        "(all), into the MULT18X18D's own registers (same cycles; Yosys leaves them unused)",
    )
    parser.add_argument(
        "--no-floorplan",
        action="store_true",
        help="ECP5: leave the engine's block RAMs and multipliers to the placer and the netlist as Yosys "
        "wrote it (by default each lane's, PE k and element-wise unit k, are locked into a region of their "
        "own, and the flops' reset inverters are folded into the flops)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        help="nextpnr's placer seed (default 1): on the engine the routed Fmax moves by several percent "
        "from seed to seed",
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        metavar="N",
        help="route N placer seeds from --seed on (as many at a time as there are CPUs) and keep the route "
        "with the highest Fmax; report.json's pnr.seeds lists every seed's",
    )
    parser.add_argument(
        "--placer-critexp",
        type=int,
        default=None,
        metavar="N",
        help="nextpnr's HeAP placer: criticality exponent of a path's timing weight (nextpnr's default 2)",
    )
    parser.add_argument(
        "--placer-timingweight",
        type=int,
        default=None,
        metavar="N",
        help="nextpnr's HeAP placer: weight of timing against wirelength (nextpnr's default 10)",
    )
    parser.add_argument(
        "--file-list",
        type=Path,
        default=ENGINE_FILE_LIST,
        help="RTL file list (.f): a path, or the name of one codesign ships (engine.f, ulx3s_engine.f)",
    )
    parser.add_argument("--top", default=ENGINE_TOP, help="top module")
    parser.add_argument("--out", type=Path, default=None, help="parent folder of the output")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


@dataclass(frozen=True)
class SynthOptions:
    """What `codesign synth` takes besides the spec (the options of the same names)."""

    board: str
    pes: int | None = None  # None: the NumPe of build/rtl/<name> (8 when there is none)
    clock: float | None = None  # MHz; None: the board's
    fit_clock: int = 0
    no_vivado: bool = False
    no_bitstream: bool = False
    no_route: bool = False
    bram_outreg: bool = False
    dsp_regs: str | None = None  # None, "product" or "all"
    no_floorplan: bool = False
    seed: int = 1
    placer_critexp: int | None = None  # nextpnr's HeAP settings; None: nextpnr's default
    placer_timingweight: int | None = None
    seeds: int = 1  # placer seeds routed from `seed` on; the best route is kept
    file_list: Path = ENGINE_FILE_LIST
    top: str = ENGINE_TOP
    out: Path | None = None  # parent folder of the output; default build/synth
    quiet: bool = False

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> SynthOptions:
        return options_from_args(cls, args)

    def placer(self) -> dict[str, int]:
        """The HeAP placer settings given (nextpnr's defaults for the others)."""
        given = {"critexp": self.placer_critexp, "timingweight": self.placer_timingweight}
        return {k: v for k, v in given.items() if v is not None}

    def validate(self) -> tuple[Board, FileList]:
        """The board and the file list; a CodesignError names the option that is wrong."""
        from codesign.options import check_board, check_pes, check_positive

        board = check_board(self.board)
        if self.pes is not None:
            check_pes(self.pes)
        check_positive(self.clock, "--clock")
        check_positive(self.placer_critexp, "--placer-critexp")
        check_positive(self.placer_timingweight, "--placer-timingweight")
        check_positive(self.seeds, "--seeds")
        if self.dsp_regs not in (None, *DSP_REGS):
            raise CodesignError(f"--dsp-regs {self.dsp_regs}: one of {', '.join(DSP_REGS)}")
        list_path = shipped_file_list(self.file_list)
        if not list_path.is_file():
            shipped = ", ".join(sorted(p.name for p in RTL_DIR.glob("*.f")))
            raise CodesignError(
                f"--file-list {self.file_list}: no such file, nor a list codesign ships ({shipped})"
            )
        return board, read_file_list(list_path, base=Path.cwd())


def run(args: argparse.Namespace) -> int:
    from codesign.spec import load_spec

    options = SynthOptions.from_args(args)
    options.validate()  # every option is checked before anything is announced or built
    run_synth(load_spec(args.spec), options)
    return 0


def run_synth(spec, options: SynthOptions) -> dict:
    """The synth stage on `spec`: its engine image (built first when missing or for other PEs) through
    `synthesize` for the board; writes and returns report.json's content."""
    from codesign.engine.encoder import check_rtl_spec

    board, file_list = options.validate()
    check_rtl_spec(spec)
    rtl_dir = build_root() / "rtl" / spec.name
    image = _engine_image(spec, rtl_dir, options.pes, print)
    declared = set()
    for f in file_list.files:
        declared |= top_parameters(f, options.top) if f.stem == options.top else set()
    params = {k: v for k, v in engine_parameters(image, rtl_dir).items() if not declared or k in declared}
    out_dir = (build_root() / "synth" if options.out is None else options.out) / f"{spec.name}-{board.name}"
    pll = board_pll(board, declared, options.clock if options.clock is not None else board.clock_mhz)
    for attempt in range(1 + (max(options.fit_clock, 0) if pll is not None else 0)):
        extra = {}
        if pll is not None:
            print(
                f"[synth] {board.name}: PLL {board.osc_mhz:g} MHz x {pll.clkfb_div}/{pll.clki_div} = "
                f"{pll.out_mhz:g} MHz (VCO {pll.vco_mhz:g} MHz); ClkHz {pll.out_hz}"
            )
            extra["pll"] = pll.as_dict()
        report = synthesize(
            file_list.files,
            options.top,
            params | (pll.parameters() if pll is not None else {}),
            board,
            out_dir,
            defines=file_list.defines,
            include_dirs=[*file_list.include_dirs, rtl_dir],
            clock_mhz=pll.out_mhz if pll is not None else options.clock,
            use_vivado=False if options.no_vivado else None,
            bitstream=not options.no_bitstream,
            route=not options.no_route,
            bram_outreg=options.bram_outreg,
            dsp_regs=options.dsp_regs,
            floorplan=not options.no_floorplan,
            seed=options.seed,
            placer=options.placer(),
            seeds=options.seeds,
            name=f"{spec.name} ({image['num_pe']} PEs)",
            progress=not options.quiet,
            extra=extra,
        )
        fmax = report.get("fmax_mhz")
        last = attempt == options.fit_clock or options.no_route
        if pll is None or fmax is None or fmax >= pll.out_mhz or last:
            break
        lower = ecp5_pll(board.osc_mhz, fmax, at_most=True)
        print(
            f"[synth] timing not met at {pll.out_mhz:g} MHz (Fmax {fmax:g} MHz): placing again with the PLL "
            f"at {lower.out_mhz:g} MHz"
        )
        pll = lower
    return report


PLL_PARAMETERS = ("PllClkiDiv", "PllClkfbDiv", "PllClkopDiv", "PllClkopCphase", "ClkHz")


def board_pll(board: Board, declared: set[str], clock_mhz: float) -> PllConfig | None:
    """The PLL setting for `clock_mhz` when the top declares the PLL parameters (ulx3s_engine_top) and
    the board has an ECP5 with a known oscillator; None otherwise (the clock comes from the top's port)."""
    if not set(PLL_PARAMETERS) <= declared or board.family != "ecp5" or board.osc_mhz is None:
        return None
    return ecp5_pll(board.osc_mhz, clock_mhz)
