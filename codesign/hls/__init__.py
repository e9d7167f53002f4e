"""hls4ml bridge: types from QKeras quantizers, hls4ml extensions, C-simulation, estimates, report parsers."""
