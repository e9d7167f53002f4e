// Test harness for rtl/uart_tx.sv and rtl/uart_rx.sv: the receiver listens to the transmitter when
// loopback_i, else to rxd_i (driven bit by bit by the testbench).
module uart_loopback #(
  parameter int unsigned ClkHz = 8_000_000,
  parameter int unsigned Baud  = 1_000_000
) (
  input  logic       clk_i,
  input  logic       rst_ni,
  input  logic       loopback_i,
  input  logic       rxd_i,
  input  logic       tx_valid_i,
  output logic       tx_ready_o,
  input  logic [7:0] tx_data_i,
  output logic       txd_o,
  output logic       rx_valid_o,
  output logic [7:0] rx_data_o,
  output logic       rx_frame_err_o
);
  uart_tx #(
    .ClkHz(ClkHz),
    .Baud (Baud)
  ) u_tx (
    .clk_i,
    .rst_ni,
    .tx_valid_i,
    .tx_ready_o,
    .tx_data_i,
    .txd_o
  );

  uart_rx #(
    .ClkHz(ClkHz),
    .Baud (Baud)
  ) u_rx (
    .clk_i,
    .rst_ni,
    .rxd_i(loopback_i ? txd_o : rxd_i),
    .rx_valid_o,
    .rx_data_o,
    .rx_frame_err_o
  );
endmodule
