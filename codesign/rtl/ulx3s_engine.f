// ULX3S board top: the engine and the UART bridge around it.
-f engine.f
stream_fifo.sv
uart_rx.sv
uart_tx.sv
ulx3s_engine_top.sv
