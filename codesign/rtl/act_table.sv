// Activation look-up table (sigmoid or tanh): Depth = 2^AddrWidth entries of signed Width-bit words,
// entry k holding F(u) for the table input u whose two's-complement raw bits read as unsigned are k
// (docs/engine.md: entry 0 is u = 0, entry 2^(AddrWidth-1) the most negative u). Synchronous read (one block RAM); a write port for the
// weight-load stream; optional $readmemh initialisation for synthesis.
`default_nettype none

module act_table #(
  parameter int unsigned AddrWidth = 12,
  parameter int unsigned Width     = 10,
  parameter              InitFile  = ""
) (
  input  logic                 clk_i,
  input  logic                 rd_en_i,
  input  logic [AddrWidth-1:0] rd_addr_i,
  output logic [Width-1:0]     rd_data_o,
  input  logic                 wr_en_i,
  input  logic [AddrWidth-1:0] wr_addr_i,
  input  logic [Width-1:0]     wr_data_i
);
  localparam int unsigned DEPTH = 1 << AddrWidth;

  // no_rw_check: written by the load stream between sequences only, never in a cycle that reads, so
  // Yosys need not emulate read-during-write (its bypass flops and a multiplexer after the block RAM).
  (* no_rw_check *) logic [Width-1:0] mem_q [DEPTH];
  logic [Width-1:0] rd_data_q;

  initial begin
    if (InitFile != "") $readmemh(InitFile, mem_q);
  end

  always_ff @(posedge clk_i) begin
    if (wr_en_i) mem_q[wr_addr_i] <= wr_data_i;
    if (rd_en_i) rd_data_q <= mem_q[rd_addr_i];
  end

  assign rd_data_o = rd_data_q;
endmodule

`default_nettype wire
