"""Synthesis for boards: Yosys (+ nextpnr for Lattice parts, Vivado where installed) and their reports."""

from codesign.synth.boards import BOARDS, Board, get_board
from codesign.synth.command import synthesize

__all__ = ["BOARDS", "Board", "get_board", "synthesize"]
