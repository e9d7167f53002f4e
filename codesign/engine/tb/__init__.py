"""cocotb testbench of the engine, shared by `codesign sim` and tests/rtl.

This folder (not codesign/engine) goes on the simulator's Python path: codesign/engine/types.py would
shadow the standard library's `types` there.
"""
