// Element-wise unit of the GRU step, reset_after (docs/engine.md "One GRU step", "Activations").
//
// The LSTM unit's ports, table interface and latency (lstm_eltwise), for the GRU's rows: one exact
// pre-activation z (accumulator + bias) per cycle, tagged with its row (0 z, 1 r, 2 n_x, 3 n_h), in the
// order z, r, n_x, n_h of one hidden unit; hs_{t-1} (q_state(h_{t-1}), cell type, the GRU's stored state)
// comes with the n_h beat. Fixed latency (out_valid_o LATENCY = 10 cycles after the n_h beat's in_valid_i),
// no back-pressure. The update is computed in QKeras' form h_t = z hs_{t-1} + (1 - z) hh, the same exact
// value as hh + z (hs_{t-1} - hh); with hh = base + TanhStep * up (the table's level):
//   h_t = (1 - z) base + (up ? z hs + (1 - z) TanhStep : z hs)
// so after the candidate's table only one multiply, one compare and one add remain, as in the LSTM unit.
//   cycle 0  table address = floor cast of z and its bits below the cell, registered (z, r rows); the raws
//            of n_x and n_h are registered as they come
//   cycle 1  sigmoid table read (z, r)
//   cycle 2  its entry {offset, base} into flops (nothing else may follow a table's output)
//   cycle 3  level = base + SigmoidStep * (low bits >= offset), kept (z, r); on n_h: r * z_nh (exact)
//   cycle 4  a = z_nx + r * z_nh (exact, type cand_sum), registered
//   cycle 5  tanh address and low bits of the EXACT a, registered
//   cycle 6  tanh table read
//   cycle 7  its entry into a flop; z * hs_{t-1} (exact) and 1 - z, registered
//   cycle 8  (1 - z) * base, the boundary compare, and z hs + (1 - z) TanhStep (exact; TanhStep is a power
//            of two: a shift)
//   cycle 9  h_t = (1 - z) base + (compare ? z hs + (1 - z) TanhStep : z hs) (exact), out_h_o = h_t in act
//            (exact), out_hs_o = q_state(h_t) = cast_cell(h_t) in act, out_c_o = q_state(h_t) in the cell
//            type (what the engine stores): out_valid_o in cycle 10
// One multiply, one carry chain or one table read per cycle, and nothing after a table's output but a
// flop (ulx3s timing: an ECP5 DP16KD's data come 5.8 ns after the clock, a MULT18X18D takes 3.9 ns).
// Holding: z and r (levels) and the raws of n_x and n_h are kept in one register each from their beat to
// the n_h beat's cycle 3; the next unit's beats overwrite them only after that, beats back to back or not.
// Widths: every sum and product has its exact ap_fixed result type (codesign.engine.types: cand_sum, the
// GRU's hidden_type), so nothing wraps or rounds except q_state (CellRound) and the table address (floor).
// Tables: entry address = the table-input raw's two's-complement bits (see act_table). They are written
// through tbl_* (0 sigmoid, 1 tanh). The GRU reads no gate tanh: its tanh table is the candidate's (the LSTM
// unit's cell tanh, xt_tanh_cell_*); xt_tanh_gate_en_o stays 0.
// ExternalTables = 1: the tables are outside (the engine shares each between two units, act_table_dp): this
// unit drives their read enables and addresses (xt_*_o) and takes their registered data (xt_*_i) with the
// same timing; tbl_* are then unused.
// Reset: asynchronous, active low.
`default_nettype none

module gru_eltwise #(
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
  // Exact type of a = z_nx + r * z_nh (cand_sum: ap_fixed RType::plus of acc and gate x acc) and the
  // tables' boundary grid (docs/engine.md "Types": BOUND_FRAC = max(acc.frac, cand_sum.frac)).
  localparam int          RN_FRAC     = GateFrac + ZFrac,
  localparam int          SUM_FRAC    = (RN_FRAC > ZFrac) ? RN_FRAC : ZFrac,
  localparam int          BOUND_FRAC  = (ZFrac > SUM_FRAC) ? ZFrac : SUM_FRAC,
  localparam int unsigned OFF_WIDTH   = unsigned'(BOUND_FRAC - TableInFrac + 1),
  localparam int unsigned TableWidth  = GateWidth + OFF_WIDTH
) (
  input  wire logic                        clk_i,
  input  wire logic                        rst_ni,
  input  wire logic                        in_valid_i,
  input  wire logic [1:0]                  in_gate_i,
  input  wire logic signed [ZWidth-1:0]    in_z_i,
  input  wire logic signed [CellWidth-1:0] in_c_prev_i,
  input  wire logic [UnitWidth-1:0]        in_unit_i,
  output      logic                        out_valid_o,
  output      logic [UnitWidth-1:0]        out_unit_o,
  output      logic signed [CellWidth-1:0] out_c_o,
  output      logic signed [ActWidth-1:0]  out_h_o,
  output      logic signed [ActWidth-1:0]  out_hs_o,
  input  wire logic                        tbl_we_i,
  input  wire logic                        tbl_sel_i,
  input  wire logic [TableInWidth-1:0]     tbl_addr_i,
  input  wire logic [TableWidth-1:0]       tbl_data_i,
  // external tables (ExternalTables = 1): sigmoid read at xt_gate_addr_o, tanh(a) at xt_cell_addr_o; the
  // data one cycle after the enable, from the table's own register (the gate tanh port is never read)
  output      logic                        xt_sig_en_o,
  output      logic                        xt_tanh_gate_en_o,
  output      logic                        xt_tanh_cell_en_o,
  output      logic [TableInWidth-1:0]     xt_gate_addr_o,
  output      logic [TableInWidth-1:0]     xt_cell_addr_o,
  input  wire logic [TableWidth-1:0]       xt_sig_data_i,
  input  wire logic [TableWidth-1:0]       xt_tanh_gate_data_i,
  input  wire logic [TableWidth-1:0]       xt_tanh_cell_data_i
);
  localparam logic [1:0] GATE_Z  = 2'd0;
  localparam logic [1:0] GATE_R  = 2'd1;
  localparam logic [1:0] GATE_NX = 2'd2;
  localparam logic [1:0] GATE_NH = 2'd3;
  localparam int          GATE_INT  = int'(GateWidth) - GateFrac;
  localparam int          CELL_INT  = int'(CellWidth) - CellFrac;
  localparam int          Z_INT     = int'(ZWidth) - ZFrac;
  // r * z_nh (gate x acc), a = z_nx + r * z_nh (cand_sum)
  localparam int unsigned RN_WIDTH  = GateWidth + ZWidth;
  localparam int          RN_INT    = GATE_INT + Z_INT;
  localparam int          SUM_INT   = ((RN_INT > Z_INT) ? RN_INT : Z_INT) + 1;
  localparam int unsigned SUM_WIDTH = unsigned'(SUM_INT + SUM_FRAC);
  // z * hs_{t-1} (gate x cell); 1 - z (ap_fixed<2,2> minus gate: GateFrac, two more integer bits);
  // (1 - z) * base and (1 - z) * TanhStep (both (1 - z) x gate)
  localparam int unsigned ZH_WIDTH  = GateWidth + CellWidth;
  localparam int          ZH_FRAC   = GateFrac + CellFrac;
  localparam int          ZH_INT    = GATE_INT + CELL_INT;
  localparam int unsigned OMZ_WIDTH = GateWidth + 2;
  localparam int unsigned MB_WIDTH  = OMZ_WIDTH + GateWidth;
  localparam int          MB_FRAC   = 2 * GateFrac;
  localparam int          MB_INT    = int'(MB_WIDTH) - MB_FRAC;
  // u = z hs + (1 - z) TanhStep, h = (1 - z) base + (u or z hs): exact sums (RType::plus)
  localparam int          H_FRAC    = (ZH_FRAC > MB_FRAC) ? ZH_FRAC : MB_FRAC;
  localparam int          U_INT     = ((ZH_INT > MB_INT) ? ZH_INT : MB_INT) + 1;
  localparam int unsigned U_WIDTH   = unsigned'(U_INT + H_FRAC);
  localparam int          H_INT     = ((U_INT > MB_INT) ? U_INT : MB_INT) + 1;
  localparam int unsigned H_WIDTH   = unsigned'(H_INT + H_FRAC);
  localparam int unsigned TANH_SHIFT = $clog2(TanhStep);
  localparam logic signed [GateWidth-1:0] SIG_STEP = GateWidth'(SigmoidStep);
  localparam logic signed [OMZ_WIDTH-1:0] ONE      = OMZ_WIDTH'(1) <<< GateFrac;

  // z's and a's bits below their table cell, moved onto the boundary grid (unsigned, < 2^(OFF_WIDTH-1)).
  localparam int Z_BELOW = ZFrac - TableInFrac;
  localparam int S_BELOW = SUM_FRAC - TableInFrac;
  logic [OFF_WIDTH-1:0] z_low, s_low;
  logic signed [SUM_WIDTH-1:0] u_sum_q;  // cycle 5's register (below), a
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

  // ---- cycle 0: table address and low bits; the candidate's raws --------------------------------------
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
  logic signed [ZWidth-1:0]    nx_q, nh_q;  // z_nx, z_nh as they came

  // ---- cycle 1: sigmoid table read (z, r) -------------------------------------------------------------
  logic [TableWidth-1:0] sig_data, tanh_data;
  assign xt_sig_en_o       = t_valid_q && (t_gate_q == GATE_Z || t_gate_q == GATE_R);
  assign xt_tanh_gate_en_o = 1'b0;
  assign xt_gate_addr_o    = t_addr_q;
  if (ExternalTables) begin : g_ext_gate
    assign sig_data = xt_sig_data_i;
  end else begin : g_gate_table
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
  end

  logic                        s1_valid_q;
  logic [1:0]                  s1_gate_q;
  logic [OFF_WIDTH-1:0]        s1_low_q;
  logic signed [CellWidth-1:0] s1_c_prev_q;
  logic [UnitWidth-1:0]        s1_unit_q;

  // ---- cycle 2: the entry into flops ------------------------------------------------------------------
  logic                        s2_valid_q;
  logic [1:0]                  s2_gate_q;
  logic [OFF_WIDTH-1:0]        s2_low_q;
  logic signed [CellWidth-1:0] s2_c_prev_q;
  logic [UnitWidth-1:0]        s2_unit_q;
  logic [TableWidth-1:0]       sig_q;

  // ---- cycle 3: the level, kept (z, r); on n_h: r * z_nh ------------------------------------------------
  // (the compare and base + STEP side by side from flops, then a select; not a compare feeding an add)
  logic signed [GateWidth-1:0] level, sig_base, sig_up;
  assign sig_base = $signed(sig_q[GateWidth-1:0]);
  assign sig_up   = sig_base + SIG_STEP;
  assign level    = (s2_low_q >= sig_q[TableWidth-1:GateWidth]) ? sig_up : sig_base;

  logic signed [GateWidth-1:0] z_q, r_q;
  logic signed [RN_WIDTH-1:0]  rn;
  logic                        nh_beat;
  assign rn      = r_q * nh_q;
  assign nh_beat = s2_valid_q && (s2_gate_q == GATE_NH);

  // ---- cycle 4: a = z_nx + r * z_nh (exact) -------------------------------------------------------------
  logic                        p_valid_q;
  logic signed [RN_WIDTH-1:0]  p_rn_q;
  logic signed [ZWidth-1:0]    p_nx_q;
  logic signed [GateWidth-1:0] p_z_q;
  logic signed [CellWidth-1:0] p_hs_q;
  logic [UnitWidth-1:0]        p_unit_q;
  logic signed [SUM_WIDTH-1:0] a_sum;
  assign a_sum = (SUM_WIDTH'(p_nx_q) <<< (SUM_FRAC - ZFrac)) + (SUM_WIDTH'(p_rn_q) <<< (SUM_FRAC - RN_FRAC));

  // ---- cycle 5: tanh's address and low bits of the exact a ----------------------------------------------
  logic                        u_valid_q;
  logic signed [GateWidth-1:0] u_z_q;
  logic signed [CellWidth-1:0] u_hs_q;
  logic [UnitWidth-1:0]        u_unit_q;
  logic [TableInWidth-1:0]     s_addr;
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

  // ---- cycle 6: tanh(a) table read ----------------------------------------------------------------------
  logic                        c_valid_q;
  logic signed [GateWidth-1:0] c_z_q;
  logic signed [CellWidth-1:0] c_hs_q;
  logic [UnitWidth-1:0]        c_unit_q;
  logic [TableInWidth-1:0]     c_addr_q;
  logic [OFF_WIDTH-1:0]        c_low_q;

  assign xt_tanh_cell_en_o = c_valid_q;
  assign xt_cell_addr_o    = c_addr_q;
  if (ExternalTables) begin : g_ext_cell
    assign tanh_data = xt_tanh_cell_data_i;
    logic unused_tbl;
    assign unused_tbl = ^{tbl_we_i, tbl_sel_i, tbl_addr_i, tbl_data_i, xt_tanh_gate_data_i};
  end else begin : g_cell_table
    act_table #(
      .AddrWidth(TableInWidth),
      .Width    (TableWidth),
      .InitFile (TanhFile)
    ) u_tanh (
      .clk_i,
      .rd_en_i  (c_valid_q),
      .rd_addr_i(c_addr_q),
      .rd_data_o(tanh_data),
      .wr_en_i  (tbl_we_i && tbl_sel_i),
      .wr_addr_i(tbl_addr_i),
      .wr_data_i(tbl_data_i)
    );
    logic unused_xt;
    assign unused_xt = ^{xt_sig_data_i, xt_tanh_gate_data_i, xt_tanh_cell_data_i};
  end

  // ---- cycle 7: the entry into a flop, z * hs, 1 - z; cycle 8: (1 - z) * base, compare, u;
  // cycle 9: h_t and q_state(h_t) -------------------------------------------------------------------------
  // (d: the tanh read's data, e: the entry registered, m: the product, compare and u registered)
  logic                          d_valid_q, e_valid_q, m_valid_q;
  logic signed [GateWidth-1:0]   d_z_q;
  logic signed [CellWidth-1:0]   d_hs_q;
  logic [UnitWidth-1:0]          d_unit_q, e_unit_q, m_unit_q;
  logic [OFF_WIDTH-1:0]          d_low_q, e_low_q;
  logic [TableWidth-1:0]         e_tanh_q;
  logic signed [ZH_WIDTH-1:0]    e_zh_q, m_zh_q;
  logic signed [OMZ_WIDTH-1:0]   e_omz_q;
  logic signed [MB_WIDTH-1:0]    m_mb_q;
  logic signed [U_WIDTH-1:0]     u_up, m_up_sum_q;
  logic                          m_up_q;
  logic signed [H_WIDTH-1:0]     h_sum, h_rest;
  logic signed [ActWidth-1:0]    h_new, hs_new;
  logic signed [CellWidth-1:0]   hs_cell;
  // (1 - z) * TanhStep on the (1 - z) x gate grid is (1 - z) shifted left (TanhStep a power of two)
  assign u_up   = (U_WIDTH'(e_zh_q) <<< (H_FRAC - ZH_FRAC))
                + ((U_WIDTH'(e_omz_q) <<< TANH_SHIFT) <<< (H_FRAC - MB_FRAC));
  assign h_rest = m_up_q ? H_WIDTH'(m_up_sum_q) : (H_WIDTH'(m_zh_q) <<< (H_FRAC - ZH_FRAC));
  assign h_sum  = (H_WIDTH'(m_mb_q) <<< (H_FRAC - MB_FRAC)) + h_rest;
  // Exact: act holds the GRU's h grid and range (types.hidden_type; bits below act's LSB are zero).
  fixed_cast #(
    .InWidth (H_WIDTH),
    .InFrac  (H_FRAC),
    .OutWidth(ActWidth),
    .OutFrac (ActFrac),
    .Round   (0)
  ) u_cast_h (
    .in_i  (h_sum),
    .out_o (h_new)
  );
  fixed_cast #(
    .InWidth (H_WIDTH),
    .InFrac  (H_FRAC),
    .OutWidth(CellWidth),
    .OutFrac (CellFrac),
    .Round   (CellRound)
  ) u_cast_hs (
    .in_i  (h_sum),
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
      p_valid_q   <= nh_beat;
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
      if (in_gate_i == GATE_NX) nx_q <= in_z_i;
      if (in_gate_i == GATE_NH) nh_q <= in_z_i;
    end
    if (t_valid_q) begin
      s1_gate_q   <= t_gate_q;
      s1_low_q    <= t_low_q;
      s1_c_prev_q <= t_c_prev_q;
      s1_unit_q   <= t_unit_q;
    end
    sig_q <= sig_data;  // unqualified: the table's register holds its data
    if (s1_valid_q) begin
      s2_gate_q   <= s1_gate_q;
      s2_low_q    <= s1_low_q;
      s2_c_prev_q <= s1_c_prev_q;
      s2_unit_q   <= s1_unit_q;
    end
    // z and r are sigmoid levels
    if (s2_valid_q && s2_gate_q == GATE_Z) z_q <= level;
    if (s2_valid_q && s2_gate_q == GATE_R) r_q <= level;
    if (nh_beat) begin
      p_rn_q   <= rn;
      p_nx_q   <= nx_q;
      p_z_q    <= z_q;
      p_hs_q   <= s2_c_prev_q;
      p_unit_q <= s2_unit_q;
    end
    if (p_valid_q) begin
      u_sum_q  <= a_sum;
      u_z_q    <= p_z_q;
      u_hs_q   <= p_hs_q;
      u_unit_q <= p_unit_q;
    end
    if (u_valid_q) begin
      c_addr_q <= s_addr;
      c_low_q  <= s_low;
      c_z_q    <= u_z_q;
      c_hs_q   <= u_hs_q;
      c_unit_q <= u_unit_q;
    end
    if (c_valid_q) begin
      d_z_q    <= c_z_q;
      d_hs_q   <= c_hs_q;
      d_low_q  <= c_low_q;
      d_unit_q <= c_unit_q;
    end
    e_tanh_q <= tanh_data;  // unqualified, as sig_q
    if (d_valid_q) begin
      e_zh_q   <= d_z_q * d_hs_q;
      e_omz_q  <= ONE - OMZ_WIDTH'(d_z_q);
      e_low_q  <= d_low_q;
      e_unit_q <= d_unit_q;
    end
    if (e_valid_q) begin
      m_mb_q     <= e_omz_q * $signed(e_tanh_q[GateWidth-1:0]);
      m_up_q     <= e_low_q >= e_tanh_q[TableWidth-1:GateWidth];
      m_up_sum_q <= u_up;
      m_zh_q     <= e_zh_q;
      m_unit_q   <= e_unit_q;
    end
    if (m_valid_q) begin
      out_unit_q <= m_unit_q;
      out_c_q    <= hs_cell;
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
