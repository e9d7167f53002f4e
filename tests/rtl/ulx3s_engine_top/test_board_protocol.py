"""codesign.board (the byte protocol's host side) without a simulator: framing, ranges, decoding."""

import numpy as np
import pytest

from codesign import board
from codesign.errors import CodesignError


def test_encode_sequence_frames_and_words() -> None:
    x = np.array([[1, -2, 300], [-32768, 0, 32767]])
    data = board.encode_sequence(x, act_width=16)
    frame = 2 + 3 * 2
    assert len(data) == 2 * frame
    assert data[0:2] == bytes([board.CMD_FRAME, 3]) and data[frame : frame + 2] == bytes([board.CMD_END, 3])
    words = [int.from_bytes(data[2 + 2 * i : 4 + 2 * i], "little", signed=True) for i in range(3)]
    words += [
        int.from_bytes(data[frame + 2 + 2 * i : frame + 4 + 2 * i], "little", signed=True) for i in range(3)
    ]
    assert words == x.ravel().tolist()


@pytest.mark.parametrize(
    "x", [np.array([[32768]]), np.zeros((0, 3), int), np.zeros(4, int), np.zeros((1, 256), int)]
)
def test_encode_sequence_refuses(x) -> None:
    with pytest.raises(CodesignError):
        board.encode_sequence(x, act_width=16)


def test_reply_decoder_any_split() -> None:
    """Replies decode the same whether bytes arrive at once or one by one."""
    rng = np.random.default_rng(5)
    values = [int(v) for v in rng.integers(-(2**32), 2**32, 7)]
    stream = bytearray()
    for i, v in enumerate(values):
        last = i == len(values) - 1
        stream += bytes([0xA0 | (last << 2)]) + (v & (2**40 - 1)).to_bytes(5, "little")
    perf = [11, 22, 33, 44]
    stream += bytes([0xB0 | board.STATUS_OVERFLOW]) + b"".join(p.to_bytes(4, "little") for p in perf)
    whole = board.ReplyDecoder(acc_width=33).feed(stream)
    dec = board.ReplyDecoder(acc_width=33)
    pieces = [r for b in stream for r in dec.feed([b])]
    assert pieces == whole and dec.pending == 0
    assert board.logit_vectors(whole) == [values]
    assert whole[-1] == board.PerfReply(board.STATUS_OVERFLOW, *perf)


def test_reply_decoder_refuses_unknown_tag() -> None:
    with pytest.raises(CodesignError, match="0x41"):
        board.ReplyDecoder(acc_width=33).feed(b"A")


def test_encode_load() -> None:
    beat = (5 << 112) | (3 << 96) | (7 << 64) | 0x1234
    data = board.encode_load([beat])
    assert data[0] == board.CMD_LOAD and int.from_bytes(data[1:], "little") == beat
    with pytest.raises(CodesignError):
        board.encode_load([1 << 128])
