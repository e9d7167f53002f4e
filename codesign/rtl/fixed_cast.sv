// Combinational ap_fixed cast of a signed raw value: AP_TRN (floor), AP_RND (add half an LSB, then
// floor) or AP_RND_CONV (round half to even, QKeras' tf.round), then AP_SAT (clamp to the output range). Exact: the rounding carry may overflow and saturate,
// as ap_fixed does. InFrac/OutFrac are fraction bits (width - integer bits) and may be negative.
// Built for speed: floor(x + half) = floor(x) + (the first dropped bit), so the rounding is an
// OutWidth-bit increment, and the range check looks at the floored value's high bits (all equal to its
// sign, or not) in parallel with it: no carry chain as wide as the input.
// Prebiased = 1 (rounding modes only): the input already holds x + half an output LSB (added where it is
// free, e.g. in a register beside the add that makes x), so there is no increment: floor(in) is AP_RND's
// result, and AP_RND_CONV's tie (x exactly half-way: in's dropped bits all 0) takes the even neighbour
// below, floor(in) with its LSB cleared. The range check sees the rounded value, so saturation is as above.
`default_nettype none

module fixed_cast #(
  parameter int unsigned InWidth  = 32,
  parameter int          InFrac   = 20,
  parameter int unsigned OutWidth = 16,
  parameter int          OutFrac  = 10,
  parameter int unsigned Round    = 1,  // 0 AP_TRN, 1 AP_RND, 2 AP_RND_CONV
  parameter bit          Prebiased = 1'b0
) (
  input  logic signed [InWidth-1:0]  in_i,
  output logic signed [OutWidth-1:0] out_o
);
  localparam int SHIFT = InFrac - OutFrac;  // > 0: drop SHIFT low bits; < 0: append zeros
  localparam int unsigned UP = (SHIFT < 0) ? -SHIFT : 0;
  localparam int unsigned DOWN = (SHIFT > 0) ? SHIFT : 0;
  localparam int unsigned EXT_A = InWidth + 1 + UP;
  localparam int unsigned EXT_B = (EXT_A > OutWidth + 1) ? EXT_A : OutWidth + 1;
  localparam int unsigned EXT = (EXT_B > DOWN + 1) ? EXT_B : DOWN + 1;
  localparam logic signed [OutWidth-1:0] OUT_MAX = OutWidth'((64'sd1 <<< (OutWidth - 1)) - 1);
  // Parenthesised: Yosys 0.70 reads -N'(x) as the cast (-N)'(x) and drops the minus (synth checks for it).
  localparam logic signed [OutWidth-1:0] OUT_MIN = -(OutWidth'(64'sd1 <<< (OutWidth - 1)));

  logic signed [EXT-1:0] wide, floored;
  logic                  round_bit, tie_even;  // tie_even: (Prebiased) clear the rounded value's LSB
  assign wide = EXT'(in_i);

  if (SHIFT > 0 && Prebiased) begin : g_down_biased
    assign floored   = wide >>> DOWN;
    assign round_bit = 1'b0;
    assign tie_even  = (Round == 2) && (wide[DOWN-1:0] == '0);
  end else if (SHIFT > 0) begin : g_down
    assign floored  = wide >>> DOWN;
    assign tie_even = 1'b0;
    if (Round == 2) begin : g_conv
      // AP_RND_CONV: up above the tie, and on a tie only from an odd floor (to the even neighbour).
      logic rest;  // any dropped bit below the first
      if (DOWN > 1) begin : g_rest
        assign rest = |wide[DOWN-2:0];
      end else begin : g_no_rest
        assign rest = 1'b0;
      end
      assign round_bit = wide[DOWN-1] && (rest || wide[DOWN]);
    end else begin : g_rnd
      assign round_bit = (Round == 1) && wide[DOWN-1];
    end
  end else begin : g_up
    assign floored   = wide <<< UP;
    assign round_bit = 1'b0;
    assign tie_even  = 1'b0;
  end

  // floored fits the output iff its bits from the output's sign bit up are all equal.
  logic [EXT-OutWidth:0]  high;
  logic                   fits, negative, at_max;
  logic [OutWidth-1:0]    low;
  assign high     = floored[EXT-1:OutWidth-1];
  assign fits     = (&high) || !(|high);
  assign negative = floored[EXT-1];
  assign low      = floored[OutWidth-1:0];
  assign at_max   = (low == OUT_MAX);

  always_comb begin
    if (!fits) out_o = negative ? OUT_MIN : OUT_MAX;
    else if (round_bit && at_max) out_o = OUT_MAX;  // rounding carries past the largest value
    else if (tie_even) out_o = $signed({low[OutWidth-1:1], 1'b0});
    else out_o = $signed(low + OutWidth'(round_bit));
  end
`ifndef SYNTHESIS
  initial begin
    if (Prebiased && (Round == 0 || SHIFT <= 0)) $error("%m: Prebiased needs a rounding mode and dropped bits");
  end
`endif
endmodule

`default_nettype wire
