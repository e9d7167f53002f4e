// Element-wise unit of the LSTM step (docs/engine.md "One LSTM step", "Activations").
//
// Takes one pre-activation z (accumulator + bias, exact) per cycle, tagged with its gate (0 i, 1 f,
// 2 g, 3 o), in the order i, f, g, o of one hidden unit; c_{t-1} (q_state(c_{t-1}), cell type) comes with
// the o beat. Fixed latency (out_valid_o LATENCY = 10 cycles after in_valid_i), no back-pressure:
//   cycle 0  table address = floor cast of z onto the table cells, and z's bits below the cell, registered
//   cycle 1  sigmoid (i, f, o) or tanh (g) table read
//   cycle 2  both tables' entries {offset, base} into flops (nothing else may follow a table's output)
//   cycle 3  level = base + step * (low bits >= offset), kept (i, f, g); on o: f*c_prev and i*g (exact)
//   cycle 4  s = f*c_prev + i*g (exact), registered
//   cycle 5  c_t = cast_cell(s) (AP_RND_CONV: q_state(c_t)); tanh address and low bits of the EXACT s
//   cycle 6  tanh table read
//   cycle 7  its entry into a flop
//   cycle 8  o * base, and the boundary compare
//   cycle 9  h_t = o * base + (compare ? o * TanhStep : 0) (exact; TanhStep is a power of two: a shift),
//            out_h_o = h_t in act (exact), out_hs_o = q_state(h_t) = cast_cell(h_t) in act: out_valid_o
//            in cycle 10
// One multiply, one carry chain or one table read per cycle, and nothing after a table's output but a
// flop: an ECP5 DP16KD's data come 5.8 ns after the clock and a MULT18X18D takes 3.9 ns (ulx3s timing).
// Tables: entry address = the table-input raw's two's-complement bits (see act_table). They are written
// through tbl_* (0 sigmoid, 1 tanh); the cell's tanh table is a second copy written by the same beats.
// ExternalTables = 1: the three tables are outside (the engine shares each between two units, act_table_dp):
// this unit drives their read enables and addresses (xt_*_o) and takes their registered data (xt_*_i) with
// the same timing; tbl_* are then unused.
// Reset: asynchronous, active low.
// keep_hierarchy: Yosys would otherwise merge the NumPe units' identical control pipelines (valid, gate,
// unit) into one set of flops fanning out to every unit across the chip.
(* keep_hierarchy *)
`default_nettype none

module lstm_eltwise #(
  parameter int unsigned ZWidth       = 40,
  parameter int          ZFrac        = 22,
  parameter int unsigned TableInWidth = 11,
  parameter int          TableInFrac  = 7,
  parameter int unsigned GateWidth    = 9,
  parameter int          GateFrac     = 8,
  parameter int unsigned CellWidth    = 16,
  parameter int          CellFrac     = 11,
  parameter int unsigned CellRound    = 2,  // 0 AP_TRN, 1 AP_RND, 2 AP_RND_CONV (all casts saturate)
  parameter int unsigned ActWidth     = 21,
  parameter int          ActFrac      = 15,
  parameter int unsigned SigmoidStep  = 1,  // gate LSBs between two levels (a power of two)
  parameter int unsigned TanhStep     = 2,
  parameter int unsigned UnitWidth    = 8,
  parameter              SigmoidFile  = "",
  parameter              TanhFile     = "",
  parameter bit          ExternalTables = 1'b0,
  // Exact sum type of f*c + i*g (ap_fixed RType::plus) and the tables' boundary grid (docs/engine.md).
  localparam int          FC_FRAC     = GateFrac + CellFrac,
  localparam int          IG_FRAC     = 2 * GateFrac,
  localparam int          SUM_FRAC    = (FC_FRAC > IG_FRAC) ? FC_FRAC : IG_FRAC,
  localparam int          BOUND_FRAC  = (ZFrac > SUM_FRAC) ? ZFrac : SUM_FRAC,
  localparam int unsigned OFF_WIDTH   = unsigned'(BOUND_FRAC - TableInFrac + 1),
  localparam int unsigned TableWidth  = GateWidth + OFF_WIDTH
) (
  input  logic                        clk_i,
  input  logic                        rst_ni,
  input  logic                        in_valid_i,
  input  logic [1:0]                  in_gate_i,
  input  logic signed [ZWidth-1:0]    in_z_i,
  input  logic signed [CellWidth-1:0] in_c_prev_i,
  input  logic [UnitWidth-1:0]        in_unit_i,
  output logic                        out_valid_o,
  output logic [UnitWidth-1:0]        out_unit_o,
  output logic signed [CellWidth-1:0] out_c_o,
  output logic signed [ActWidth-1:0]  out_h_o,
  output logic signed [ActWidth-1:0]  out_hs_o,
  input  logic                        tbl_we_i,
  input  logic                        tbl_sel_i,
  input  logic [TableInWidth-1:0]     tbl_addr_i,
  input  logic [TableWidth-1:0]       tbl_data_i,
  // external tables (ExternalTables = 1): sigmoid and tanh(g) read at xt_gate_addr_o, tanh(c_t) at
  // xt_cell_addr_o; the data one cycle after the enable, from the table's own register
  output logic                        xt_sig_en_o,
  output logic                        xt_tanh_gate_en_o,
  output logic                        xt_tanh_cell_en_o,
  output logic [TableInWidth-1:0]     xt_gate_addr_o,
  output logic [TableInWidth-1:0]     xt_cell_addr_o,
  input  logic [TableWidth-1:0]       xt_sig_data_i,
  input  logic [TableWidth-1:0]       xt_tanh_gate_data_i,
  input  logic [TableWidth-1:0]       xt_tanh_cell_data_i
);
  localparam logic [1:0] GATE_I = 2'd0;
  localparam logic [1:0] GATE_F = 2'd1;
  localparam logic [1:0] GATE_G = 2'd2;
  localparam logic [1:0] GATE_O = 2'd3;
  localparam int unsigned FC_WIDTH = GateWidth + CellWidth;  // f * c_prev
  localparam int unsigned IG_WIDTH = 2 * GateWidth;          // i * g
  localparam int          FC_INT   = int'(FC_WIDTH) - FC_FRAC;
  localparam int          IG_INT   = int'(IG_WIDTH) - IG_FRAC;
  localparam int          SUM_INT  = ((FC_INT > IG_INT) ? FC_INT : IG_INT) + 1;
  localparam int unsigned SUM_WIDTH = unsigned'(SUM_INT + SUM_FRAC);
  localparam int unsigned OH_WIDTH = 2 * GateWidth;           // o * tanh(c_t), |h| < 1
  localparam int          OH_FRAC  = 2 * GateFrac;
  localparam int unsigned TANH_SHIFT = $clog2(TanhStep);
  localparam logic signed [GateWidth-1:0] SIG_STEP  = GateWidth'(SigmoidStep);
  localparam logic signed [GateWidth-1:0] TANH_STEP = GateWidth'(TanhStep);

  // z's and s's bits below their table cell, moved onto the boundary grid (unsigned, < 2^(OFF_WIDTH-1)).
  localparam int Z_BELOW = ZFrac - TableInFrac;
  localparam int S_BELOW = SUM_FRAC - TableInFrac;
  logic [OFF_WIDTH-1:0] z_low, s_low;
  logic signed [SUM_WIDTH-1:0] u_sum_q;  // cycle 5's register (below), s
  if (Z_BELOW > 0) begin : g_z_low
    assign z_low = OFF_WIDTH'(in_z_i[Z_BELOW-1:0]) << (BOUND_FRAC - ZFrac);
  end else begin : g_z_no_low
    assign z_low = '0;
  end
  if (S_BELOW > 0) begin : g_s_low
    assign s_low = OFF_WIDTH'(u_sum_q[S_BELOW-1:0]) << (BOUND_FRAC - SUM_FRAC);
  end else begin : g_s_no_low
    assign s_low = '0;
  end

  // ---- cycle 0: table address and low bits -------------------------------------------------------------
  logic [TableInWidth-1:0] z_addr;
  fixed_cast #(
    .InWidth (ZWidth),
    .InFrac  (ZFrac),
    .OutWidth(TableInWidth),
    .OutFrac (TableInFrac),
    .Round   (0)
  ) u_cast_z (
    .in_i  (in_z_i),
    .out_o (z_addr)
  );

  logic                        t_valid_q;
  logic [1:0]                  t_gate_q;
  logic [TableInWidth-1:0]     t_addr_q;
  logic [OFF_WIDTH-1:0]        t_low_q;
  logic signed [CellWidth-1:0] t_c_prev_q;
  logic [UnitWidth-1:0]        t_unit_q;

  // ---- cycle 1: table reads ---------------------------------------------------------------------------
  logic [TableWidth-1:0] sig_data, tanh_data, tanh_c_data;
  assign xt_sig_en_o       = t_valid_q && (t_gate_q != GATE_G);
  assign xt_tanh_gate_en_o = t_valid_q && (t_gate_q == GATE_G);
  assign xt_gate_addr_o    = t_addr_q;
  if (ExternalTables) begin : g_ext_gate
    assign sig_data  = xt_sig_data_i;
    assign tanh_data = xt_tanh_gate_data_i;
  end else begin : g_gate_tables
    act_table #(
      .AddrWidth(TableInWidth),
      .Width    (TableWidth),
      .InitFile (SigmoidFile)
    ) u_sigmoid (
      .clk_i,
      .rd_en_i  (xt_sig_en_o),
      .rd_addr_i(t_addr_q),
      .rd_data_o(sig_data),
      .wr_en_i  (tbl_we_i && !tbl_sel_i),
      .wr_addr_i(tbl_addr_i),
      .wr_data_i(tbl_data_i)
    );
    act_table #(
      .AddrWidth(TableInWidth),
      .Width    (TableWidth),
      .InitFile (TanhFile)
    ) u_tanh_gate (
      .clk_i,
      .rd_en_i  (xt_tanh_gate_en_o),
      .rd_addr_i(t_addr_q),
      .rd_data_o(tanh_data),
      .wr_en_i  (tbl_we_i && tbl_sel_i),
      .wr_addr_i(tbl_addr_i),
      .wr_data_i(tbl_data_i)
    );
  end

  logic                        s1_valid_q;
  logic [1:0]                  s1_gate_q;
  logic [OFF_WIDTH-1:0]        s1_low_q;
  logic signed [CellWidth-1:0] s1_c_prev_q;
  logic [UnitWidth-1:0]        s1_unit_q;

  // ---- cycle 2: the tables' entries into flops ----------------------------------------------------------
  logic                        s2_valid_q;
  logic [1:0]                  s2_gate_q;
  logic [OFF_WIDTH-1:0]        s2_low_q;
  logic signed [CellWidth-1:0] s2_c_prev_q;
  logic [UnitWidth-1:0]        s2_unit_q;
  logic [TableWidth-1:0]       sig_q, tanh_q;

  // ---- cycle 3: the level; gate values kept (i, f, g) for the o beat; on o: the products ---------------
  // (per table: the compare and base + STEP side by side from flops, then a select; not a compare
  // whose result feeds an add)
  logic signed [GateWidth-1:0] level, sig_base, tanh_base, sig_up, tanh_up;
  logic                        sig_past, tanh_past;  // the low bits reach the entry's offset
  assign sig_base  = $signed(sig_q[GateWidth-1:0]);
  assign tanh_base = $signed(tanh_q[GateWidth-1:0]);
  assign sig_up    = sig_base + SIG_STEP;
  assign tanh_up   = tanh_base + TANH_STEP;
  assign sig_past  = (s2_low_q >= sig_q[TableWidth-1:GateWidth]);
  assign tanh_past = (s2_low_q >= tanh_q[TableWidth-1:GateWidth]);
  assign level = (s2_gate_q == GATE_G) ? (tanh_past ? tanh_up : tanh_base) : (sig_past ? sig_up : sig_base);

  logic signed [GateWidth-1:0] i_q, f_q, g_q;
  logic signed [FC_WIDTH-1:0]  fc;
  logic signed [IG_WIDTH-1:0]  ig;
  assign fc = f_q * s2_c_prev_q;
  assign ig = i_q * g_q;

  // ---- cycle 4: s = f*c_prev + i*g (exact) --------------------------------------------------------------
  logic                        p_valid_q;
  logic signed [FC_WIDTH-1:0]  p_fc_q;
  logic signed [IG_WIDTH-1:0]  p_ig_q;
  logic signed [GateWidth-1:0] p_o_q;
  logic [UnitWidth-1:0]        p_unit_q;
  logic signed [SUM_WIDTH-1:0] c_sum;
  assign c_sum = (SUM_WIDTH'(p_fc_q) <<< (SUM_FRAC - FC_FRAC)) + (SUM_WIDTH'(p_ig_q) <<< (SUM_FRAC - IG_FRAC));

  // ---- cycle 5: c_t = cast_cell(s); tanh's address and low bits of the exact s -------------------------
  logic                        u_valid_q;
  logic signed [GateWidth-1:0] u_o_q;
  logic [UnitWidth-1:0]        u_unit_q;
  logic signed [CellWidth-1:0] c_new;
  logic [TableInWidth-1:0]     s_addr;
  fixed_cast #(
    .InWidth (SUM_WIDTH),
    .InFrac  (SUM_FRAC),
    .OutWidth(CellWidth),
    .OutFrac (CellFrac),
    .Round   (CellRound)
  ) u_cast_c (
    .in_i  (u_sum_q),
    .out_o (c_new)
  );
  fixed_cast #(
    .InWidth (SUM_WIDTH),
    .InFrac  (SUM_FRAC),
    .OutWidth(TableInWidth),
    .OutFrac (TableInFrac),
    .Round   (0)
  ) u_cast_s (
    .in_i  (u_sum_q),
    .out_o (s_addr)
  );

  // ---- cycle 6: tanh(s) table read ------------------------------------------------------------------------
  logic                        c_valid_q;
  logic signed [CellWidth-1:0] c_new_q;
  logic signed [GateWidth-1:0] c_o_q;
  logic [UnitWidth-1:0]        c_unit_q;
  logic [TableInWidth-1:0]     c_addr_q;
  logic [OFF_WIDTH-1:0]        c_low_q;

  logic o_beat;
  assign o_beat = s2_valid_q && (s2_gate_q == GATE_O);
  assign xt_tanh_cell_en_o = c_valid_q;
  assign xt_cell_addr_o    = c_addr_q;
  if (ExternalTables) begin : g_ext_cell
    assign tanh_c_data = xt_tanh_cell_data_i;
    logic unused_tbl;
    assign unused_tbl = ^{tbl_we_i, tbl_sel_i, tbl_addr_i, tbl_data_i};
  end else begin : g_cell_table
    act_table #(
      .AddrWidth(TableInWidth),
      .Width    (TableWidth),
      .InitFile (TanhFile)
    ) u_tanh_cell (
      .clk_i,
      .rd_en_i  (c_valid_q),
      .rd_addr_i(c_addr_q),
      .rd_data_o(tanh_c_data),
      .wr_en_i  (tbl_we_i && tbl_sel_i),
      .wr_addr_i(tbl_addr_i),
      .wr_data_i(tbl_data_i)
    );
    logic unused_xt;
    assign unused_xt = ^{xt_sig_data_i, xt_tanh_gate_data_i, xt_tanh_cell_data_i};
  end

  // ---- cycle 7: the entry into a flop; cycle 8: o * base, compare; cycle 9: h_t and q_state(h_t) -------
  // (d: the tanh read's data, e: the entry registered, m: the product and compare registered)
  logic                          d_valid_q, e_valid_q, m_valid_q;
  logic signed [GateWidth-1:0]   d_o_q, e_o_q;
  logic signed [CellWidth-1:0]   d_c_q, e_c_q, m_c_q;
  logic [UnitWidth-1:0]          d_unit_q, e_unit_q, m_unit_q;
  logic [OFF_WIDTH-1:0]          d_low_q, e_low_q;
  logic [TableWidth-1:0]         e_tanh_q;
  logic signed [OH_WIDTH-1:0]    m_ob_q, oh;
  logic                          e_past;
  assign e_past = (e_low_q >= e_tanh_q[TableWidth-1:GateWidth]);
  logic signed [ActWidth-1:0]    h_new, hs_new;
  logic signed [CellWidth-1:0]   hs_cell;
  // h_t = o * base + (past the entry: o << TANH_SHIFT), the step chosen at m (m_step_q). q_state(h_t) rounds
  // h_t: its own add, oh_r = the same sum + half a cell LSB (m_step_r_q holds step + half), beside oh, so the
  // last stage is one add and the range check (fixed_cast's Prebiased), not an add and then an increment.
  localparam int          HS_DOWN = OH_FRAC - CellFrac;
  localparam bit          HS_BIAS = (CellRound != 0) && (HS_DOWN > 0);
  localparam logic signed [OH_WIDTH:0] HS_HALF = HS_BIAS ? (OH_WIDTH + 1)'(1) <<< (HS_DOWN - 1) : '0;
  logic signed [OH_WIDTH-1:0]    m_step_q;
  logic signed [OH_WIDTH:0]      m_step_r_q, oh_r, e_step_r;
  assign e_step_r = ((OH_WIDTH + 1)'(e_o_q) <<< TANH_SHIFT) + HS_HALF;  // (from e_o_q alone: beside e_past)
  assign oh   = m_ob_q + m_step_q;
  assign oh_r = (OH_WIDTH + 1)'(m_ob_q) + m_step_r_q;
  // Exact: act holds the product grid and |h| < 1 (no rounding, no saturation happens).
  fixed_cast #(
    .InWidth (OH_WIDTH),
    .InFrac  (OH_FRAC),
    .OutWidth(ActWidth),
    .OutFrac (ActFrac),
    .Round   (0)
  ) u_cast_h (
    .in_i  (oh),
    .out_o (h_new)
  );
  fixed_cast #(
    .InWidth  (OH_WIDTH + 1),
    .InFrac   (OH_FRAC),
    .OutWidth (CellWidth),
    .OutFrac  (CellFrac),
    .Round    (HS_BIAS ? CellRound : 0),
    .Prebiased(HS_BIAS)
  ) u_cast_hs (
    .in_i  (oh_r),
    .out_o (hs_cell)
  );
  fixed_cast #(  // exact: act holds the cell type
    .InWidth (CellWidth),
    .InFrac  (CellFrac),
    .OutWidth(ActWidth),
    .OutFrac (ActFrac),
    .Round   (0)
  ) u_cast_hs_act (
    .in_i  (hs_cell),
    .out_o (hs_new)
  );

  logic                        out_valid_q;
  logic [UnitWidth-1:0]        out_unit_q;
  logic signed [CellWidth-1:0] out_c_q;
  logic signed [ActWidth-1:0]  out_h_q, out_hs_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      t_valid_q   <= 1'b0;
      s1_valid_q  <= 1'b0;
      s2_valid_q  <= 1'b0;
      p_valid_q   <= 1'b0;
      u_valid_q   <= 1'b0;
      c_valid_q   <= 1'b0;
      d_valid_q   <= 1'b0;
      e_valid_q   <= 1'b0;
      m_valid_q   <= 1'b0;
      out_valid_q <= 1'b0;
    end else begin
      t_valid_q   <= in_valid_i;
      s1_valid_q  <= t_valid_q;
      s2_valid_q  <= s1_valid_q;
      p_valid_q   <= o_beat;
      u_valid_q   <= p_valid_q;
      c_valid_q   <= u_valid_q;
      d_valid_q   <= c_valid_q;
      e_valid_q   <= d_valid_q;
      m_valid_q   <= e_valid_q;
      out_valid_q <= m_valid_q;
    end
  end

  always_ff @(posedge clk_i) begin
    if (in_valid_i) begin
      t_gate_q   <= in_gate_i;
      t_addr_q   <= z_addr;
      t_low_q    <= z_low;
      t_c_prev_q <= in_c_prev_i;
      t_unit_q   <= in_unit_i;
    end
    if (t_valid_q) begin
      s1_gate_q   <= t_gate_q;
      s1_low_q    <= t_low_q;
      s1_c_prev_q <= t_c_prev_q;
      s1_unit_q   <= t_unit_q;
    end
    sig_q  <= sig_data;
    tanh_q <= tanh_data;
    if (s1_valid_q) begin
      s2_gate_q   <= s1_gate_q;
      s2_low_q    <= s1_low_q;
      s2_c_prev_q <= s1_c_prev_q;
      s2_unit_q   <= s1_unit_q;
    end
    // i, f and o are sigmoid levels, g a tanh level.
    if (s2_valid_q) begin
      unique case (s2_gate_q)
        GATE_I:  i_q <= level;
        GATE_F:  f_q <= level;
        GATE_G:  g_q <= level;
        default: ;
      endcase
    end
    if (o_beat) begin
      p_fc_q   <= fc;
      p_ig_q   <= ig;
      p_o_q    <= level;
      p_unit_q <= s2_unit_q;
    end
    if (p_valid_q) begin
      u_sum_q  <= c_sum;
      u_o_q    <= p_o_q;
      u_unit_q <= p_unit_q;
    end
    if (u_valid_q) begin
      c_new_q  <= c_new;
      c_addr_q <= s_addr;
      c_low_q  <= s_low;
      c_o_q    <= u_o_q;
      c_unit_q <= u_unit_q;
    end
    if (c_valid_q) begin
      d_o_q    <= c_o_q;
      d_c_q    <= c_new_q;
      d_low_q  <= c_low_q;
      d_unit_q <= c_unit_q;
    end
    e_tanh_q <= tanh_c_data;  // unqualified, as sig_q
    if (d_valid_q) begin
      e_o_q    <= d_o_q;
      e_c_q    <= d_c_q;
      e_low_q  <= d_low_q;
      e_unit_q <= d_unit_q;
    end
    if (e_valid_q) begin
      m_ob_q   <= e_o_q * $signed(e_tanh_q[GateWidth-1:0]);
      m_step_q   <= e_past ? (OH_WIDTH'(e_o_q) <<< TANH_SHIFT) : '0;
      m_step_r_q <= e_past ? e_step_r : HS_HALF;
      m_c_q    <= e_c_q;
      m_unit_q <= e_unit_q;
    end
    if (m_valid_q) begin
      out_unit_q <= m_unit_q;
      out_c_q    <= m_c_q;
      out_h_q    <= h_new;
      out_hs_q   <= hs_new;
    end
  end

  assign out_valid_o = out_valid_q;
  assign out_unit_o  = out_unit_q;
  assign out_c_o     = out_c_q;
  assign out_h_o     = out_h_q;
  assign out_hs_o    = out_hs_q;
endmodule

`default_nettype wire
