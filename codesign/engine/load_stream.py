"""The engine's weight-load stream (docs/engine.md): every memory word and the configuration as 128-bit
beats {sel[127:112], pe[111:96], addr[95:64], data[63:0]}; a column-pointer beat carries the column's flags
(encoder.column_flags) in data[34:32] above the pointer. Used by the cocotb testbench and by the board's
host side (codesign.board), which sends the same beats over the UART.
"""

from __future__ import annotations

import numpy as np

from codesign.engine.encoder import column_flags

SEL_WEIGHT, SEL_COLPTR, SEL_BIAS, SEL_SIGMOID, SEL_TANH, SEL_CONFIG = range(6)
COLFLAGS_LSB = 32  # a column-pointer beat's flags, data[34:32] (rtl/engine_pkg.sv)


def load_beats(image, emit_h: bool) -> list[int]:
    """The weight-load stream for an image: every memory word and the configuration."""
    beats = []

    def beat(sel: int, pe: int, addr: int, data: int) -> None:
        beats.append((sel << 112) | (pe << 96) | (addr << 64) | (int(data) & ((1 << 64) - 1)))

    for k in range(image.num_pe):
        for addr, word in enumerate(image.pe_words(k)):
            beat(SEL_WEIGHT, k, addr, int(word))
        ptrs = np.concatenate([m.colptr[k] for m in image.matrices])
        for addr, (ptr, flags) in enumerate(zip(ptrs, column_flags(ptrs), strict=True)):
            beat(SEL_COLPTR, k, addr, (int(flags) << COLFLAGS_LSB) | int(ptr))
    for k in range(image.num_pe):
        for addr, b in enumerate(image.pe_bias(k)):
            beat(SEL_BIAS, k, addr, int(b))
    for addr, v in enumerate(image.sigmoid_table):
        beat(SEL_SIGMOID, 0, addr, int(v))
    for addr, v in enumerate(image.tanh_table):
        beat(SEL_TANH, 0, addr, int(v))
    units = list(image.units) + [0]
    head = image.matrices[-1]
    layer1 = image.matrices[1] if len(image.units) > 1 else head
    config = [
        image.inputs, units[0], units[1], image.classes, len(image.units), int(emit_h),
        image.matrices[0].colptr_base, layer1.colptr_base, head.colptr_base,
        image.matrices[0].bias_base, layer1.bias_base, head.bias_base,
        int(image.delta is not None), *(image.delta or (0, 0)),
    ]  # fmt: skip
    for addr, value in enumerate(config):
        beat(SEL_CONFIG, 0, addr, value)
    return beats
