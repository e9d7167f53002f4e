"""Everything the project adds to hls4ml, installed in the order hls4ml needs (idempotent, process-wide).

The recurrent layers' parser, pass and templates first (`extensions`); then the layers built on them,
whose templates match their nodes only and so must format last: block-sparse LSTM/GRU (`block_sparse`)
and block-circulant LSTM (`circulant`).
"""

from __future__ import annotations

from codesign.hls import block_sparse, circulant, extensions


def register() -> None:
    extensions.register()
    block_sparse.register()
    circulant.register()
