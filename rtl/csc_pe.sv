// One processing element of the sparse-LSTM engine (ESE-style).
//
// It takes (activation, column) pairs from its FIFO and, for each, streams the column's stored CSC words
// {weight, rel} of this PE through a multiply-accumulate into the local row the running index selects.
// Pipeline: P (column-pointer read) -> G (word address generator, one word per cycle) -> M (weight read,
// index decode, multiply) -> A (accumulate). An empty column is dropped in P without costing a G cycle.
// Accumulators are flops: exact (AccWidth is derived by the encoder so they never overflow), cleared by
// clear_i, read combinationally by the element-wise unit through acc_rd_*.
// Reset: asynchronous, active low. Memories have no reset; they are written by the load port or $readmemh.
module csc_pe #(
  parameter int unsigned ActWidth      = 16,
  parameter int unsigned WeightWidth   = 12,
  parameter int unsigned IndexWidth    = 4,
  parameter int unsigned AccWidth      = 34,
  parameter int unsigned ColWidth      = 8,
  parameter int unsigned WeightDepth   = 1024,
  parameter int unsigned ColptrDepth   = 256,
  parameter int unsigned LocalRows     = 16,
  parameter              MemDir        = "",   // $readmemh pe<PeIndex>_{weights,colptr}.memh from here
  parameter int unsigned PeIndex       = 0,
  localparam int unsigned WORD_WIDTH   = WeightWidth + IndexWidth,
  localparam int unsigned WADDR_WIDTH  = $clog2(WeightDepth + 1),  // a pointer may equal WeightDepth
  localparam int unsigned WIDX_WIDTH   = (WeightDepth > 1) ? $clog2(WeightDepth) : 1,
  localparam int unsigned PADDR_WIDTH  = $clog2(ColptrDepth),
  localparam int unsigned ROW_WIDTH    = $clog2(LocalRows + 1) + 1,
  localparam int unsigned RIDX_WIDTH   = (LocalRows > 1) ? $clog2(LocalRows) : 1
) (
  input  logic                          clk_i,
  input  logic                          rst_ni,
  // matrix control
  input  logic                          clear_i,      // zero the accumulators (start of a matrix)
  input  logic [PADDR_WIDTH-1:0]        ptr_base_i,   // this matrix's column-pointer table
  // (activation, column) stream from the FIFO
  input  logic                          col_valid_i,
  output logic                          col_ready_o,
  input  logic [ActWidth+ColWidth-1:0]  col_data_i,   // {activation, column}
  output logic                          idle_o,       // no column in flight
  output logic                          busy_o,       // a stored word is consumed this cycle
  // accumulator read (element-wise unit, logits)
  input  logic [RIDX_WIDTH-1:0]         acc_rd_row_i,
  output logic signed [AccWidth-1:0]    acc_rd_data_o,
  // memory writes (weight-load stream)
  input  logic                          wmem_we_i,
  input  logic [WIDX_WIDTH-1:0]         wmem_addr_i,
  input  logic [WORD_WIDTH-1:0]         wmem_data_i,
  input  logic                          pmem_we_i,
  input  logic [PADDR_WIDTH-1:0]        pmem_addr_i,
  input  logic [WADDR_WIDTH-1:0]        pmem_data_i
);
  localparam int unsigned PROD_WIDTH = ActWidth + WeightWidth;

  // ---- memories ---------------------------------------------------------------------------------
  logic [WORD_WIDTH-1:0]  wmem_q [WeightDepth];
  logic [WADDR_WIDTH-1:0] pmem_q [ColptrDepth];

  // File names pe<k>_*.memh (docs/engine.md), spelled with constant concatenations Yosys accepts.
  localparam logic [7:0] DIGIT_HI = 8'(8'd48 + PeIndex / 10);
  localparam logic [7:0] DIGIT_LO = 8'(8'd48 + PeIndex % 10);
  if (PeIndex < 10) begin : g_init_1digit
    initial begin
      if (MemDir != "") begin
        $readmemh({MemDir, "/pe", DIGIT_LO, "_weights.memh"}, wmem_q);
        $readmemh({MemDir, "/pe", DIGIT_LO, "_colptr.memh"}, pmem_q);
      end
    end
  end else begin : g_init_2digit
    initial begin
      if (MemDir != "") begin
        $readmemh({MemDir, "/pe", DIGIT_HI, DIGIT_LO, "_weights.memh"}, wmem_q);
        $readmemh({MemDir, "/pe", DIGIT_HI, DIGIT_LO, "_colptr.memh"}, pmem_q);
      end
    end
  end

  // ---- P: pop a column, read its [begin, end) pointers --------------------------------------------
  logic                   p_valid_q;
  logic signed [ActWidth-1:0] p_act_q;
  logic [WADDR_WIDTH-1:0] p_begin_q, p_end_q;
  logic                   p_take, p_empty, col_pop;
  logic signed [ActWidth-1:0] col_act;
  logic [ColWidth-1:0]    col_idx;
  logic [PADDR_WIDTH-1:0] ptr_addr;

  assign col_act  = col_data_i[ActWidth+ColWidth-1:ColWidth];
  assign col_idx  = col_data_i[ColWidth-1:0];
  assign ptr_addr = ptr_base_i + PADDR_WIDTH'(col_idx);
  assign p_empty  = (p_begin_q == p_end_q);

  // ---- G: word address generator ----------------------------------------------------------------
  logic                   g_active_q, g_active_d;
  logic [WADDR_WIDTH-1:0] g_addr_q, g_addr_d, g_end_q, g_end_d;
  logic signed [ActWidth-1:0] g_act_q, g_act_d;
  logic                   issue, issue_first;
  logic [WADDR_WIDTH-1:0] issue_addr;
  logic signed [ActWidth-1:0] issue_act;

  // An empty column is dropped at once; a non-empty one waits until G is free.
  assign p_take      = p_valid_q && (p_empty || !g_active_q);
  assign col_ready_o = !p_valid_q || p_take;
  assign col_pop     = col_valid_i && col_ready_o;

  always_comb begin
    g_active_d  = g_active_q;
    g_addr_d    = g_addr_q;
    g_end_d     = g_end_q;
    g_act_d     = g_act_q;
    issue       = 1'b0;
    issue_first = 1'b0;
    issue_addr  = g_addr_q;
    issue_act   = g_act_q;
    if (g_active_q) begin
      issue      = 1'b1;
      g_addr_d   = g_addr_q + 1'b1;
      g_active_d = (g_addr_d != g_end_q);
    end else if (p_take && !p_empty) begin
      issue       = 1'b1;
      issue_first = 1'b1;
      issue_addr  = p_begin_q;
      issue_act   = p_act_q;
      g_addr_d    = p_begin_q + 1'b1;
      g_end_d     = p_end_q;
      g_act_d     = p_act_q;
      g_active_d  = (g_addr_d != p_end_q);
    end
  end

  // ---- M: weight word read, index decode, multiply ------------------------------------------------
  logic                   m_valid_q, m_first_q;
  logic signed [ActWidth-1:0] m_act_q;
  logic [WORD_WIDTH-1:0]  m_word_q;
  logic [ROW_WIDTH-1:0]   row_q, row_d;
  logic signed [WeightWidth-1:0] m_weight;

  csc_index_decoder #(
    .WeightWidth(WeightWidth),
    .IndexWidth (IndexWidth),
    .RowWidth   (ROW_WIDTH)
  ) u_decoder (
    .word_i    (m_word_q),
    .first_i   (m_first_q),
    .prev_row_i(row_q),
    .weight_o  (m_weight),
    .row_o     (row_d)
  );

  // ---- A: accumulate -----------------------------------------------------------------------------
  logic                   a_valid_q;
  logic [ROW_WIDTH-1:0]   a_row_q;
  logic signed [PROD_WIDTH-1:0] a_prod_q;
  logic signed [AccWidth-1:0] acc_q [LocalRows];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      p_valid_q  <= 1'b0;
      g_active_q <= 1'b0;
      m_valid_q  <= 1'b0;
      a_valid_q  <= 1'b0;
      row_q      <= '0;
    end else begin
      if (col_pop) p_valid_q <= 1'b1;
      else if (p_take) p_valid_q <= 1'b0;
      g_active_q <= g_active_d;
      m_valid_q  <= issue;
      a_valid_q  <= m_valid_q;
      if (m_valid_q) row_q <= row_d;
    end
  end

  // Datapath registers without reset (qualified by the valid bits above).
  always_ff @(posedge clk_i) begin
    if (col_pop) begin
      p_act_q   <= col_act;
      p_begin_q <= pmem_q[ptr_addr];
      p_end_q   <= pmem_q[ptr_addr + 1'b1];
    end
    if (pmem_we_i) pmem_q[pmem_addr_i] <= pmem_data_i;
    if (wmem_we_i) wmem_q[wmem_addr_i] <= wmem_data_i;
    g_addr_q <= g_addr_d;
    g_end_q  <= g_end_d;
    g_act_q  <= g_act_d;
    if (issue) begin
      m_word_q  <= wmem_q[issue_addr[WIDX_WIDTH-1:0]];
      m_first_q <= issue_first;
      m_act_q   <= issue_act;
    end
    if (m_valid_q) begin
      a_row_q  <= row_d;
      a_prod_q <= m_act_q * m_weight;
    end
  end

  always_ff @(posedge clk_i) begin
    if (clear_i) begin
      for (int unsigned r = 0; r < LocalRows; r++) acc_q[r] <= '0;
    end else if (a_valid_q) begin
      acc_q[a_row_q[RIDX_WIDTH-1:0]] <= acc_q[a_row_q[RIDX_WIDTH-1:0]] + AccWidth'(a_prod_q);
    end
  end

  assign acc_rd_data_o = acc_q[acc_rd_row_i];
  assign idle_o = !p_valid_q && !g_active_q && !m_valid_q && !a_valid_q;
  assign busy_o = issue;

  // The top address bit only exists so that an end pointer can equal WeightDepth.
  logic unused_issue_msb;
  assign unused_issue_msb = issue_addr[WADDR_WIDTH-1];

`ifndef SYNTHESIS
  // verilator lint_off SYNCASYNCNET
  // A row beyond this PE's local rows means a malformed memory image.
  assert property (@(posedge clk_i) disable iff (!rst_ni) a_valid_q |-> (a_row_q < ROW_WIDTH'(LocalRows)));
  assert property (@(posedge clk_i) disable iff (!rst_ni) !(clear_i && !idle_o));
  // verilator lint_on SYNCASYNCNET
`endif
endmodule
