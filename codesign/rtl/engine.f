engine_pkg.sv
fixed_cast.sv
act_table.sv
act_table_dp.sv
csc_index_decoder.sv
csc_pe.sv
lstm_eltwise.sv
sparse_lstm_engine.sv
