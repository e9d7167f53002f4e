engine_pkg.sv
// the parameter list's header: an include folder to codesign (filelist.py), defines only to Verilator
engine_parameters.svh
fixed_cast.sv
lane_reg.sv
act_table.sv
act_table_dp.sv
csc_index_decoder.sv
csc_pe.sv
lstm_eltwise.sv
gru_eltwise.sv
sparse_lstm_engine.sv
