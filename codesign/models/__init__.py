"""QKeras model builders and training. Submodules import TensorFlow; this package file does not."""
