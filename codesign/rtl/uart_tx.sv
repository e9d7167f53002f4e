// UART transmitter, 8N1, LSB first, with a stream sink: a byte moves when tx_valid_i && tx_ready_o,
// and tx_ready_o is high only while the line is idle (no byte is buffered while one is sent).
// txd_o comes straight from a flop (no glitches on the pin); it idles high.
// Reset: asynchronous, active low.
`default_nettype none

module uart_tx #(
  parameter int unsigned ClkHz = 25_000_000,
  parameter int unsigned Baud  = 115_200
) (
  input  logic       clk_i,
  input  logic       rst_ni,
  input  logic       tx_valid_i,
  output logic       tx_ready_o,
  input  logic [7:0] tx_data_i,
  output logic       txd_o
);
  localparam int unsigned DIVISOR   = (ClkHz + Baud / 2) / Baud;  // clocks per bit, rounded
  localparam int unsigned CNT_WIDTH = $clog2(DIVISOR);
  localparam logic [CNT_WIDTH-1:0] BIT_LAST = CNT_WIDTH'(DIVISOR - 1);

  logic [9:0]           shift_q, shift_d;  // {stop, data[7:0], start}, shifted out LSB first
  logic [3:0]           bits_q, bits_d;    // bits still to send (0: idle)
  logic [CNT_WIDTH-1:0] cnt_q, cnt_d;
  // bits_q == 0 and cnt_q == 0 as flops of their own (asserted): the load and shift enables fan out to
  // every bit of the shift register, from flops rather than through the counters' compares
  logic                 idle_q, cnt_zero_q;

  assign tx_ready_o = idle_q;

  always_comb begin
    shift_d = shift_q;
    bits_d  = bits_q;
    cnt_d   = cnt_q;
    if (tx_valid_i && tx_ready_o) begin
      shift_d = {1'b1, tx_data_i, 1'b0};
      bits_d  = 4'd10;
      cnt_d   = BIT_LAST;
    end else if (!idle_q) begin
      if (cnt_zero_q) begin
        shift_d = {1'b1, shift_q[9:1]};
        bits_d  = bits_q - 1'b1;
        cnt_d   = BIT_LAST;
      end else begin
        cnt_d = cnt_q - 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      shift_q    <= '1;
      bits_q     <= '0;
      cnt_q      <= '0;
      idle_q     <= 1'b1;
      cnt_zero_q <= 1'b1;
    end else begin
      shift_q    <= shift_d;
      bits_q     <= bits_d;
      cnt_q      <= cnt_d;
      idle_q     <= (bits_d == '0);
      cnt_zero_q <= (cnt_d == '0);
    end
  end
  assign txd_o = shift_q[0];

`ifndef SYNTHESIS
  initial assert (DIVISOR >= 2) else $fatal(1, "%m: ClkHz/Baud = %0d < 2 clocks per bit", DIVISOR);
  // verilator lint_off SYNCASYNCNET
  assert property (@(posedge clk_i) disable iff (!rst_ni) idle_q == (bits_q == '0) && cnt_zero_q == (cnt_q == '0));
  // verilator lint_on SYNCASYNCNET
`endif
endmodule

`default_nettype wire
