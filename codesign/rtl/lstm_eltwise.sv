// Element-wise unit of the LSTM step (docs/engine.md "One LSTM step").
//
// Takes one pre-activation z (accumulator + bias, exact) per cycle, tagged with its gate (0 i, 1 f,
// 2 g, 3 o), in the order i, f, g, o of one hidden unit; c_{t-1} comes with the o beat. Fixed latency
// (out_valid_o LATENCY = 10 cycles after in_valid_i), no back-pressure:
//   cycle 0  z -> cast_table_in, registered (the table address)
//   cycle 1  sigmoid (i, f, o) or tanh (g) table read
//   cycle 2  both tables' outputs into flops (unqualified: nothing else may follow a table's output)
//   cycle 3  the gate value kept (i, f, g); on o: the products f*c_prev and i*g (exact)
//   cycle 4  f*c_prev + i*g (exact), registered
//   cycle 5  c_t = cast_cell(sum), registered
//   cycle 6  tanh table read at cast_table_in(c_t)
//   cycle 7  tanh(c_t) into a flop
//   cycle 8  o * tanh(c_t) (exact), registered
//   cycle 9  h_t = cast_act(product), registered: out_valid_o in cycle 10
// One multiply, one carry chain or one table read per cycle, and nothing after a table's output but a
// flop: an ECP5 DP16KD's data come 5.8 ns after the clock and a MULT18X18D takes 3.9 ns (ulx3s timing).
// Tables: entry address = the table-input raw's two's-complement bits (see act_table). They are written
// through tbl_* (0 sigmoid, 1 tanh); the cell's tanh table is a second copy written by the same beats.
// Reset: asynchronous, active low.
module lstm_eltwise #(
  parameter int unsigned ZWidth       = 35,
  parameter int          ZFrac        = 20,
  parameter int unsigned TableInWidth = 12,
  parameter int          TableInFrac  = 8,
  parameter bit          TableInRound = 1'b1,  // 1 AP_RND, 0 AP_TRN (all casts saturate)
  parameter int unsigned GateWidth    = 10,
  parameter int          GateFrac     = 8,
  parameter int unsigned CellWidth    = 16,
  parameter int          CellFrac     = 11,
  parameter bit          CellRound    = 1'b1,
  parameter int unsigned ActWidth     = 16,
  parameter int          ActFrac      = 10,
  parameter bit          ActRound     = 1'b1,
  parameter int unsigned UnitWidth    = 8,
  parameter              SigmoidFile  = "",
  parameter              TanhFile     = ""
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
  input  logic                        tbl_we_i,
  input  logic                        tbl_sel_i,
  input  logic [TableInWidth-1:0]     tbl_addr_i,
  input  logic [GateWidth-1:0]        tbl_data_i
);
  localparam logic [1:0] GATE_I = 2'd0;
  localparam logic [1:0] GATE_F = 2'd1;
  localparam logic [1:0] GATE_G = 2'd2;
  localparam logic [1:0] GATE_O = 2'd3;
  localparam int unsigned FC_WIDTH = GateWidth + CellWidth;  // f * c_prev
  localparam int          FC_FRAC  = GateFrac + CellFrac;
  localparam int unsigned IG_WIDTH = 2 * GateWidth;          // i * g
  localparam int          IG_FRAC  = 2 * GateFrac;
  // Exact sum type of f*c + i*g (ap_fixed RType::plus).
  localparam int          FC_INT   = int'(FC_WIDTH) - FC_FRAC;
  localparam int          IG_INT   = int'(IG_WIDTH) - IG_FRAC;
  localparam int          SUM_FRAC = (FC_FRAC > IG_FRAC) ? FC_FRAC : IG_FRAC;
  localparam int          SUM_INT  = ((FC_INT > IG_INT) ? FC_INT : IG_INT) + 1;
  localparam int unsigned SUM_WIDTH = unsigned'(SUM_INT + SUM_FRAC);

  // ---- cycle 0: table address ------------------------------------------------------------------------
  logic [TableInWidth-1:0] z_addr;
  fixed_cast #(
    .InWidth (ZWidth),
    .InFrac  (ZFrac),
    .OutWidth(TableInWidth),
    .OutFrac (TableInFrac),
    .Round   (TableInRound)
  ) u_cast_z (
    .in_i (in_z_i),
    .out_o(z_addr)
  );

  logic                        t_valid_q;
  logic [1:0]                  t_gate_q;
  logic [TableInWidth-1:0]     t_addr_q;
  logic signed [CellWidth-1:0] t_c_prev_q;
  logic [UnitWidth-1:0]        t_unit_q;

  // ---- cycle 1: table reads ---------------------------------------------------------------------------
  logic [GateWidth-1:0] sig_data, tanh_data, tanh_c_data;
  act_table #(
    .AddrWidth(TableInWidth),
    .Width    (GateWidth),
    .InitFile (SigmoidFile)
  ) u_sigmoid (
    .clk_i,
    .rd_en_i  (t_valid_q && (t_gate_q != GATE_G)),
    .rd_addr_i(t_addr_q),
    .rd_data_o(sig_data),
    .wr_en_i  (tbl_we_i && !tbl_sel_i),
    .wr_addr_i(tbl_addr_i),
    .wr_data_i(tbl_data_i)
  );
  act_table #(
    .AddrWidth(TableInWidth),
    .Width    (GateWidth),
    .InitFile (TanhFile)
  ) u_tanh_gate (
    .clk_i,
    .rd_en_i  (t_valid_q && (t_gate_q == GATE_G)),
    .rd_addr_i(t_addr_q),
    .rd_data_o(tanh_data),
    .wr_en_i  (tbl_we_i && tbl_sel_i),
    .wr_addr_i(tbl_addr_i),
    .wr_data_i(tbl_data_i)
  );

  logic                        s1_valid_q;
  logic [1:0]                  s1_gate_q;
  logic signed [CellWidth-1:0] s1_c_prev_q;
  logic [UnitWidth-1:0]        s1_unit_q;

  // ---- cycle 2: the tables' outputs into flops ----------------------------------------------------------
  logic                        s2_valid_q;
  logic [1:0]                  s2_gate_q;
  logic signed [CellWidth-1:0] s2_c_prev_q;
  logic [UnitWidth-1:0]        s2_unit_q;
  logic signed [GateWidth-1:0] sig_q, tanh_q;

  // ---- cycle 3: gate values (i, f, g kept for the o beat); on o: the products ------------------------
  logic signed [GateWidth-1:0] i_q, f_q, g_q;
  logic signed [FC_WIDTH-1:0]  fc;
  logic signed [IG_WIDTH-1:0]  ig;
  assign fc = f_q * s2_c_prev_q;
  assign ig = i_q * g_q;

  // ---- cycle 4: f*c_prev + i*g (exact) ----------------------------------------------------------------
  logic                        p_valid_q;
  logic signed [FC_WIDTH-1:0]  p_fc_q;
  logic signed [IG_WIDTH-1:0]  p_ig_q;
  logic signed [GateWidth-1:0] p_o_q;
  logic [UnitWidth-1:0]        p_unit_q;
  logic signed [SUM_WIDTH-1:0] c_sum;
  assign c_sum = (SUM_WIDTH'(p_fc_q) <<< (SUM_FRAC - FC_FRAC)) + (SUM_WIDTH'(p_ig_q) <<< (SUM_FRAC - IG_FRAC));

  // ---- cycle 5: c_t = cast_cell(sum) --------------------------------------------------------------------
  logic                        u_valid_q;
  logic signed [SUM_WIDTH-1:0] u_sum_q;
  logic signed [GateWidth-1:0] u_o_q;
  logic [UnitWidth-1:0]        u_unit_q;
  logic signed [CellWidth-1:0] c_new;
  fixed_cast #(
    .InWidth (SUM_WIDTH),
    .InFrac  (SUM_FRAC),
    .OutWidth(CellWidth),
    .OutFrac (CellFrac),
    .Round   (CellRound)
  ) u_cast_c (
    .in_i (u_sum_q),
    .out_o(c_new)
  );

  // ---- cycle 6: tanh(c_t) table read --------------------------------------------------------------------
  logic                        c_valid_q;
  logic signed [CellWidth-1:0] c_new_q;
  logic signed [GateWidth-1:0] c_o_q;
  logic [UnitWidth-1:0]        c_unit_q;

  logic [TableInWidth-1:0] c_tin;
  fixed_cast #(
    .InWidth (CellWidth),
    .InFrac  (CellFrac),
    .OutWidth(TableInWidth),
    .OutFrac (TableInFrac),
    .Round   (TableInRound)
  ) u_cast_ctin (
    .in_i (c_new_q),
    .out_o(c_tin)
  );

  logic o_beat;
  assign o_beat = s2_valid_q && (s2_gate_q == GATE_O);
  act_table #(
    .AddrWidth(TableInWidth),
    .Width    (GateWidth),
    .InitFile (TanhFile)
  ) u_tanh_cell (
    .clk_i,
    .rd_en_i  (c_valid_q),
    .rd_addr_i(c_tin),
    .rd_data_o(tanh_c_data),
    .wr_en_i  (tbl_we_i && tbl_sel_i),
    .wr_addr_i(tbl_addr_i),
    .wr_data_i(tbl_data_i)
  );

  // ---- cycle 7: tanh(c_t) into a flop; cycle 8: o * tanh(c_t); cycle 9: h_t = cast_act ----------------
  // (d: the tanh read's data, e: tanh(c_t) registered, m: the product registered)
  logic                          d_valid_q, e_valid_q, m_valid_q;
  logic signed [GateWidth-1:0]   d_o_q, e_o_q, e_tanh_q;
  logic signed [CellWidth-1:0]   d_c_q, e_c_q, m_c_q;
  logic [UnitWidth-1:0]          d_unit_q, e_unit_q, m_unit_q;
  logic signed [2*GateWidth-1:0] m_oh_q;
  logic signed [ActWidth-1:0]    h_new;
  fixed_cast #(
    .InWidth (2 * GateWidth),
    .InFrac  (2 * GateFrac),
    .OutWidth(ActWidth),
    .OutFrac (ActFrac),
    .Round   (ActRound)
  ) u_cast_h (
    .in_i (m_oh_q),
    .out_o(h_new)
  );

  logic                        out_valid_q;
  logic [UnitWidth-1:0]        out_unit_q;
  logic signed [CellWidth-1:0] out_c_q;
  logic signed [ActWidth-1:0]  out_h_q;

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
      t_c_prev_q <= in_c_prev_i;
      t_unit_q   <= in_unit_i;
    end
    if (t_valid_q) begin
      s1_gate_q   <= t_gate_q;
      s1_c_prev_q <= t_c_prev_q;
      s1_unit_q   <= t_unit_q;
    end
    sig_q  <= sig_data;
    tanh_q <= tanh_data;
    if (s1_valid_q) begin
      s2_gate_q   <= s1_gate_q;
      s2_c_prev_q <= s1_c_prev_q;
      s2_unit_q   <= s1_unit_q;
    end
    // i, f and o are sigmoid entries, g a tanh entry.
    if (s2_valid_q) begin
      unique case (s2_gate_q)
        GATE_I:  i_q <= sig_q;
        GATE_F:  f_q <= sig_q;
        GATE_G:  g_q <= tanh_q;
        default: ;
      endcase
    end
    if (o_beat) begin
      p_fc_q   <= fc;
      p_ig_q   <= ig;
      p_o_q    <= sig_q;
      p_unit_q <= s2_unit_q;
    end
    if (p_valid_q) begin
      u_sum_q  <= c_sum;
      u_o_q    <= p_o_q;
      u_unit_q <= p_unit_q;
    end
    if (u_valid_q) begin
      c_new_q  <= c_new;
      c_o_q    <= u_o_q;
      c_unit_q <= u_unit_q;
    end
    if (c_valid_q) begin
      d_o_q    <= c_o_q;
      d_c_q    <= c_new_q;
      d_unit_q <= c_unit_q;
    end
    e_tanh_q <= tanh_c_data;  // unqualified, as sig_q
    if (d_valid_q) begin
      e_o_q    <= d_o_q;
      e_c_q    <= d_c_q;
      e_unit_q <= d_unit_q;
    end
    if (e_valid_q) begin
      m_oh_q   <= e_o_q * e_tanh_q;
      m_c_q    <= e_c_q;
      m_unit_q <= e_unit_q;
    end
    if (m_valid_q) begin
      out_unit_q <= m_unit_q;
      out_c_q    <= m_c_q;
      out_h_q    <= h_new;
    end
  end

  assign out_valid_o = out_valid_q;
  assign out_unit_o  = out_unit_q;
  assign out_c_o     = out_c_q;
  assign out_h_o     = out_h_q;
endmodule
