// ULX3S board top: the engine (engine.f's files, same order) and the UART bridge around it.
fixed_cast.sv
act_table.sv
csc_index_decoder.sv
csc_pe.sv
lstm_eltwise.sv
sparse_lstm_engine.sv
stream_fifo.sv
uart_rx.sv
uart_tx.sv
ulx3s_engine_top.sv
