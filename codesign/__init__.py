"""codesign: quantization-aware RNNs (LSTM, GRU) from training to FPGA hardware, verified bit for bit."""

from codesign.errors import CodesignError

__all__ = ["CodesignError"]
__version__ = "0.1.0"
