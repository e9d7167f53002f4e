// Combinational ap_fixed cast of a signed raw value: AP_RND (add half an LSB, then floor) or AP_TRN
// (floor), then AP_SAT (clamp to the output range). Exact: the rounding carry may overflow and saturate,
// as ap_fixed does. InFrac/OutFrac are fraction bits (width - integer bits) and may be negative.
module fixed_cast #(
  parameter int unsigned InWidth  = 32,
  parameter int          InFrac   = 20,
  parameter int unsigned OutWidth = 16,
  parameter int          OutFrac  = 10,
  parameter bit          Round    = 1'b1
) (
  input  logic signed [InWidth-1:0]  in_i,
  output logic signed [OutWidth-1:0] out_o
);
  localparam int SHIFT = InFrac - OutFrac;  // > 0: drop SHIFT low bits; < 0: append zeros
  localparam int unsigned UP = (SHIFT < 0) ? -SHIFT : 0;
  localparam int unsigned EXT_A = InWidth + 2 + UP;
  localparam int unsigned EXT = (EXT_A > OutWidth + 1) ? EXT_A : OutWidth + 1;
  localparam logic signed [EXT-1:0] OUT_MAX = EXT'((64'sd1 <<< (OutWidth - 1)) - 1);
  // Parenthesised: Yosys 0.70 reads -N'(x) as the cast (-N)'(x) and drops the minus (synth checks for it).
  localparam logic signed [EXT-1:0] OUT_MIN = -(EXT'(64'sd1 <<< (OutWidth - 1)));

  logic signed [EXT-1:0] wide, scaled;
  assign wide = EXT'(in_i);

  if (SHIFT > 0) begin : g_down
    localparam logic signed [EXT-1:0] HALF = Round ? (EXT'(1) <<< (SHIFT - 1)) : '0;
    logic signed [EXT-1:0] rounded;
    assign rounded = wide + HALF;
    assign scaled  = rounded >>> SHIFT;
  end else begin : g_up
    assign scaled = wide <<< UP;
  end

  always_comb begin
    if (scaled > OUT_MAX) out_o = OUT_MAX[OutWidth-1:0];
    else if (scaled < OUT_MIN) out_o = OUT_MIN[OutWidth-1:0];
    else out_o = scaled[OutWidth-1:0];
  end
endmodule
