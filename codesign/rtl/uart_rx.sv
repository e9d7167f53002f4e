// UART receiver, 8N1, LSB first. The line passes a 2-flop synchronizer; a start bit must still be low
// half a bit after its falling edge (glitch filter), then every bit is sampled in its middle.
// A byte leaves as a one-cycle rx_valid_o pulse: there is no ready (a UART line cannot wait), so the
// consumer buffers (ulx3s_engine_top puts a FIFO here). A stop bit read as 0 drops the byte, pulses
// rx_frame_err_o and waits for the line to go high again (a break does not become a stream of 0x00).
// Reset: asynchronous, active low.
`default_nettype none

module uart_rx #(
  parameter int unsigned ClkHz = 25_000_000,
  parameter int unsigned Baud  = 115_200
) (
  input  logic       clk_i,
  input  logic       rst_ni,
  input  logic       rxd_i,
  output logic       rx_valid_o,
  output logic [7:0] rx_data_o,
  output logic       rx_frame_err_o
);
  localparam int unsigned DIVISOR   = (ClkHz + Baud / 2) / Baud;  // clocks per bit, rounded
  localparam int unsigned CNT_WIDTH = $clog2(DIVISOR);
  localparam logic [CNT_WIDTH-1:0] BIT_LAST  = CNT_WIDTH'(DIVISOR - 1);
  localparam logic [CNT_WIDTH-1:0] HALF_LAST = CNT_WIDTH'(DIVISOR / 2 - 1);

  typedef enum logic [2:0] {
    S_IDLE,   // line high, waiting for a start bit
    S_START,  // half a bit into the start bit: still low?
    S_DATA,   // 8 data bits, sampled mid-bit
    S_STOP,   // stop bit, sampled mid-bit
    S_BREAK   // after a framing error: wait for the line to return high
  } state_e;

  logic [1:0]           sync_q;
  logic                 rxd;
  state_e               state_q, state_d;
  logic [CNT_WIDTH-1:0] cnt_q, cnt_d;
  logic [2:0]           bit_q, bit_d;
  logic [7:0]           data_q, data_d;
  logic                 valid_d, err_d;

  // Metastability: the line is asynchronous to clk_i. Idle level is high.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) sync_q <= 2'b11;
    else sync_q <= {sync_q[0], rxd_i};
  end
  assign rxd = sync_q[1];

  always_comb begin
    state_d = state_q;
    cnt_d   = (cnt_q == '0) ? '0 : cnt_q - 1'b1;
    bit_d   = bit_q;
    data_d  = data_q;
    valid_d = 1'b0;
    err_d   = 1'b0;
    unique case (state_q)
      S_IDLE: begin
        if (!rxd) begin
          cnt_d   = HALF_LAST;
          state_d = S_START;
        end
      end
      S_START: begin
        if (cnt_q == '0) begin
          cnt_d   = BIT_LAST;
          bit_d   = '0;
          state_d = rxd ? S_IDLE : S_DATA;
        end
      end
      S_DATA: begin
        if (cnt_q == '0) begin
          data_d = {rxd, data_q[7:1]};
          cnt_d  = BIT_LAST;
          bit_d  = bit_q + 1'b1;
          if (bit_q == 3'd7) state_d = S_STOP;
        end
      end
      S_STOP: begin
        if (cnt_q == '0) begin
          // back to idle in the middle of the stop bit: tolerates a slightly fast sender
          valid_d = rxd;
          err_d   = !rxd;
          state_d = rxd ? S_IDLE : S_BREAK;
        end
      end
      S_BREAK: begin
        if (rxd) state_d = S_IDLE;
      end
      default: state_d = S_IDLE;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      state_q        <= S_IDLE;
      cnt_q          <= '0;
      bit_q          <= '0;
      data_q         <= '0;
      rx_valid_o     <= 1'b0;
      rx_frame_err_o <= 1'b0;
    end else begin
      state_q        <= state_d;
      cnt_q          <= cnt_d;
      bit_q          <= bit_d;
      data_q         <= data_d;
      rx_valid_o     <= valid_d;
      rx_frame_err_o <= err_d;
    end
  end
  assign rx_data_o = data_q;

`ifndef SYNTHESIS
  initial assert (DIVISOR >= 4) else $fatal(1, "%m: ClkHz/Baud = %0d < 4 clocks per bit", DIVISOR);
`endif
endmodule

`default_nettype wire
