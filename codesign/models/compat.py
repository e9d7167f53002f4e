"""Run-time compatibility shim for the pinned QKeras 0.9.0 on TensorFlow 2.14.

QKeras 0.9.0's recurrent cells call two TensorFlow internals that TF 2.13 removed:
`nest.is_sequence` (now `is_nested`; QSimpleRNNCell.call and QGRUCell.call) and `array_ops.unstack`
(now only `tf.unstack`; QGRUCell.call with reset_after=True). So QGRU and QSimpleRNN fail on their
first call; QLSTM does not use either. Rather than edit the installed package, give qkeras.qrecurrent
module proxies that also answer to the old names. The layers keep their QKeras classes, which is what
hls4ml's converter recognises.
"""

from __future__ import annotations

import qkeras.qrecurrent as _qrecurrent
import tensorflow as tf
from tensorflow.python.ops import array_ops as _tf_array_ops
from tensorflow.python.util import nest as _tf_nest


class _ModuleWithAliases:
    """Looks up attributes on `module`, except the old names given as `aliases`."""

    def __init__(self, module, **aliases):
        self._module = module
        self.__dict__.update(aliases)

    def __getattr__(self, name: str):
        return getattr(self._module, name)


def apply() -> None:
    if not hasattr(_qrecurrent.nest, "is_sequence"):
        _qrecurrent.nest = _ModuleWithAliases(_tf_nest, is_sequence=_tf_nest.is_nested)
    if not hasattr(_qrecurrent.array_ops, "unstack"):
        _qrecurrent.array_ops = _ModuleWithAliases(_tf_array_ops, unstack=tf.unstack)


apply()
