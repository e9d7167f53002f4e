// Activation look-up table shared by two element-wise units: act_table (same contents, addressing and
// $readmemh initialisation) with two synchronous read ports, A and B, on one true dual-port block RAM.
// The weight-load stream writes through port A (only between sequences, when nothing reads it).
`default_nettype none

module act_table_dp #(
  parameter int unsigned AddrWidth = 12,
  parameter int unsigned Width     = 10,
  parameter              InitFile  = ""
) (
  input  logic                 clk_i,
  input  logic                 rd_en_a_i,
  input  logic [AddrWidth-1:0] rd_addr_a_i,
  output logic [Width-1:0]     rd_data_a_o,
  input  logic                 rd_en_b_i,
  input  logic [AddrWidth-1:0] rd_addr_b_i,
  output logic [Width-1:0]     rd_data_b_o,
  input  logic                 wr_en_i,
  input  logic [AddrWidth-1:0] wr_addr_i,
  input  logic [Width-1:0]     wr_data_i
);
  localparam int unsigned DEPTH = 1 << AddrWidth;

  // no_rw_check: written between sequences only, never in a cycle that reads (no bypass logic)
  (* no_rw_check *) logic [Width-1:0] mem_q [DEPTH];
  logic [Width-1:0]     rd_a_q, rd_b_q;
  logic [AddrWidth-1:0] addr_a;
  assign addr_a = wr_en_i ? wr_addr_i : rd_addr_a_i;

  initial begin
    if (InitFile != "") $readmemh(InitFile, mem_q);
  end

  // Port A: one address for the load write and the read (a block RAM read/write port, read first).
  always_ff @(posedge clk_i) begin
    if (wr_en_i || rd_en_a_i) begin
      if (wr_en_i) mem_q[addr_a] <= wr_data_i;
      rd_a_q <= mem_q[addr_a];
    end
  end
  always_ff @(posedge clk_i) begin
    if (rd_en_b_i) rd_b_q <= mem_q[rd_addr_b_i];
  end

  assign rd_data_a_o = rd_a_q;
  assign rd_data_b_o = rd_b_q;
endmodule

`default_nettype wire
