// The sparse-LSTM engine's parameters, declared once: sparse_lstm_engine's header and every top that
// forwards them (ulx3s_engine_top) expand ENGINE_PARAMETERS, and the tops pass them on with
// ENGINE_PARAMETER_MAP, so a new parameter cannot be missed on the way down. (Not the encoder's
// engine_params.svh in build/rtl/<name>/: that one holds one image's numbers as localparams.)
//   module sparse_lstm_engine #(`ENGINE_PARAMETERS, localparam ...) (...);
//   sparse_lstm_engine #(`ENGINE_PARAMETER_MAP) u_engine (...);
// codesign.engine.params reads the names and defaults from ENGINE_PARAMETERS.
// Only block comments in the macros: to Yosys (0.70) a line comment's `\` is comment, ending the macro.
`ifndef ENGINE_PARAMETERS_SVH
`define ENGINE_PARAMETERS_SVH

`define ENGINE_PARAMETERS \
  parameter int unsigned NumPe        = 8, \
  parameter int unsigned ActWidth     = 21, \
  parameter int          ActFrac      = 15, \
  parameter int unsigned WeightWidth  = 12, \
  parameter int          WeightFrac   = 7, \
  parameter int unsigned IndexWidth   = 4, \
  parameter int unsigned AccWidth     = 39, \
  parameter int unsigned BiasWidth    = 8, \
  parameter int unsigned BiasShift    = 17,   /* acc frac - bias frac */ \
  parameter int unsigned TableInWidth = 11, \
  parameter int          TableInFrac  = 7, \
  parameter int unsigned GateWidth    = 9, \
  parameter int          GateFrac     = 8, \
  parameter int unsigned CellWidth    = 16, \
  parameter int          CellFrac     = 11, \
  parameter int unsigned CellRound    = 2,    /* 0 AP_TRN, 1 AP_RND, 2 AP_RND_CONV; every cast saturates */ \
  parameter int unsigned SigmoidStep  = 1,    /* gate LSBs between two activation levels */ \
  parameter int unsigned TanhStep     = 2, \
  parameter int unsigned MaxInputs    = 16, \
  parameter int unsigned MaxUnits     = 32, \
  parameter int unsigned MaxClasses   = 16, \
  parameter int unsigned MaxLayers    = 2, \
  parameter int unsigned WeightDepth  = 1024, \
  parameter int unsigned FifoDepth    = 16, \
  /* 1: two PEs' element-wise units share each activation table (one true dual-port block RAM, a read */ \
  /* port each); 0: every unit has its own tables (an LSTM unit three, a GRU unit two) */ \
  parameter bit          ShareTables  = 1'b0, \
  /* 1: the layers are GRUs (reset_after; docs/engine.md "One GRU step"), 0: LSTMs */ \
  parameter bit          Gru          = 1'b0, \
  /* configuration after power-up (the load stream may change it) */ \
  parameter int unsigned NumInputs    = 12, \
  parameter int unsigned Units0       = 32, \
  parameter int unsigned Units1       = 0, \
  parameter int unsigned NumClasses   = 9, \
  parameter int unsigned NumLayers    = 1, \
  parameter bit          EmitH        = 1'b0, \
  /* Delta mode (docs/engine.md "Delta mode"): 1 builds the per-layer pre-activation memories M, the */ \
  /* held vectors and the threshold compares, and widens the broadcast by one bit (a change needs it); */ \
  /* it is then on after power-up (config CFG_DELTA) with these thresholds (act raw; config */ \
  /* CFG_THRESHOLD_X / _H) */ \
  parameter bit          Delta        = 1'b0, \
  parameter int unsigned ThresholdX   = 0, \
  parameter int unsigned ThresholdH   = 0, \
  parameter              MemDir       = ""    /* $readmemh images (docs/engine.md names) from here */

`define ENGINE_PARAMETER_MAP \
  .NumPe       (NumPe), \
  .ActWidth    (ActWidth), \
  .ActFrac     (ActFrac), \
  .WeightWidth (WeightWidth), \
  .WeightFrac  (WeightFrac), \
  .IndexWidth  (IndexWidth), \
  .AccWidth    (AccWidth), \
  .BiasWidth   (BiasWidth), \
  .BiasShift   (BiasShift), \
  .TableInWidth(TableInWidth), \
  .TableInFrac (TableInFrac), \
  .GateWidth   (GateWidth), \
  .GateFrac    (GateFrac), \
  .CellWidth   (CellWidth), \
  .CellFrac    (CellFrac), \
  .CellRound   (CellRound), \
  .SigmoidStep (SigmoidStep), \
  .TanhStep    (TanhStep), \
  .MaxInputs   (MaxInputs), \
  .MaxUnits    (MaxUnits), \
  .MaxClasses  (MaxClasses), \
  .MaxLayers   (MaxLayers), \
  .WeightDepth (WeightDepth), \
  .FifoDepth   (FifoDepth), \
  .ShareTables (ShareTables), \
  .Gru         (Gru), \
  .NumInputs   (NumInputs), \
  .Units0      (Units0), \
  .Units1      (Units1), \
  .NumClasses  (NumClasses), \
  .NumLayers   (NumLayers), \
  .EmitH       (EmitH), \
  .Delta       (Delta), \
  .ThresholdX  (ThresholdX), \
  .ThresholdH  (ThresholdH), \
  .MemDir      (MemDir)

`endif
