// One processing element of the sparse-LSTM engine (ESE-style).
//
// The engine broadcasts (activation, column-pointer address) entries, non-zero activations only, to every
// PE. For each, the PE streams that column's stored CSC words {weight, rel} through a multiply-accumulate
// into the local row the running index selects. Pipeline:
//   B  the broadcast register: this PE's copy, loaded from the engine's prefetch register (bc_load_i), so
//      the column-pointer read starts from a flop beside it; its entry fires (bc_valid_i) when every PE
//      had room
//   P  column-pointer read: [begin, end) of the broadcast column and its flags (registered)
//   Q  column queue (FifoDepth entries of {act, begin, end}); an empty column (begin == end) is dropped
//      here and costs no cycle; when the queue is empty, P's entry bypasses it
//   G  word address generator: one word per cycle, the next column's first word in the cycle after the
//      previous column's last word (no bubble); the address goes into the weight block RAM
//   M1 the word out of the block RAM, straight into fabric flops (an ECP5 DP16KD's output comes 5.8 ns
//      after the clock: nothing but a flop may follow it)
//   M2 index decode; the multiplier operands into flops of their own (nextpnr places them by the DSP:
//      a MULT18X18D is 3.9 ns, routes into and out of a DSP row up to 3.4 ns each)
//   M3 the multiply: partial products (act split at bit 17, each part one MULT18X18D) into flops
//   M4 the product: sum of the partial products
//   A1 read of the addressed accumulator, row from a flop (the sum A2 computes now when the word in A2
//      writes the same row: back-to-back words on one row stay exact)
//   A2 accumulate: read value + product. The accumulators are final at the end of the last word's A2:
//      the engine may start reading them (acc_rd_row_i) in that cycle.
// Words are issued (G) only while run_i is high (the matrix phase); P and Q may fill before it, so the
// first word can issue in the first cycle of the phase. Accumulators: exact (AccWidth is derived by the
// encoder so they never overflow), two banks of LocalRows (docs/engine.md "Overlap": the matrix phase
// writes bank_i while the element-wise unit reads the other through the read port), one memory of
// 2 x 2^RIDX_WIDTH words (LUT RAM: written in A2, read asynchronously in A1 and by the read port, the bank
// the top address bit) with a valid flop per row and bank; clear_i clears bank_i's valid bits the cycle
// after (before the first accumulator read, 5 cycles after the first issue) and an invalid row reads as
// zero, so the accumulators behave as flops cleared at once. Each word carries the bank it was issued
// with, so the last words of a phase write their bank while the next phase (other bank) starts. Read
// port: the address registered here (R0: acc_rd_bank_i, acc_rd_row_i are the engine's next address, so
// the read starts from flops beside the memory), its data registered (R1: acc_rd_data_o) the cycle after.
// quiet_o rises in the last word's M1: M2, M3, M4 and A1 follow (the engine sees it a cycle later, then
// its 3-cycle matrix tail), then its A2.
// Reset: asynchronous, active low. Memories have no reset; they are written by the load port or $readmemh.
// keep_hierarchy: Yosys would otherwise merge the PEs' identical flops (the broadcast register, the P
// stage) into one set fanning out to every PE across the chip.
(* keep_hierarchy *)
`default_nettype none

module csc_pe #(
  parameter int unsigned ActWidth      = 16,
  parameter int unsigned WeightWidth   = 12,
  parameter int unsigned IndexWidth    = 4,
  parameter int unsigned AccWidth      = 34,
  parameter int unsigned WeightDepth   = 1024,
  parameter int unsigned ColptrDepth   = 256,
  parameter int unsigned LocalRows     = 16,
  parameter int unsigned FifoDepth     = 16,
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
  input  logic                          clear_i,      // zero bank_i's accumulators next cycle (matrix start)
  input  logic                          run_i,        // words may issue (matrix phase)
  input  logic                          bank_i,       // the matrix phase's accumulator bank
  // broadcast: the engine's prefetch register loads into this PE's broadcast register (bc_load_i), whose
  // entry fires (bc_valid_i, one per cycle) when every PE had room the cycle before
  input  logic                          bc_load_i,
  input  logic signed [ActWidth-1:0]    bc_act_i,
  input  logic [PADDR_WIDTH-1:0]        bc_ptr_addr_i, // absolute pointer address of the column (begin)
  input  logic [PADDR_WIDTH-1:0]        bc_ptr_end_i,  // bc_ptr_addr_i + 1 (its end pointer; no adder here)
  input  logic                          bc_valid_i,
  // room for an entry next cycle, from this cycle's queue count and P (no credit for what G takes or drops
  // now): after no fire now, and after a fire now (the engine ANDs each over the PEs; the fire selects)
  output logic                          space_idle_o,
  output logic                          space_fire_o,
  output logic                          quiet_o,      // nothing pending in P, Q or G (M, A may still be)
  output logic                          busy_o,       // a stored word is issued this cycle
  // accumulator read (element-wise unit, logits): the address is registered here, the data follows in
  // acc_rd_data_o one cycle after that (two cycles after these inputs)
  input  logic                          acc_rd_bank_i,
  input  logic [RIDX_WIDTH-1:0]         acc_rd_row_i,
  output logic signed [AccWidth-1:0]    acc_rd_data_o,
  // memory writes (weight-load stream)
  input  logic                          wmem_we_i,
  input  logic [WIDX_WIDTH-1:0]         wmem_addr_i,
  input  logic [WORD_WIDTH-1:0]         wmem_data_i,
  input  logic                          pmem_we_i,
  input  logic [PADDR_WIDTH-1:0]        pmem_addr_i,
  input  logic [WADDR_WIDTH-1:0]        pmem_data_i,
  input  logic [2:0]                    pmem_flags_i   // the column's flags {two, single, nonempty}
);
  localparam int unsigned PROD_WIDTH = ActWidth + WeightWidth;
  // The multiply in two parts when the activation is wider than a MULT18X18D port: low LO_WIDTH bits
  // (unsigned, zero-extended) and the signed rest.
  localparam int unsigned LO_WIDTH   = (ActWidth > 18) ? 17 : ActWidth;
  localparam int unsigned HI_WIDTH   = (ActWidth > 18) ? ActWidth - 17 : 1;
  localparam int unsigned QW         = ActWidth + 2 * WADDR_WIDTH + 2;  // queue entry {act, begin, end, single, two}
  localparam int unsigned QPTR_WIDTH = (FifoDepth > 1) ? $clog2(FifoDepth) : 1;
  localparam int unsigned QCNT_WIDTH = $clog2(FifoDepth + 1);
  localparam logic [QPTR_WIDTH-1:0] QLAST = QPTR_WIDTH'(FifoDepth - 1);

  // ---- memories ---------------------------------------------------------------------------------
  // (no_rw_check: the load stream writes between sequences, never while words issue: no bypass logic
  // after the block RAM)
  (* no_rw_check *) logic [WORD_WIDTH-1:0] wmem_q [WeightDepth];
  logic [WADDR_WIDTH-1:0] pmem_q [ColptrDepth];
  // Each column's flags {two words, one word, non-empty} at its begin address, from the encoder
  // (pe<k>_colflags.memh; the load port's pointer beats carry them): P registers them straight from the
  // LUT RAM read, with no compare of the pointers after it.
  logic [2:0] pflag_q [ColptrDepth];

  // File names pe<k>_*.memh (docs/engine.md), spelled with constant concatenations Yosys accepts.
  localparam logic [7:0] DIGIT_HI = 8'(8'd48 + PeIndex / 10);
  localparam logic [7:0] DIGIT_LO = 8'(8'd48 + PeIndex % 10);
  if (PeIndex < 10) begin : g_init_1digit
    initial begin
      if (MemDir != "") begin
        $readmemh({MemDir, "/pe", DIGIT_LO, "_weights.memh"}, wmem_q);
        $readmemh({MemDir, "/pe", DIGIT_LO, "_colptr.memh"}, pmem_q);
        $readmemh({MemDir, "/pe", DIGIT_LO, "_colflags.memh"}, pflag_q);
      end
    end
  end else begin : g_init_2digit
    initial begin
      if (MemDir != "") begin
        $readmemh({MemDir, "/pe", DIGIT_HI, DIGIT_LO, "_weights.memh"}, wmem_q);
        $readmemh({MemDir, "/pe", DIGIT_HI, DIGIT_LO, "_colptr.memh"}, pmem_q);
        $readmemh({MemDir, "/pe", DIGIT_HI, DIGIT_LO, "_colflags.memh"}, pflag_q);
      end
    end
  end

  // ---- B: this PE's copy of the broadcast register -------------------------------------------------
  logic signed [ActWidth-1:0] b_act_q;
  logic [PADDR_WIDTH-1:0]     b_addr_q, b_end_q;
  always_ff @(posedge clk_i) begin
    if (bc_load_i) begin
      b_act_q  <= bc_act_i;
      b_addr_q <= bc_ptr_addr_i;
      b_end_q  <= bc_ptr_end_i;
    end
  end

  // ---- P: column-pointer read ----------------------------------------------------------------------
  // (the column's three flags are registered with its pointers: G's take and the queue count start from flops)
  logic                       p_valid_q, p_live, p_nonempty_q, p_single_q;
  logic                       p_two_q;   // the column holds two words: G's first issue is not its last
  logic signed [ActWidth-1:0] p_act_q;
  logic [WADDR_WIDTH-1:0]     p_begin_q, p_end_q, ptr_begin, ptr_end;
  logic                       p_single;  // the column holds one word: G is done after its first issue
  logic [2:0]                 ptr_flags;
  assign ptr_begin  = pmem_q[b_addr_q];
  assign ptr_flags  = pflag_q[b_addr_q];
  assign ptr_end    = pmem_q[b_end_q];
  assign p_live     = p_valid_q && p_nonempty_q;
  assign p_single   = p_single_q;

  // ---- Q: column queue ---------------------------------------------------------------------------
  logic [QW-1:0]         q_mem_q [FifoDepth];
  logic [QPTR_WIDTH-1:0] q_wr_q, q_rd_q;
  logic [QCNT_WIDTH-1:0] q_cnt_q, q_cnt_d;
  logic                  q_empty, q_push, q_pop, q_empty_q;
  logic [QW-1:0]         q_head;
  assign q_empty = q_empty_q;  // (q_cnt_q == 0, a flop of its own)
  assign q_head  = q_mem_q[q_rd_q];
  // An entry fired now lands in P next cycle and in Q the cycle after; P's current entry lands in Q next
  // cycle: an entry may fire while q_cnt_q + p_valid_q < FifoDepth. The engine's handshake reads that a
  // cycle late, as an upper bound from this cycle's values: next cycle's q_cnt + p_valid is at most
  // q_cnt_q + p_valid_q + (a fire now) (the queue grows only by P's entry, P only by a fire), so
  // space_idle_o = q_cnt_q + p_valid_q < FifoDepth, space_fire_o = q_cnt_q + p_valid_q + 1 < FifoDepth:
  // compares of the count with constants (registered: cnt_lt*_q) selected by P's valid, one LUT from flops.
  logic cnt_up, cnt_down;
  logic cnt_lt2_q, cnt_lt1_q, cnt_lt0_q;  // q_cnt_q < FifoDepth - 2, FifoDepth - 1, FifoDepth
  assign cnt_up       = q_push && !q_pop;
  assign cnt_down     = q_pop && !q_push;
  assign space_idle_o = p_valid_q ? cnt_lt1_q : cnt_lt0_q;
  assign space_fire_o = p_valid_q ? cnt_lt2_q : cnt_lt1_q;

  // ---- G: word address generator -------------------------------------------------------------------
  logic                       g_active_q, g_active_d;
  logic [WADDR_WIDTH-1:0]     g_addr_q, g_addr_d, g_end_q, g_end_d;
  logic signed [ActWidth-1:0] g_act_q, g_act_d;
  logic                       src_valid, src_single, src_two, take, issue, issue_first;
  logic signed [ActWidth-1:0] src_act, issue_act;
  logic [WADDR_WIDTH-1:0]     src_begin, src_end, src_next, issue_addr;

  // The column to start next: the queue head, or P's entry when the queue is empty.
  assign src_valid = !q_empty || p_live;
  assign {src_act, src_begin, src_end, src_single, src_two} = q_empty ? {p_act_q, p_begin_q, p_end_q, p_single, p_two_q}
                                                                      : q_head;
  assign src_next  = src_begin + 1'b1;
  assign take      = run_i && !g_active_q && src_valid;
  assign q_pop     = take && !q_empty;
  assign q_push    = p_live && !(take && q_empty);

  always_comb begin
    q_cnt_d = q_cnt_q;
    if (q_push && !q_pop) q_cnt_d = q_cnt_q + 1'b1;
    else if (q_pop && !q_push) q_cnt_d = q_cnt_q - 1'b1;
  end

  always_comb begin
    g_active_d  = g_active_q;
    g_addr_d    = g_addr_q;
    g_end_d     = g_end_q;
    g_act_d     = g_act_q;
    issue       = 1'b0;
    issue_first = 1'b0;
    issue_addr  = g_addr_q;
    issue_act   = g_act_q;
    if (run_i && g_active_q) begin
      issue      = 1'b1;
      g_addr_d   = g_addr_q + 1'b1;
      g_active_d = !g_last_q;
    end else if (take) begin
      issue       = 1'b1;
      issue_first = 1'b1;
      issue_addr  = src_begin;
      issue_act   = src_act;
      g_addr_d    = src_next;
      g_end_d     = src_end;
      g_act_d     = src_act;
      g_active_d  = !src_single;
    end
  end

  // g_last_q: the word G issues next is its column's last (g_addr_q + 1 == g_end_q), a flop of its own
  // (registered from the next address and end), so neither G nor the quiet AND waits for that compare.
  logic g_last_q, g_last_d;
  always_comb begin
    g_last_d = g_last_q;
    if (run_i && g_active_q) g_last_d = (g_addr_q + WADDR_WIDTH'(2) == g_end_q);
    else if (take) g_last_d = src_two;  // (src_begin + 2 == src_end, registered with the column)
  end
  always_ff @(posedge clk_i) begin
    g_last_q <= g_last_d;
  end

  // ---- M1: weight word into flops; M2: index decode, operands; M3: partial products; M4: product -------
  logic                          m_valid_q, m_first_q;
  logic                          m_bank_q, w_bank_q, d_bank_q, x_bank_q, a_bank_q, b_bank_q;
  logic signed [ActWidth-1:0]    m_act_q;
  logic [WORD_WIDTH-1:0]         m_word_q;
  logic                          w_valid_q, w_first_q;
  logic signed [ActWidth-1:0]    w_act_q;
  logic [WORD_WIDTH-1:0]         w_word_q;
  logic signed [WeightWidth-1:0] w_weight;
  logic [ROW_WIDTH-1:0]          row_q, row_d;
  assign w_weight = w_word_q[WORD_WIDTH-1:IndexWidth];

  csc_index_decoder #(
    .IndexWidth(IndexWidth),
    .RowWidth  (ROW_WIDTH)
  ) u_decoder (
    .rel_i     (w_word_q[IndexWidth-1:0]),
    .first_i   (w_first_q),
    .prev_row_i(row_q),
    .row_o     (row_d)
  );

  logic signed [PROD_WIDTH-1:0]  x_prod;
  logic                          d_valid_q;
  logic signed [ActWidth-1:0]    d_act_q;
  logic signed [WeightWidth-1:0] d_weight_q;
  logic [ROW_WIDTH-1:0]          d_row_q;

  // M2: the operands into flops that feed nothing but the multipliers
  always_ff @(posedge clk_i) begin
    if (w_valid_q) begin
      d_act_q    <= w_act_q;
      d_weight_q <= w_weight;
      d_row_q    <= row_d;
    end
  end

  // M3 registers the partial products (the MULT18X18D outputs go straight into flops); M4 adds them.
  if (ActWidth > 18) begin : g_split_mul
    logic signed [LO_WIDTH+WeightWidth:0]   lo_q;  // {0, act[16:0]} * weight
    logic signed [HI_WIDTH+WeightWidth-1:0] hi_q;  // act[ActWidth-1:17] * weight
    always_ff @(posedge clk_i) begin
      if (d_valid_q) begin
        lo_q <= $signed({1'b0, d_act_q[LO_WIDTH-1:0]}) * d_weight_q;
        hi_q <= $signed(d_act_q[ActWidth-1:LO_WIDTH]) * d_weight_q;
      end
    end
    assign x_prod = (PROD_WIDTH'(hi_q) <<< LO_WIDTH) + PROD_WIDTH'(lo_q);
  end else begin : g_one_mul
    logic signed [PROD_WIDTH-1:0] prod_q;
    always_ff @(posedge clk_i) begin
      if (d_valid_q) prod_q <= d_act_q * d_weight_q;
    end
    assign x_prod = prod_q;
  end

  // ---- A1: accumulator read; A2: accumulate ----------------------------------------------------------
  // The accumulator is read in A1 (row from a flop) and written in A2: a word whose row the previous
  // word (now in A2) is writing reads that word's sum instead of the stale flop, so A2 is one add.
  logic                         x_valid_q, a_valid_q, b_valid_q, clear_q;
  logic [ROW_WIDTH-1:0]         x_row_q, a_row_q, b_row_q;
  logic signed [PROD_WIDTH-1:0] a_prod_q, b_prod_q;
  logic signed [AccWidth-1:0]   b_old_q, b_sum;
  logic signed [AccWidth-1:0]   acc_rd_q;
  assign b_sum = b_old_q + AccWidth'(b_prod_q);

  // The accumulators: a plain memory (one synchronous write port, two asynchronous read ports: LUT RAM,
  // replicated per read port) and a valid bit per row in flops. clear_q clears the valid bits only; a
  // row reads as zero until A2 writes it (and sets its bit), so a read sees exactly what cleared flops
  // would hold. The memory has no reset and no clear: never-written rows are masked by their valid bit.
  localparam int unsigned BANK_ROWS = 1 << RIDX_WIDTH;
  logic signed [AccWidth-1:0]   acc_mem [2 * BANK_ROWS];
  logic [LocalRows-1:0]         acc_valid_q [2];
  logic [RIDX_WIDTH-1:0]        a_idx, b_idx;
  logic signed [AccWidth-1:0]   a_acc, rd_acc;
  logic                         clear_bank_q;
  assign a_idx  = a_row_q[RIDX_WIDTH-1:0];
  assign b_idx  = b_row_q[RIDX_WIDTH-1:0];
  assign a_acc  = acc_valid_q[a_bank_q][a_idx] ? acc_mem[{a_bank_q, a_idx}] : '0;
  logic                         rd_bank_q;
  logic [RIDX_WIDTH-1:0]        rd_row_q;
  always_ff @(posedge clk_i) begin
    rd_bank_q <= acc_rd_bank_i;
    rd_row_q  <= acc_rd_row_i;
  end
  assign rd_acc = acc_valid_q[rd_bank_q][rd_row_q] ? acc_mem[{rd_bank_q, rd_row_q}] : '0;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      p_valid_q  <= 1'b0;
      q_wr_q     <= '0;
      q_rd_q     <= '0;
      q_cnt_q    <= '0;
      q_empty_q  <= 1'b1;
      cnt_lt2_q  <= (FifoDepth > 2);
      cnt_lt1_q  <= (FifoDepth > 1);
      cnt_lt0_q  <= 1'b1;
      g_active_q <= 1'b0;
      m_valid_q  <= 1'b0;
      w_valid_q  <= 1'b0;
      d_valid_q  <= 1'b0;
      x_valid_q  <= 1'b0;
      a_valid_q  <= 1'b0;
      b_valid_q  <= 1'b0;
      clear_q    <= 1'b0;
      row_q      <= '0;
      acc_valid_q[0] <= '0;
      acc_valid_q[1] <= '0;
    end else begin
      p_valid_q <= bc_valid_i;
      if (q_push) q_wr_q <= (q_wr_q == QLAST) ? '0 : q_wr_q + 1'b1;
      if (q_pop) q_rd_q <= (q_rd_q == QLAST) ? '0 : q_rd_q + 1'b1;
      q_cnt_q <= q_cnt_d;
      q_empty_q <= (q_cnt_d == '0);
      // (q_cnt_d < c as q_cnt_q < c - 1, c + 1 or c by push and pop: compares of flops, then a select)
      cnt_lt2_q <= cnt_up ? (int'(q_cnt_q) < int'(FifoDepth) - 3)
                 : (cnt_down ? (int'(q_cnt_q) < int'(FifoDepth) - 1) : (int'(q_cnt_q) < int'(FifoDepth) - 2));
      cnt_lt1_q <= cnt_up ? (int'(q_cnt_q) < int'(FifoDepth) - 2)
                 : (cnt_down ? (int'(q_cnt_q) < int'(FifoDepth)) : (int'(q_cnt_q) < int'(FifoDepth) - 1));
      cnt_lt0_q <= cnt_up ? (int'(q_cnt_q) < int'(FifoDepth) - 1)
                 : (cnt_down || int'(q_cnt_q) < int'(FifoDepth));
      g_active_q <= g_active_d;
      m_valid_q  <= issue;
      w_valid_q  <= m_valid_q;
      d_valid_q  <= w_valid_q;
      x_valid_q  <= d_valid_q;
      a_valid_q  <= x_valid_q;
      b_valid_q  <= a_valid_q;
      clear_q    <= clear_i;
      if (w_valid_q) row_q <= row_d;
      // (a clear and a write of the same bank never meet: asserted below)
      if (clear_q) acc_valid_q[clear_bank_q] <= '0;
      if (b_valid_q) acc_valid_q[b_bank_q][b_idx] <= 1'b1;
    end
  end

  // Datapath registers without reset (qualified by the valid bits above).
  always_ff @(posedge clk_i) begin
    if (bc_valid_i) begin
      p_act_q      <= b_act_q;
      p_begin_q    <= ptr_begin;
      p_end_q      <= ptr_end;
      {p_two_q, p_single_q, p_nonempty_q} <= ptr_flags;
    end
    if (q_push) q_mem_q[q_wr_q] <= {p_act_q, p_begin_q, p_end_q, p_single, p_two_q};
    if (pmem_we_i) pmem_q[pmem_addr_i] <= pmem_data_i;
    if (pmem_we_i) pflag_q[pmem_addr_i] <= pmem_flags_i;
    if (wmem_we_i) wmem_q[wmem_addr_i] <= wmem_data_i;
    g_addr_q <= g_addr_d;
    g_end_q  <= g_end_d;
    g_act_q  <= g_act_d;
    if (issue) begin
      m_word_q  <= wmem_q[issue_addr[WIDX_WIDTH-1:0]];
      m_first_q <= issue_first;
      m_act_q   <= issue_act;
      m_bank_q  <= bank_i;
    end
    if (clear_i) clear_bank_q <= bank_i;
    // M1, unqualified: nothing but a flop may follow the block RAM's output (used only when w_valid_q).
    w_word_q  <= m_word_q;
    w_first_q <= m_first_q;
    w_act_q   <= m_act_q;
    w_bank_q  <= m_bank_q;
    if (w_valid_q) d_bank_q <= w_bank_q;
    if (d_valid_q) begin
      x_row_q  <= d_row_q;
      x_bank_q <= d_bank_q;
    end
    if (x_valid_q) begin
      a_row_q  <= x_row_q;
      a_prod_q <= x_prod;
      a_bank_q <= x_bank_q;
    end
    if (a_valid_q) begin
      b_row_q  <= a_row_q;
      b_prod_q <= a_prod_q;
      b_bank_q <= a_bank_q;
      b_old_q  <= (b_valid_q && b_row_q == a_row_q && b_bank_q == a_bank_q) ? b_sum : a_acc;
    end
    acc_rd_q <= rd_acc;
  end

  // The accumulator memory's write port (A2). A write in clear_q's cycle never happens (asserted below).
  always_ff @(posedge clk_i) begin
    if (b_valid_q) acc_mem[{b_bank_q, b_idx}] <= b_sum;
  end

  assign acc_rd_data_o = acc_rd_q;
  assign quiet_o = !p_valid_q && q_empty && !g_active_q;
  assign busy_o  = issue;

  // The top address bit only exists so that an end pointer can equal WeightDepth.
  logic unused_issue_msb;
  assign unused_issue_msb = issue_addr[WADDR_WIDTH-1];

`ifndef SYNTHESIS
  // verilator lint_off SYNCASYNCNET
  // A row beyond this PE's local rows means a malformed memory image.
  assert property (@(posedge clk_i) disable iff (!rst_ni) a_valid_q |-> (a_row_q < ROW_WIDTH'(LocalRows)));
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    !(clear_q && ((a_valid_q && a_bank_q == clear_bank_q) || (b_valid_q && b_bank_q == clear_bank_q))));
  // an entry fires only with room for it
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    bc_valid_i |-> ((QCNT_WIDTH + 1)'(q_cnt_q) + (QCNT_WIDTH + 1)'(p_valid_q) < (QCNT_WIDTH + 1)'(FifoDepth)));
  assert property (@(posedge clk_i) disable iff (!rst_ni) !(q_push && q_cnt_q == QCNT_WIDTH'(FifoDepth)));
  assert property (@(posedge clk_i) disable iff (!rst_ni) q_empty_q == (q_cnt_q == '0));
  assert property (@(posedge clk_i) disable iff (!rst_ni) g_active_q |-> g_last_q == (g_addr_q + 1'b1 == g_end_q));
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    bc_valid_i |-> ptr_flags == {ptr_end == ptr_begin + WADDR_WIDTH'(2), ptr_end == ptr_begin + 1'b1,
                                 ptr_end != ptr_begin});
  assert property (@(posedge clk_i) disable iff (!rst_ni) cnt_lt2_q == (int'(q_cnt_q) < int'(FifoDepth) - 2) &&
    cnt_lt1_q == (int'(q_cnt_q) < int'(FifoDepth) - 1) && cnt_lt0_q == (int'(q_cnt_q) < int'(FifoDepth)));
  // verilator lint_on SYNCASYNCNET
`endif
endmodule

`default_nettype wire
