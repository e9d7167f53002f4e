// Constants shared by the engine's modules, the board top and the Python side (codesign.engine.load_stream,
// codesign.engine.params): the weight-load stream's beat layout and select codes, the configuration
// addresses, the output stream's tuser codes and the cast rounding codes. tests/test_engine_params.py checks
// that the Python constants and the RTL's own copies agree with this file.
// verilator lint_off UNUSEDPARAM
// (the engine's modules import the package when they are next edited; until then nothing uses it)
package engine_pkg;
  // ---- weight-load stream: {sel[127:112], pe[111:96], addr[95:64], data[63:0]} per beat --------------
  localparam int unsigned LOAD_WIDTH = 128;
  localparam int unsigned LOAD_SEL_LSB  = 112;
  localparam int unsigned LOAD_PE_LSB   = 96;
  localparam int unsigned LOAD_ADDR_LSB = 64;
  localparam int unsigned LOAD_DATA_BITS = 64;

  localparam logic [15:0] SEL_WEIGHT  = 16'd0;  // weight word of PE `pe`
  localparam logic [15:0] SEL_COLPTR  = 16'd1;  // column pointer of PE `pe`
  localparam logic [15:0] SEL_BIAS    = 16'd2;
  localparam logic [15:0] SEL_SIGMOID = 16'd3;  // sigmoid table entry
  localparam logic [15:0] SEL_TANH    = 16'd4;  // tanh table entry
  localparam logic [15:0] SEL_CONFIG  = 16'd5;  // configuration word at CFG_*
  // a column-pointer beat's data: the pointer, and at data[COLFLAGS_LSB +: 3] its column's flags
  // {two words, one word, non-empty} (codesign.engine.encoder.column_flags)
  localparam logic [7:0]  COLFLAGS_LSB = 8'd32;

  // ---- configuration addresses (sel SEL_CONFIG) ----------------------------------------------------
  localparam logic [3:0] CFG_INPUTS       = 4'd0;
  localparam logic [3:0] CFG_UNITS0       = 4'd1;
  localparam logic [3:0] CFG_UNITS1       = 4'd2;
  localparam logic [3:0] CFG_CLASSES      = 4'd3;
  localparam logic [3:0] CFG_LAYERS       = 4'd4;
  localparam logic [3:0] CFG_EMIT_H       = 4'd5;
  localparam logic [3:0] CFG_PTR_BASE_L0  = 4'd6;
  localparam logic [3:0] CFG_PTR_BASE_L1  = 4'd7;
  localparam logic [3:0] CFG_PTR_BASE_HD  = 4'd8;
  localparam logic [3:0] CFG_BIAS_BASE_L0 = 4'd9;
  localparam logic [3:0] CFG_BIAS_BASE_L1 = 4'd10;
  localparam logic [3:0] CFG_BIAS_BASE_HD = 4'd11;
  localparam logic [3:0] CFG_DELTA        = 4'd12;  // delta mode on (a Delta build only)
  localparam logic [3:0] CFG_THRESHOLD_X  = 4'd13;  // delta thresholds, act raw
  localparam logic [3:0] CFG_THRESHOLD_H  = 4'd14;

  // ---- output stream tuser: logits, or h_t of layer l as l + 1 ---------------------------------------
  localparam logic [1:0] USER_LOGITS = 2'd0;
  localparam logic [1:0] USER_H0     = 2'd1;
  localparam logic [1:0] USER_H1     = 2'd2;

  // ---- performance counters -------------------------------------------------------------------------
  localparam int unsigned PERF_WIDTH = 32;

  // ---- cast rounding (CellRound): every cast saturates ----------------------------------------------
  localparam int unsigned ROUND_TRN      = 0;  // AP_TRN
  localparam int unsigned ROUND_RND      = 1;  // AP_RND
  localparam int unsigned ROUND_RND_CONV = 2;  // AP_RND_CONV

  // ---- build limits (codesign.engine.types, codesign.engine.encoder) --------------------------------
  localparam int unsigned MAX_LAYERS = 2;
endpackage
// verilator lint_on UNUSEDPARAM
