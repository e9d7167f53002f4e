// A register that synthesis keeps as a copy of its own. Yosys merges flops with the same input into one,
// which then drives every lane across the chip; keep_hierarchy stops that, so each lane reads its own copy
// and the placer puts the copy by its readers: the route across the chip ends in a flop.
`default_nettype none

(* keep_hierarchy *)
module lane_reg #(
  parameter int unsigned      Width = 1,
  parameter logic [Width-1:0] Reset = '0
) (
  input  logic             clk_i,
  input  logic             rst_ni,
  input  logic [Width-1:0] d_i,
  output logic [Width-1:0] q_o
);
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) q_o <= Reset;
    else q_o <= d_i;
  end
endmodule

`default_nettype wire
