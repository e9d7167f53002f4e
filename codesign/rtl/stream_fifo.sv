// Synchronous FIFO with AXI4-Stream handshakes on both sides.
// Reset: asynchronous, active low (rst_ni), as every module of the engine.
// Depth may be any value >= 2; the output is registered storage read combinationally (distributed RAM),
// so a beat written in cycle t is visible at the output in cycle t+1.
`default_nettype none

module stream_fifo #(
  parameter int unsigned Width = 8,
  parameter int unsigned Depth = 4
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic             in_valid_i,
  output logic             in_ready_o,
  input  logic [Width-1:0] in_data_i,
  output logic             out_valid_o,
  input  logic             out_ready_i,
  output logic [Width-1:0] out_data_o
);
  localparam int unsigned PTR_WIDTH = (Depth > 1) ? $clog2(Depth) : 1;
  localparam int unsigned CNT_WIDTH = $clog2(Depth + 1);
  localparam logic [PTR_WIDTH-1:0] LAST_PTR = PTR_WIDTH'(Depth - 1);
  localparam logic [CNT_WIDTH-1:0] FULL_CNT = CNT_WIDTH'(Depth);

  logic [Width-1:0] mem_q [Depth];
  logic [PTR_WIDTH-1:0] wr_ptr_q, wr_ptr_d, rd_ptr_q, rd_ptr_d;
  logic [CNT_WIDTH-1:0] count_q, count_d;
  logic push, pop;

  assign in_ready_o  = (count_q != FULL_CNT);
  assign out_valid_o = (count_q != '0);
  assign out_data_o  = mem_q[rd_ptr_q];
  assign push = in_valid_i && in_ready_o;
  assign pop  = out_valid_o && out_ready_i;

  always_comb begin
    wr_ptr_d = wr_ptr_q;
    rd_ptr_d = rd_ptr_q;
    count_d  = count_q;
    if (push) wr_ptr_d = (wr_ptr_q == LAST_PTR) ? '0 : wr_ptr_q + 1'b1;
    if (pop) rd_ptr_d = (rd_ptr_q == LAST_PTR) ? '0 : rd_ptr_q + 1'b1;
    unique case ({push, pop})
      2'b10:   count_d = count_q + 1'b1;
      2'b01:   count_d = count_q - 1'b1;
      default: count_d = count_q;
    endcase
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      wr_ptr_q <= '0;
      rd_ptr_q <= '0;
      count_q  <= '0;
    end else begin
      wr_ptr_q <= wr_ptr_d;
      rd_ptr_q <= rd_ptr_d;
      count_q  <= count_d;
    end
  end

  // Storage has no reset: it is never read while empty.
  always_ff @(posedge clk_i) begin
    if (push) mem_q[wr_ptr_q] <= in_data_i;
  end

`ifndef SYNTHESIS
  // The assertions sample rst_ni synchronously (disable iff); the design itself resets asynchronously.
  // verilator lint_off SYNCASYNCNET
  initial assert (Depth >= 2) else $fatal(1, "%m: Depth %0d < 2", Depth);
  assert property (@(posedge clk_i) disable iff (!rst_ni) count_q <= FULL_CNT);
  // verilator lint_on SYNCASYNCNET
`endif
endmodule

`default_nettype wire
