"""QKeras model builders and training. Submodules import TensorFlow; this package file does not."""

INPUT_QUANTIZER = "x_q"  # the QKeras input quantizer layer (builders.py), named in the HLS config
