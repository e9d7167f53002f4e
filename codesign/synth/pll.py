"""ECP5 PLL (EHXPLLL) dividers for a requested clock, as Project Trellis' `ecppll` computes them.

    f_pfd = f_in / CLKI_DIV          3.125 .. 400 MHz
    f_vco = f_pfd * CLKFB_DIV * CLKOP_DIV   400 .. 800 MHz   (feedback from CLKOP)
    f_out = f_vco / CLKOP_DIV = f_in * CLKFB_DIV / CLKI_DIV

Every divider triple is tried; the output closest to the request wins, ties going to the VCO nearest
600 MHz (ecppll's rule). `at_most=True` keeps only outputs not above the request (a clock that timing
allows must not be rounded up past it). CLKOP_CPHASE is half the output period in VCO cycles (ecppll
shifts the primary output by 180 degrees, as Lattice's tools do; one clock domain, so it does not matter).
"""

from __future__ import annotations

from dataclasses import dataclass

from codesign.errors import CodesignError

CLKI_DIV = range(1, 129)
CLKFB_DIV = range(1, 81)
CLKOP_DIV = range(1, 129)
PFD_MHZ = (3.125, 400.0)
VCO_MHZ = (400.0, 800.0)
OUT_MHZ = (3.125, 400.0)  # CLKOP range of the ECP5 data sheet (f_vco / 128 .. 400)


@dataclass(frozen=True)
class PllConfig:
    in_mhz: float
    clki_div: int
    clkfb_div: int
    clkop_div: int

    @property
    def out_mhz(self) -> float:
        return self.in_mhz * self.clkfb_div / self.clki_div

    @property
    def vco_mhz(self) -> float:
        return self.out_mhz * self.clkop_div

    @property
    def out_hz(self) -> int:
        return round(self.out_mhz * 1e6)

    @property
    def clkop_cphase(self) -> int:
        return self.clkop_div // 2

    def parameters(self) -> dict[str, int]:
        """The board top's parameters (ulx3s_engine_top: PllClkiDiv, PllClkfbDiv, PllClkopDiv, ...)."""
        return {
            "PllClkiDiv": self.clki_div,
            "PllClkfbDiv": self.clkfb_div,
            "PllClkopDiv": self.clkop_div,
            "PllClkopCphase": self.clkop_cphase,
            "ClkHz": self.out_hz,
        }

    def as_dict(self) -> dict:
        return {
            "in_mhz": self.in_mhz,
            "out_mhz": round(self.out_mhz, 4),
            "vco_mhz": round(self.vco_mhz, 4),
            "clki_div": self.clki_div,
            "clkfb_div": self.clkfb_div,
            "clkop_div": self.clkop_div,
            "clkop_cphase": self.clkop_cphase,
        }


def ecp5_pll(in_mhz: float, out_mhz: float, at_most: bool = False) -> PllConfig:
    """The EHXPLLL dividers whose CLKOP is closest to `out_mhz` from an `in_mhz` reference."""
    if not OUT_MHZ[0] <= out_mhz <= OUT_MHZ[1]:
        span = f"{OUT_MHZ[0]:g}-{OUT_MHZ[1]:g} MHz"
        raise CodesignError(f"PLL output {out_mhz:g} MHz: the ECP5 PLL makes {span}")
    best: PllConfig | None = None
    best_key: tuple[float, float] | None = None
    for ref in CLKI_DIV:
        pfd = in_mhz / ref
        if not PFD_MHZ[0] <= pfd <= PFD_MHZ[1]:
            continue
        for fb in CLKFB_DIV:
            out = pfd * fb
            if at_most and out > out_mhz + 1e-9:
                break
            for op in CLKOP_DIV:
                vco = out * op
                if vco < VCO_MHZ[0]:
                    continue
                if vco > VCO_MHZ[1]:
                    break
                key = (abs(out - out_mhz), abs(vco - 600.0))
                if best_key is None or key < best_key:
                    best, best_key = PllConfig(in_mhz, ref, fb, op), key
    if best is None:
        raise CodesignError(f"no ECP5 PLL setting makes {out_mhz:g} MHz from {in_mhz:g} MHz")
    return best
