engine_pkg.sv
fixed_cast.sv
act_table.sv
csc_index_decoder.sv
csc_pe.sv
lstm_eltwise.sv
sparse_lstm_engine.sv
