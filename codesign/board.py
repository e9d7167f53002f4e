"""The byte protocol of the ULX3S board top (rtl/ulx3s_engine_top.sv, docs/board.md), host side.

One definition for the host and the cocotb testbench: `encode_sequence` / `encode_load` give the bytes to
send, `ReplyDecoder` turns the board's bytes back into engine output words and performance replies.
Multi-byte values are little-endian; words are the engine's raw two's-complement integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from codesign.errors import CodesignError

CMD_FRAME = 0x46  # 'F' n words: input words, no sequence end
CMD_END = 0x45  # 'E' n words: input words, in_last on the final one (the sequence's last frame)
CMD_LOAD = 0x57  # 'W' + 16 bytes: one beat of the engine's 128-bit weight-load stream
CMD_PERF = 0x50  # 'P': read the performance counters and the status flags
TAG_OUT = 0xA  # reply high nibble: an engine output word; low nibble {0, last, user[1:0]}
TAG_PERF = 0xB  # reply high nibble: counters; low nibble the status flags
MAX_WORDS = 255  # words per 'F' / 'E' command (one count byte)
LOAD_BYTES = 16
PERF_FIELDS = ("steps", "step_cycles", "total_step_cycles", "matrix_cycles")
PERF_BYTES = 4 * len(PERF_FIELDS)

STATUS_FRAME_ERROR = 1  # a received byte had a stop bit of 0
STATUS_OVERFLOW = 2  # the receive FIFO was full when a byte arrived (the byte is lost)
STATUS_BAD_COMMAND = 4  # a command byte the board does not know (skipped)

PERF_REQUEST = bytes([CMD_PERF])


def word_bytes(width: int) -> int:
    """Bytes per stream word: the engine pads its in/out words to whole bytes (IN_WIDTH, OUT_WIDTH)."""
    return (int(width) + 7) // 8


def _words(values: np.ndarray, width: int, what: str) -> bytes:
    n = word_bytes(width)
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1
    values = np.asarray(values, dtype=np.int64)
    if values.size and (values.min() < lo or values.max() > hi):
        raise CodesignError(f"{what}: raw value outside the {width}-bit signed range [{lo}, {hi}]")
    mask = (1 << (8 * n)) - 1
    return b"".join((int(v) & mask).to_bytes(n, "little") for v in values.ravel())


def encode_sequence(x_raw: np.ndarray, act_width: int) -> bytes:
    """One sequence (T, X) of act raws: one 'F' command per frame, 'E' for the last frame."""
    x_raw = np.asarray(x_raw)
    if x_raw.ndim != 2 or x_raw.shape[0] == 0:
        raise CodesignError(f"sequence: shape {x_raw.shape}, want (steps >= 1, inputs)")
    steps, inputs = x_raw.shape
    if not 1 <= inputs <= MAX_WORDS:
        raise CodesignError(f"sequence: {inputs} inputs per frame, the protocol carries 1..{MAX_WORDS}")
    out = bytearray()
    for t in range(steps):
        out += bytes([CMD_END if t == steps - 1 else CMD_FRAME, inputs])
        out += _words(x_raw[t], act_width, f"sequence step {t}")
    return bytes(out)


def encode_load(beats: Iterable[int]) -> bytes:
    """'W' commands for 128-bit load-stream beats (codesign.engine's layout: sel, pe, addr, data)."""
    out = bytearray()
    for beat in beats:
        if not 0 <= int(beat) < 1 << 128:
            raise CodesignError(f"load beat {beat:#x}: not a 128-bit word")
        out += bytes([CMD_LOAD]) + int(beat).to_bytes(LOAD_BYTES, "little")
    return bytes(out)


def load_commands(image, tables: bool = True) -> bytes:
    """The bytes that load `image` (codesign.engine.EngineImage) into a running board; `tables=False`
    leaves the sigmoid/tanh tables out (2 x 4096 beats, about 14 s at 115200 baud) when they are equal."""
    from codesign.engine.load_stream import SEL_SIGMOID, SEL_TANH, load_beats

    beats = load_beats(image, emit_h=False)
    if not tables:
        beats = [b for b in beats if (b >> 112) not in (SEL_SIGMOID, SEL_TANH)]
    return encode_load(beats)


@dataclass(frozen=True)
class OutputWord:
    """One word of the engine's out stream: user 0 = logits (acc raw), user l+1 = h_t of layer l."""

    user: int
    last: bool
    value: int


@dataclass(frozen=True)
class PerfReply:
    status: int
    steps: int
    step_cycles: int
    total_step_cycles: int
    matrix_cycles: int


class ReplyDecoder:
    """Incremental decoder of the board's replies; `feed` returns the replies completed by new bytes."""

    def __init__(self, acc_width: int):
        self.out_bytes = word_bytes(acc_width)
        self.offset = 0  # bytes consumed so far, for error messages
        self._buf = bytearray()

    def _need(self, tag: int) -> int:
        kind = tag >> 4
        if kind == TAG_OUT and not tag & 0x08:
            return 1 + self.out_bytes
        if kind == TAG_PERF:
            return 1 + PERF_BYTES
        raise CodesignError(f"board reply byte {self.offset}: {tag:#04x} is no reply tag (lost sync?)")

    def feed(self, data: bytes | Sequence[int]) -> list[OutputWord | PerfReply]:
        self._buf += bytes(data)
        replies: list[OutputWord | PerfReply] = []
        while self._buf and len(self._buf) >= self._need(self._buf[0]):
            tag = self._buf[0]
            n = self._need(tag)
            body = bytes(self._buf[1:n])
            if tag >> 4 == TAG_OUT:
                value = int.from_bytes(body, "little", signed=True)
                replies.append(OutputWord(user=tag & 3, last=bool(tag & 4), value=value))
            else:
                fields = [int.from_bytes(body[4 * i : 4 * i + 4], "little") for i in range(len(PERF_FIELDS))]
                replies.append(PerfReply(tag & 0xF, *fields))
            del self._buf[:n]
            self.offset += n
        return replies

    @property
    def pending(self) -> int:
        """Bytes of an incomplete reply."""
        return len(self._buf)


def logit_vectors(replies: Iterable[OutputWord | PerfReply]) -> list[list[int]]:
    """The logits (user 0 words) grouped per sequence, each group ending at a `last` word."""
    vectors, current = [], []
    for r in replies:
        if isinstance(r, OutputWord) and r.user == 0:
            current.append(r.value)
            if r.last:
                vectors.append(current)
                current = []
    return vectors
