"""The boards `codesign synth` knows: part, family, tool flow, clock target and resource totals.

Resource totals are the vendor data-sheet figures for the part (Xilinx DS190 / DS890, Lattice ECP5 and
iCE40 UltraPlus family data sheets), so utilisation can be given as a percentage even when only Yosys ran.
`bram` is counted in the family's own block-RAM unit (see `bram_unit`), the unit its vendor reports use.
Where place-and-route runs, the totals it reports replace these.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from codesign.errors import CodesignError

# Yosys' synthesis command per family; the flags keep the counts comparable with the vendor tools:
# Xilinx flattens (Vivado's default), iCE40 maps multipliers to SB_MAC16 only with -dsp.
YOSYS_SYNTH = {
    "xc7": "synth_xilinx -family xc7 -flatten",
    "xcu": "synth_xilinx -family xcu -flatten",
    "ecp5": "synth_ecp5",
    "ice40": "synth_ice40 -dsp",
}

BRAM_UNIT = {
    "xc7": "RAMB36 tiles (a RAMB18 counts 0.5), as Vivado's 'Block RAM Tile'",
    "xcu": "RAMB36 tiles (a RAMB18 counts 0.5), as Vivado's 'Block RAM Tile'",
    "ecp5": "DP16KD 18 Kbit EBR blocks",
    "ice40": "SB_RAM40_4K 4 Kbit EBR blocks",
}


@dataclass(frozen=True)
class Board:
    name: str
    description: str
    vendor: str  # xilinx | lattice
    family: str  # xc7 | xcu | ecp5 | ice40 (a key of YOSYS_SYNTH)
    part: str
    flow: str  # yosys (estimate only; Vivado when installed) | nextpnr-ecp5 | nextpnr-ice40
    clock_mhz: float  # default clock target for place-and-route and timing reports
    lut: int
    ff: int
    bram: float
    dsp: int
    io_pins: int  # user I/O of the package: more top-level port bits than this cannot be placed
    pnr_args: tuple[str, ...] = ()  # device selection for nextpnr
    pin_file: str | None = None  # constraint file in codesign/synth/pins/, for a bitstream
    osc_mhz: float | None = None  # the board's oscillator (a PLL's reference), on the pin file's clock pin

    @property
    def totals(self) -> dict[str, float]:
        return {"lut": self.lut, "ff": self.ff, "bram": self.bram, "dsp": self.dsp}

    @property
    def bram_unit(self) -> str:
        return BRAM_UNIT[self.family]

    @property
    def yosys_synth(self) -> str:
        return YOSYS_SYNTH[self.family]

    @property
    def pin_path(self) -> Path | None:
        if self.pin_file is None:
            return None
        return Path(str(resources.files("codesign.synth") / "pins" / self.pin_file))


BOARDS: dict[str, Board] = {
    b.name: b
    for b in (
        Board(
            name="pynq-z2",
            description="TUL PYNQ-Z2, Zynq-7020 (Xilinx 7-series programmable logic)",
            vendor="xilinx",
            family="xc7",
            part="xc7z020clg400-1",
            flow="yosys",
            clock_mhz=100.0,  # the PS's FCLK0 default on PYNQ overlays
            lut=53_200,
            ff=106_400,
            bram=140,
            dsp=220,
            io_pins=125,
        ),
        Board(
            name="ku060",
            description="Kintex UltraScale XCKU060, the chip ESE ran on (Han et al., FPGA 2017)",
            vendor="xilinx",
            family="xcu",
            part="xcku060-ffva1156-2-e",
            flow="yosys",
            clock_mhz=200.0,  # ESE's clock
            lut=331_680,
            ff=663_360,
            bram=1_080,
            dsp=2_760,
            io_pins=520,
        ),
        Board(
            name="ulx3s-85f",
            description="Radiona ULX3S with a Lattice ECP5 LFE5U-85F",
            vendor="lattice",
            family="ecp5",
            part="LFE5U-85F-6BG381C",
            flow="nextpnr-ecp5",
            clock_mhz=125.0,
            lut=83_640,
            ff=83_640,
            bram=208,
            dsp=156,
            io_pins=205,
            pnr_args=("--85k", "--package", "CABGA381", "--speed", "6"),
            pin_file="ulx3s-85f.lpf",
            osc_mhz=25.0,
        ),
        Board(
            name="icebreaker",
            description="1BitSquared iCEBreaker with a Lattice iCE40 UltraPlus UP5K",
            vendor="lattice",
            family="ice40",
            part="iCE40UP5K-SG48",
            flow="nextpnr-ice40",
            clock_mhz=24.0,
            lut=5_280,
            ff=5_280,
            bram=30,
            dsp=8,
            io_pins=39,
            pnr_args=("--up5k", "--package", "sg48"),
            pin_file="icebreaker.pcf",
        ),
    )
}


def get_board(name: str) -> Board:
    try:
        return BOARDS[name]
    except KeyError:
        raise CodesignError(f"unknown board {name!r}; known boards: {', '.join(sorted(BOARDS))}") from None
