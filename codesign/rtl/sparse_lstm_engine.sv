// ESE-style sparse-LSTM engine: NumPe CSC processing elements, each with a column queue fed by a
// broadcast of the non-zero activations, and its own element-wise unit (an LSTM layer's four gate rows of
// unit u sit on PE u mod NumPe; all PEs walk their units in lockstep), h double-buffered per layer,
// 1..MaxLayers stacked LSTM layers and a dense head on the same PEs (docs/engine.md is the contract;
// codesign.engine is the golden model). Gru = 1: GRU layers (reset_after) instead: the same four rows per
// unit (z, r, n_x, n_h), gru_eltwise as the element-wise unit (same ports and latency), and the per-unit
// state the LSTM keeps as c is q_state(h_t).
//
// Streams (AXI4-Stream semantics: a beat moves when valid && ready):
//   in   : one act word (x_t element) per beat, NumInputs beats per frame; in_last_i on the final word
//          of a sequence's final frame. A new sequence starts from h = 0, c = 0.
//   out  : out_user_o = 0: logits (NumClasses beats of acc raw, sign-extended, last on the final one);
//          out_user_o = l+1: h_t of layer l (NumHidden beats of act raw) after every step when emit_h.
//   load : {sel[15:0], pe[15:0], addr[31:0], data[63:0]} per beat, accepted only between sequences.
//          sel 0 weight word, 1 column pointer, 2 bias (all three of PE `pe`), 3 sigmoid, 4 tanh entry,
//          5 config: addr 0 inputs, 1 units of layer 0, 2 units of layer 1, 3 classes, 4 layers,
//          5 emit_h, 6/7/8 colptr base of layer0/layer1/head, 9/10/11 bias base of layer0/layer1/head,
//          12 delta mode on (a Delta build), 13/14 its thresholds x/h (act raw).
//          Addresses and data as in docs/engine.md "Image files, exactly" (params.json).
// Memory initialisation for synthesis: $readmemh of MemDir/{pe<k>_weights,pe<k>_colptr,pe<k>_bias,sigmoid,
// tanh}.memh; the configuration's power-up value comes from the NumInputs.. parameters
// (the encoder's build/rtl/<name>/engine_params.svh: INPUTS, UNITS_0, UNITS_1, CLASSES, NUM_LAYERS; bases as
// the encoder lays them out). The parameters themselves are declared in engine_parameters.svh.
// Shapes are runtime configuration bounded by the Max* parameters, so one build serves many models.
// Reset: asynchronous, active low; it aborts a sequence. Memories and configuration keep their contents.
// Performance counters (reset to 0; docs/engine.md "RTL counters"): steps, cycles of the last step and
// their sum (wall clock from the later of the previous step's end (+ its h_t output) and the frame's
// completion to h_t of the last layer written), matrix-phase cycles of LSTM layers (M_RUN + M_TAIL, without
// the cycles layer 0 waits for a word of its frame), per-PE busy cycles (a stored word consumed in an LSTM-layer
// matrix phase).
// Zero activations are skipped at no cycle cost: non-zero x_t words, exact h_t values (for the layer
// above and the head) and q_state(h_t) values (for the layer's own next step) are appended to (value,
// column) lists as they are written, and the broadcaster walks the lists.
// Overlap (docs/engine.md "Overlap"): two controllers, M (broadcaster and PEs: matrix phases) and E
// (element-wise walk, h_t output, logits). Every PE has two accumulator banks; M(p + 1) runs on one while
// E(p) reads the other, and broadcasts the entries E(p) writes as they are written. The frame of layer 0's
// next step is accepted during its matrix phase M(t, 0) (in_ready), i.e. while E(t - 1, last) runs.
`default_nettype none

`include "engine_parameters.svh"

module sparse_lstm_engine #(
  `ENGINE_PARAMETERS,  // engine_parameters.svh
  localparam int unsigned IN_WIDTH    = 8 * ((ActWidth + 7) / 8),
  localparam int unsigned OUT_WIDTH   = 8 * ((AccWidth + 7) / 8),
  localparam int unsigned LOAD_WIDTH  = 128,
  localparam int unsigned PERF_WIDTH  = 32
) (
  input  logic                        clk_i,
  input  logic                        rst_ni,
  input  logic                        in_valid_i,
  output logic                        in_ready_o,
  input  logic [IN_WIDTH-1:0]         in_data_i,
  input  logic                        in_last_i,
  output logic                        out_valid_o,
  input  logic                        out_ready_i,
  output logic [OUT_WIDTH-1:0]        out_data_o,
  output logic                        out_last_o,
  output logic [1:0]                  out_user_o,
  input  logic                        load_valid_i,
  output logic                        load_ready_o,
  input  logic [LOAD_WIDTH-1:0]       load_data_i,
  output logic [PERF_WIDTH-1:0]       perf_steps_o,
  output logic [PERF_WIDTH-1:0]       perf_step_cycles_o,
  output logic [PERF_WIDTH-1:0]       perf_total_step_cycles_o,
  output logic [PERF_WIDTH-1:0]       perf_matrix_cycles_o,
  output logic [NumPe*PERF_WIDTH-1:0] perf_pe_busy_o
);
  // ---- derived sizes -----------------------------------------------------------------------------
  localparam int unsigned ACC_FRAC     = ActFrac + WeightFrac;
  localparam int unsigned COLS_L0      = MaxInputs + MaxUnits;
  localparam int unsigned MAX_COLS     = (MaxLayers > 1 && 2 * MaxUnits > COLS_L0) ? 2 * MaxUnits : COLS_L0;
  localparam int unsigned COL_WIDTH    = $clog2(MAX_COLS + 1);
  localparam int unsigned MAX_ROWS     = (4 * MaxUnits > MaxClasses) ? 4 * MaxUnits : MaxClasses;
  localparam int unsigned LU_MAX       = (MaxUnits + NumPe - 1) / NumPe;     // units per PE
  localparam int unsigned HEAD_LOCAL   = (MaxClasses + NumPe - 1) / NumPe;   // head rows per PE
  localparam int unsigned LOCAL_ROWS   = (4 * LU_MAX > HEAD_LOCAL) ? 4 * LU_MAX : HEAD_LOCAL;
  localparam int unsigned COLPTR_DEPTH = COLS_L0 + 1 + ((MaxLayers > 1) ? 2 * MaxUnits + 1 : 0) + MaxUnits + 1;
  localparam int unsigned BIAS_DEPTH   = 4 * LU_MAX * MaxLayers + HEAD_LOCAL;  // per PE
  localparam int unsigned WORD_WIDTH   = WeightWidth + IndexWidth;
  localparam int unsigned WADDR_WIDTH  = $clog2(WeightDepth + 1);
  localparam int unsigned WIDX_WIDTH   = (WeightDepth > 1) ? $clog2(WeightDepth) : 1;
  localparam int unsigned PADDR_WIDTH  = $clog2(COLPTR_DEPTH);
  localparam int unsigned BADDR_WIDTH  = $clog2(BIAS_DEPTH);
  localparam int unsigned ROW_WIDTH    = $clog2(MAX_ROWS + 1);
  localparam int unsigned RIDX_WIDTH   = (LOCAL_ROWS > 1) ? $clog2(LOCAL_ROWS) : 1;
  localparam int unsigned PE_WIDTH     = (NumPe > 1) ? $clog2(NumPe) : 1;
  localparam int unsigned UNIT_WIDTH   = $clog2(MaxUnits + 1);
  localparam int unsigned XIDX_WIDTH   = (MaxInputs > 1) ? $clog2(MaxInputs) : 1;
  localparam int unsigned LAYER_WIDTH  = 2;
  localparam int unsigned HIDX_WIDTH   = (MaxLayers * 2 * LU_MAX > 1) ? $clog2(MaxLayers * 2 * LU_MAX) : 1;
  localparam int unsigned CIDX_WIDTH   = (MaxLayers * LU_MAX > 1) ? $clog2(MaxLayers * LU_MAX) : 1;
  localparam int unsigned LU_WIDTH     = $clog2(LU_MAX + 1);
  // The h lists are banked so that one local unit's NumPe results land in distinct banks: LIST_BANKS
  // (a power of two >= NumPe) banks, entry i in bank i mod LIST_BANKS at row i div LIST_BANKS.
  localparam int unsigned LIST_BANKS   = 1 << $clog2(NumPe);
  localparam int unsigned LIST_ROWS    = (MaxUnits + LIST_BANKS - 1) / LIST_BANKS;
  localparam int unsigned ZWIDTH       = AccWidth + 1;
  // broadcast values: act, or (Delta) a change of an act value, which needs one bit more
  localparam int unsigned BC_WIDTH     = ActWidth + (Delta ? 1 : 0);
  localparam int unsigned MROWS        = MaxLayers * 4 * LU_MAX;  // a PE's M memory: every layer's rows
  localparam int unsigned MADDR_WIDTH  = (MROWS > 1) ? $clog2(MROWS) : 1;
  // table entry width (docs/engine.md "Types": TABLE_WIDTH), as lstm_eltwise / gru_eltwise derive it
  // (the exact sum tanh sees: LSTM cell_sum, GRU cand_sum = acc + gate x acc)
  localparam int          SUM_FRAC     = Gru ? int'(ACC_FRAC) + GateFrac
                                       : (CellFrac > GateFrac) ? GateFrac + CellFrac : 2 * GateFrac;
  localparam int          BOUND_FRAC   = (int'(ACC_FRAC) > SUM_FRAC) ? int'(ACC_FRAC) : SUM_FRAC;
  localparam int unsigned TABLE_WIDTH  = GateWidth + unsigned'(BOUND_FRAC - TableInFrac + 1);

  localparam logic [1:0] MAT_L0   = 2'd0;
  localparam logic [1:0] MAT_L1   = 2'd1;
  localparam logic [1:0] MAT_HEAD = 2'd2;

  localparam logic [15:0] SEL_WEIGHT  = 16'd0;
  localparam logic [15:0] SEL_COLPTR  = 16'd1;
  localparam logic [15:0] SEL_BIAS    = 16'd2;
  localparam logic [15:0] SEL_SIGMOID = 16'd3;
  localparam logic [15:0] SEL_TANH    = 16'd4;
  localparam logic [15:0] SEL_CONFIG  = 16'd5;
  localparam logic [7:0]  COLFLAGS_LSB = 8'd32;  // a column-pointer beat's column flags, data[34:32]

  // Matrix side: one phase (layer step or head) at a time, on accumulator bank m_abank_q.
  typedef enum logic [1:0] {
    M_IDLE,   // after the head: waits until E is idle, then opens layer 0 of the next sequence
    M_RUN,    // broadcast the non-zero activations; PEs issue words (first cycle clears the bank); layer 0
              // receives its frame here (and load beats before a sequence's first word)
    M_TAIL,   // 3 cycles after M_RUN's last: the PEs' last words in M2, M3, M4, A1 (their A2 overlaps the
              // next cycle)
    M_DONE    // the phase's accumulators are final: waits for E to take it
  } mstate_e;
  // Element-wise side: takes M's finished phase (the handoff, e_take) and reads its bank.
  typedef enum logic [2:0] {
    E_IDLE,
    E_ELT,        // element-wise unit over all rows
    E_DRAIN,      // wait for the last h_t
    E_OUT_H,      // stream h_t of every layer (emit_h)
    E_LOGIT_RD,   // issue one logit's row into the accumulator read pipeline
    E_LOGIT_WAIT, // wait for its z (= acc + bias)
    E_LOGIT_SEND  // stream it
  } estate_e;

  // ---- configuration (no reset: survives a reset in the middle of a sequence) ---------------------
  localparam int unsigned L1_PTR_INIT = NumInputs + Units0 + 1;
  localparam int unsigned HEAD_PTR_INIT = L1_PTR_INIT + ((NumLayers > 1) ? Units0 + Units1 + 1 : 0);
  localparam int unsigned L1_BIAS_INIT = 4 * ((Units0 + NumPe - 1) / NumPe);
  localparam int unsigned HEAD_BIAS_INIT = L1_BIAS_INIT + ((NumLayers > 1) ? 4 * ((Units1 + NumPe - 1) / NumPe) : 0);
  logic [COL_WIDTH-1:0]   cfg_inputs_q;
  logic [UNIT_WIDTH-1:0]  cfg_units_q [2];
  logic [LAYER_WIDTH-1:0] cfg_layers_q;
  logic                   cfg_emit_h_q;
  logic [PADDR_WIDTH-1:0] cfg_ptr_base_q [3];
  logic [BADDR_WIDTH-1:0] cfg_bias_base_q [3];
  logic                   cfg_delta_q;                 // delta mode on (only with the Delta hardware)
  logic [ActWidth-1:0]    cfg_th_x_q, cfg_th_h_q;      // thresholds, act raw
  // one less, written with the count (for the counters' last-value compares: no adder before them)
  logic [COL_WIDTH-1:0]   cfg_inputs_m1_q;
  logic [UNIT_WIDTH-1:0]  cfg_units_m1_q [2];
  logic [ROW_WIDTH-1:0]   cfg_classes_m1_q;    // (the class count itself is read nowhere else)
  logic [LAYER_WIDTH-1:0] cfg_layers_m1_q;     // the last layer

  initial begin
    cfg_inputs_q       = COL_WIDTH'(NumInputs);
    cfg_units_q[0]     = UNIT_WIDTH'(Units0);
    cfg_units_q[1]     = UNIT_WIDTH'(Units1);
    cfg_layers_q       = LAYER_WIDTH'(NumLayers);
    cfg_emit_h_q       = EmitH;
    cfg_ptr_base_q[0]  = '0;
    cfg_ptr_base_q[1]  = PADDR_WIDTH'(L1_PTR_INIT);
    cfg_ptr_base_q[2]  = PADDR_WIDTH'(HEAD_PTR_INIT);
    cfg_bias_base_q[0] = '0;
    cfg_bias_base_q[1] = BADDR_WIDTH'(L1_BIAS_INIT);
    cfg_bias_base_q[2] = BADDR_WIDTH'(HEAD_BIAS_INIT);
    cfg_delta_q        = Delta;
    cfg_th_x_q         = ActWidth'(ThresholdX);
    cfg_th_h_q         = ActWidth'(ThresholdH);
    cfg_inputs_m1_q    = COL_WIDTH'(NumInputs - 1);
    cfg_units_m1_q[0]  = UNIT_WIDTH'(Units0 - 1);
    cfg_units_m1_q[1]  = UNIT_WIDTH'(Units1 - 1);
    cfg_classes_m1_q   = ROW_WIDTH'(NumClasses - 1);
    cfg_layers_m1_q    = LAYER_WIDTH'(NumLayers - 1);
  end

  // ---- load stream decode -----------------------------------------------------------------------
  logic        load_fire;
  logic [15:0] load_sel, load_pe;
  logic [31:0] load_addr;
  logic [63:0] load_data;
  assign load_sel  = load_data_i[127:112];
  assign load_pe   = load_data_i[111:96];
  assign load_addr = load_data_i[95:64];
  assign load_data = load_data_i[63:0];
  assign load_fire = load_valid_i && load_ready_o;

  always_ff @(posedge clk_i) begin
    if (load_fire && load_sel == SEL_CONFIG) begin
      unique case (load_addr[3:0])
        4'd0: begin
          cfg_inputs_q    <= load_data[COL_WIDTH-1:0];
          cfg_inputs_m1_q <= load_data[COL_WIDTH-1:0] - 1'b1;
        end
        4'd1: begin
          cfg_units_q[0]    <= load_data[UNIT_WIDTH-1:0];
          cfg_units_m1_q[0] <= load_data[UNIT_WIDTH-1:0] - 1'b1;
        end
        4'd2: begin
          cfg_units_q[1]    <= load_data[UNIT_WIDTH-1:0];
          cfg_units_m1_q[1] <= load_data[UNIT_WIDTH-1:0] - 1'b1;
        end
        4'd3: begin
          cfg_classes_m1_q <= load_data[ROW_WIDTH-1:0] - 1'b1;
        end
        4'd4: begin
          cfg_layers_q    <= load_data[LAYER_WIDTH-1:0];
          cfg_layers_m1_q <= load_data[LAYER_WIDTH-1:0] - 1'b1;
        end
        4'd5:    cfg_emit_h_q <= load_data[0];
        4'd6:    cfg_ptr_base_q[0] <= load_data[PADDR_WIDTH-1:0];
        4'd7:    cfg_ptr_base_q[1] <= load_data[PADDR_WIDTH-1:0];
        4'd8:    cfg_ptr_base_q[2] <= load_data[PADDR_WIDTH-1:0];
        4'd9:    cfg_bias_base_q[0] <= load_data[BADDR_WIDTH-1:0];
        4'd10:   cfg_bias_base_q[1] <= load_data[BADDR_WIDTH-1:0];
        4'd11:   cfg_bias_base_q[2] <= load_data[BADDR_WIDTH-1:0];
        4'd12:   cfg_delta_q <= Delta && load_data[0];
        4'd13:   cfg_th_x_q <= load_data[ActWidth-1:0];
        4'd14:   cfg_th_h_q <= load_data[ActWidth-1:0];
        default: ;
      endcase
    end
  end

  // Local units per PE of each layer: ceil(units / NumPe) (from the configuration only; a layer's
  // element-wise walk starts at the earliest two cycles after a configuration write).
  logic [LU_WIDTH-1:0] cfg_lu_q [2];
  // (compares with constants: no divider)
  function automatic logic [LU_WIDTH-1:0] local_units(input logic [UNIT_WIDTH-1:0] u);
    local_units = '0;
    for (int unsigned j = 0; j < LU_MAX; j++) begin
      if (32'(u) > j * NumPe) local_units = LU_WIDTH'(j + 1);
    end
  endfunction
  // ... and one and two less (the last local unit and the one before), for compares against counters
  // without an adder
  logic [LU_WIDTH-1:0] cfg_lu_m1_q [2], cfg_lu_m2_q [2];
  always_ff @(posedge clk_i) begin
    for (int unsigned i = 0; i < 2; i++) cfg_lu_q[i] <= local_units(cfg_units_q[i]);
    for (int unsigned i = 0; i < 2; i++) cfg_lu_m1_q[i] <= local_units(cfg_units_q[i]) - 1'b1;
    for (int unsigned i = 0; i < 2; i++) cfg_lu_m2_q[i] <= local_units(cfg_units_q[i]) - 2'd2;
  end

  // ---- state --------------------------------------------------------------------------------------
  mstate_e                m_state_q, m_state_d;
  estate_e                e_state_q, e_state_d;
  logic [COL_WIDTH-1:0]   in_cnt_q, in_cnt_d;
  logic                   frame_done_q, frame_done_d;  // M(t, 0)'s frame is complete
  logic                   seq_last_q, seq_last_d;    // the last frame ends the sequence
  // M's phase: matrix, layer, h bank holding h_{t-1} of its step, first step (h_{t-1} = 0), accumulator
  // bank; pend_q: its segment 1 is still being written by the running E phase
  logic [1:0]             m_mat_q, m_mat_d;
  logic [LAYER_WIDTH-1:0] m_layer_q, m_layer_d;
  logic                   m_bank_q, m_bank_d;
  logic                   m_first_q, m_first_d;
  logic                   m_abank_q, m_abank_d;
  logic                   pend_q, pend_d;
  // E's phase (M's, taken at the handoff); e_layer_q also counts the layers of the h_t output
  logic [1:0]             e_mat_q, e_mat_d;
  logic [LAYER_WIDTH-1:0] e_layer_q, e_layer_d;
  logic                   e_bank_q, e_bank_d;
  logic                   e_first_q, e_first_d;
  logic                   e_abank_q, e_abank_d;
  logic                   m_ready, e_free, e_take, e_complete, m_open;
  logic                   m_last_layer, e_last_layer;
  logic [UNIT_WIDTH-1:0]  unit_q, unit_d;            // element-wise local unit / h output unit counter
  logic [1:0]             gate_q, gate_d;
  logic [UNIT_WIDTH-1:0]  done_q, done_d;            // element-wise local units completed (lists written)
  logic [PE_WIDTH-1:0]    ope_q, ope_d;              // h output: unit_q mod NumPe
  logic [LU_WIDTH-1:0]    olu_q, olu_d;              // h output: unit_q div NumPe
  logic                   h_ok;                      // h output: the beat is offered (h_ph_q 2)
  logic [ROW_WIDTH-1:0]   cls_q, cls_d;
  logic [1:0]             tail_q, tail_d;            // M_TAIL cycle counter
  logic signed [AccWidth-1:0] logit_q;

  // h_t (for the output stream) and q_state(c_t), banked per PE: unit u at PE u mod NumPe, local unit
  // u div NumPe.
  logic signed [ActWidth-1:0]  h_q [NumPe][MaxLayers * 2 * LU_MAX];
  logic signed [CellWidth-1:0] c_q [NumPe][MaxLayers * LU_MAX];

  function automatic logic [HIDX_WIDTH-1:0] h_index(input logic [LAYER_WIDTH-1:0] layer,
                                                     input logic bank, input logic [LU_WIDTH-1:0] lu);
    h_index = HIDX_WIDTH'((32'(layer) * 2 + 32'(bank)) * LU_MAX + 32'(lu));
  endfunction

  // ---- matrix geometry ----------------------------------------------------------------------------
  logic [UNIT_WIDTH-1:0]  units;     // units of E's layer
  logic [LU_WIDTH-1:0]    lunits;    // its local units per PE: ceil(units / NumPe)
  assign units      = cfg_units_q[e_layer_q[0]];
  assign lunits     = cfg_lu_q[e_layer_q[0]];


  // ---- activation lists: the non-zero activations as (value, column) entries ---------------------------
  // x list: x_t's non-zero words (column = input index), appended as the frame arrives.
  // h lists, one per (layer, bank): the exact h_t's non-zero values (column = unit), appended by the
  // element-wise unit, for the layer above and the head; state lists (hsl): the non-zero q_state(h_t), for
  // the layer's own next step. *_cnt_q count the entries. A list that holds h_{t-1} of the first step
  // counts as empty. An entry holds its column as the pointer-table addresses the PEs read, {end, begin}
  // (the base of the matrix and segment that reads the list, + column, + 1 for the end pointer): each list
  // has one reader, so the adds happen where the entry is written and the broadcaster only reads and selects.
  localparam int unsigned LIST_W = BC_WIDTH + 2 * PADDR_WIDTH;
  localparam int unsigned LB_W   = (LIST_BANKS > 1) ? $clog2(LIST_BANKS) : 1;
  localparam int unsigned LR_W   = (LIST_ROWS > 1) ? $clog2(LIST_ROWS) : 1;
  localparam int unsigned HL_SEL = $clog2(MaxLayers * 2);
  logic [LIST_W-1:0]     xl_q [MaxInputs];
  logic [COL_WIDTH-1:0]  xl_cnt_q;
  logic [LIST_W-1:0]     hl_rd [LIST_BANKS];   // each bank's entry at the broadcaster's row
  logic [UNIT_WIDTH-1:0] hl_cnt_q [MaxLayers * 2];
  logic [LIST_W-1:0]     hsl_rd [LIST_BANKS];
  logic [UNIT_WIDTH-1:0] hsl_cnt_q [MaxLayers * 2];

  // bank and row of list entry i
  function automatic logic [LB_W-1:0] lbank(input logic [COL_WIDTH-1:0] i);
    lbank = LB_W'(32'(i) % LIST_BANKS);
  endfunction
  function automatic logic [LR_W-1:0] lrow(input logic [COL_WIDTH-1:0] i);
    lrow = LR_W'(32'(i) / LIST_BANKS);
  endfunction

  function automatic logic [HL_SEL-1:0] hl_sel(input logic [LAYER_WIDTH-1:0] layer, input logic bank);
    hl_sel = HL_SEL'(32'(layer) * 2 + 32'(bank));
  endfunction

  // ---- broadcaster: segment 0, then segment 1 (the one the running E phase may still be writing) -----
  //   layer 0: x_t (columns i; growing while the frame arrives), then q_state(h_{t-1}^0) (columns X + u)
  //   layer 1: q_state(h_{t-1}^1) (columns H0 + u), then the exact h_t^0 (columns u)
  //   head:    segment 0 empty, then the exact h_T of the last layer (columns u)
  // The segments' lists and counts are registered from M's next phase (m_mat_d, m_bank_d, ...); the
  // entries hold their pointer-table addresses, so that a broadcast cycle is only: list read, select. An h or state list's count reaches the broadcaster one cycle after
  // W1 counts it (registered from hl_cnt_q), i.e. with W2's write of the entry; a list E starts writing
  // counts as empty from that cycle on (hl_vis).
  logic [HL_SEL-1:0]      seg0_sel_q, seg1_sel_q, seg0_sel_d, seg1_sel_d;
  logic [COL_WIDTH-1:0]   seg0_cnt_q, seg1_cnt_q, seg0_cnt_d, seg1_cnt_d;
  logic                   seg0_is_x_q, seg0_is_x_d, seg1_is_h_q, seg1_is_h_d, seg0_growing, seg0_left;
  logic [UNIT_WIDTH-1:0]  hl_cnt_d [MaxLayers * 2];
  logic [UNIT_WIDTH-1:0]  hsl_cnt_d [MaxLayers * 2];
  logic [UNIT_WIDTH-1:0]  hl_vis [MaxLayers * 2];
  logic [UNIT_WIDTH-1:0]  hsl_vis [MaxLayers * 2];
  logic [COL_WIDTH-1:0]   xl_cnt_d;
  logic [HL_SEL-1:0]      e_new_sel;  // the lists E(p) writes, when M hands it phase p
  logic [COL_WIDTH-1:0]   idx0_q, idx1_q, idx0_d, idx1_d, hs_idx;
  logic [HL_SEL-1:0]      hs_sel;
  logic                   bc_valid_q, bc_arm, bc_fire, bc_load, bc_from0, bc_more;
  logic                   pf_valid_q, pf_load;  // the prefetch register: the next entry, read from its list
  logic [LIST_W-1:0]      pf_entry_q;
  logic [LIST_W-1:0]      bc_entry;
  logic [LB_W-1:0]        h_rbank_q, s_rbank_q;  // the banks the list reads select: lbank(idx1_q), lbank(hs_idx)
  logic                   bc_done;

  assign e_new_sel = hl_sel(m_layer_q, !m_bank_q);
  always_comb begin
    for (int unsigned i = 0; i < MaxLayers * 2; i++) begin
      hl_vis[i]  = (e_take && m_mat_q != MAT_HEAD && e_new_sel == HL_SEL'(i)) ? '0 : hl_cnt_q[i];
      hsl_vis[i] = (e_take && m_mat_q != MAT_HEAD && e_new_sel == HL_SEL'(i)) ? '0 : hsl_cnt_q[i];
    end
  end

  // The segments of a phase (mat, bank, first): their lists, and which of them count as empty.
  typedef struct packed {
    logic [HL_SEL-1:0] sel0, sel1;
    logic              is_x0, is_h1, zero0, zero1;
  } segs_t;
  function automatic segs_t segs_of(input logic [1:0] mat, input logic bank, input logic first);
    segs_t segs;
    segs.sel0  = hl_sel('0, bank);
    segs.sel1  = hl_sel('0, bank);
    segs.is_x0 = 1'b1;
    segs.is_h1 = 1'b0;
    segs.zero0 = 1'b0;
    segs.zero1 = first;
    unique case (mat)
      MAT_L0: ;
      MAT_L1: begin
        segs.sel0  = hl_sel(LAYER_WIDTH'(1), bank);
        segs.sel1  = hl_sel('0, !bank);
        segs.is_x0 = 1'b0;
        segs.is_h1 = 1'b1;
        segs.zero0 = first;
        segs.zero1 = 1'b0;
      end
      default: begin
        segs.sel1  = hl_sel(cfg_layers_m1_q, bank);
        segs.is_x0 = 1'b0;
        segs.is_h1 = 1'b1;
        segs.zero0 = 1'b1;
        segs.zero1 = 1'b0;
      end
    endcase
    segs_of = segs;
  endfunction
  // The phase M opens next, as flops: at a handoff (from M's phase, which holds >= 5 cycles before it, and
  // seq_last_q, set with the frame's last word >= 5 cycles before it), and from M_IDLE (a new sequence).
  // The segment selects then come from a two-way choice by e_take and m_idle_start, not through M's next
  // state (m_*_d); segs_q always equals segs_of(m_mat_q, m_bank_q, m_first_q).
  segs_t segs_q, segs_d, segs_take_q, segs_idle_q;
  logic  m_idle_start;  // M leaves M_IDLE: layer 0 of a new sequence
  assign m_idle_start = (m_state_q == M_IDLE) && (e_state_q == E_IDLE);
  always_ff @(posedge clk_i) begin
    if (m_mat_q == MAT_HEAD) segs_take_q <= segs_of(m_mat_q, m_bank_q, m_first_q);  // M goes idle
    else if (!m_last_q) segs_take_q <= segs_of(MAT_L1, m_bank_q, m_first_q);
    else if (seq_last_q) segs_take_q <= segs_of(MAT_HEAD, !m_bank_q, m_first_q);
    else segs_take_q <= segs_of(MAT_L0, !m_bank_q, 1'b0);
    segs_idle_q <= segs_of(MAT_L0, m_bank_q, 1'b1);
  end
  assign segs_d = e_take ? segs_take_q : (m_idle_start ? segs_idle_q : segs_q);
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) segs_q <= segs_of(MAT_L0, 1'b0, 1'b1);
    else segs_q <= segs_d;
  end

  always_comb begin
    seg0_sel_d  = segs_d.sel0;  // (not read when segment 0 is the x list)
    seg1_sel_d  = segs_d.sel1;
    seg0_is_x_d = segs_d.is_x0;
    seg1_is_h_d = segs_d.is_h1;
    seg0_cnt_d  = segs_d.is_x0 ? xl_cnt_d : (segs_d.zero0 ? '0 : COL_WIDTH'(hsl_vis[segs_d.sel0]));
    seg1_cnt_d  = segs_d.zero1 ? '0
                : COL_WIDTH'(segs_d.is_h1 ? hl_vis[segs_d.sel1] : hsl_vis[segs_d.sel1]);
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      seg0_sel_q  <= hl_sel('0, 1'b0);
      seg1_sel_q  <= hl_sel('0, 1'b0);
      seg0_cnt_q  <= '0;
      seg1_cnt_q  <= '0;
      seg0_is_x_q <= 1'b1;
      seg1_is_h_q <= 1'b0;
    end else begin
      seg0_sel_q  <= seg0_sel_d;
      seg1_sel_q  <= seg1_sel_d;
      seg0_cnt_q  <= seg0_cnt_d;
      seg1_cnt_q  <= seg1_cnt_d;
      seg0_is_x_q <= seg0_is_x_d;
      seg1_is_h_q <= seg1_is_h_d;
    end
  end

  // Armed in the matrix phase. Segment 1 waits for the whole frame (segment 0 growing); the phase's
  // broadcast is done when both segments are, the frame is complete and no list is pending (pend_q).
  // An entry is read from its list into the prefetch register (pf_load: it exists, and the register is
  // empty or hands its entry on now), which sits by the lists: the read and its selects end there. It
  // moves on into the broadcast register (bc_load: that one is empty or fires now), which every PE holds
  // a copy of (csc_pe's B stage: the move crosses the chip from a flop, with no logic on the way).
  assign seg0_growing = (m_mat_q == MAT_L0) && !frame_done_q;
  assign bc_arm   = (m_state_q == M_RUN);
  // (bc_from0 stays a compare of flops: as a flop of its own, Yosys folds the segment select into the
  // list memory's read-address register, which then waits for the handshake's all_space.)
  assign seg0_left = (idx0_q != seg0_cnt_q);
  assign bc_from0 = seg0_left || seg0_growing;
  assign bc_more  = seg0_left || (!seg0_growing && idx1_q != seg1_cnt_q);
  assign bc_fire  = bc_valid_q && all_space;
  assign bc_load  = bc_arm && pf_valid_q && (!bc_valid_q || bc_fire);
  assign pf_load  = bc_arm && bc_more && (!pf_valid_q || bc_load);
  assign bc_done  = !bc_valid_q && !pf_valid_q && !seg0_left && !seg0_growing && (idx1_q == seg1_cnt_q) &&
                    !pend_q;
  // the state list is segment 1 of layer 0, segment 0 of layer 1
  assign hs_idx   = seg0_is_x_q ? idx1_q : idx0_q;
  assign hs_sel   = seg0_is_x_q ? seg1_sel_q : seg0_sel_q;
  // (one state-list read: it is segment 1 of layer 0, segment 0 of layer 1; banks from flops, h_rbank_q)
  assign bc_entry = (bc_from0 && seg0_is_x_q) ? xl_q[idx0_q[XIDX_WIDTH-1:0]]
                  : ((bc_from0 || !seg1_is_h_q) ? hsl_rd[s_rbank_q] : hl_rd[h_rbank_q]);

  always_comb begin
    idx0_d = idx0_q;
    idx1_d = idx1_q;
    if (m_state_q != M_RUN) begin
      idx0_d = '0;  // the next matrix starts from its lists' first entries
      idx1_d = '0;
    end else if (pf_load) begin
      if (bc_from0) idx0_d = idx0_q + 1'b1;
      else idx1_d = idx1_q + 1'b1;
    end
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      bc_valid_q <= 1'b0;
      pf_valid_q <= 1'b0;
      idx0_q     <= '0;
      idx1_q     <= '0;
    end else begin
      idx0_q <= idx0_d;
      idx1_q <= idx1_d;
      if (m_state_q == M_RUN) begin
        if (pf_load) pf_valid_q <= 1'b1;
        else if (bc_load) pf_valid_q <= 1'b0;
        if (bc_load) bc_valid_q <= 1'b1;
        else if (bc_fire) bc_valid_q <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (pf_load) pf_entry_q <= bc_entry;
  end

  // ---- PEs ------------------------------------------------------------------------------------------
  logic [NumPe-1:0]           pe_clear, pe_run;  // each PE's copy (lane_reg) of the phase's first cycle, run
  logic                       pe_run_d;
  logic [NumPe-1:0]           pe_space_idle, pe_space_fire, pe_quiet, pe_busy;
  logic signed [AccWidth-1:0] pe_acc [NumPe];
  logic                       all_space, all_space_q, all_quiet, all_quiet_q;

  // all_space: every PE had room in the previous cycle, a flop of the engine's own: each PE's room after
  // no fire and after a fire (from its flops, csc_pe space_*_o) ANDed here and selected by the cycle's
  // fire. The handshake crosses the chip once per cycle, from flops.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) all_space_q <= 1'b1;
    else all_space_q <= bc_fire ? (&pe_space_fire) : (&pe_space_idle);
  end
  assign all_space = all_space_q;
  // The phase's end, seen a cycle late from a flop of its own: the broadcaster was done and every PE quiet
  // (quiet_o: flops) in the previous cycle. (Neither changes back within a phase: nothing is left to fire.)
  // M_TAIL is one cycle shorter for it.
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) all_quiet_q <= 1'b0;
    else all_quiet_q <= bc_done && (&pe_quiet) && (m_state_q == M_RUN);
  end
  assign all_quiet = all_quiet_q;

  // The memory writes of a load beat (weights, column pointers, biases, activation tables) one cycle after
  // it, with each memory's enable from a flop of its own: load beats come only before a sequence's first
  // word, and the first read of any of these follows the next word by two cycles or more, so the delay is
  // never seen. (Configuration words are written at once: the next word's count compare reads them.)
  logic [NumPe-1:0] pe_wmem_we_q, pe_pmem_we_q, bias_we_q;
  logic             tbl_we_sig_q, tbl_we_tanh_q;
  // (as wide as the widest address and data field the delayed writes use)
  localparam int unsigned LA_W01 = (WIDX_WIDTH > PADDR_WIDTH) ? WIDX_WIDTH : PADDR_WIDTH;
  localparam int unsigned LA_W23 = (BADDR_WIDTH > TableInWidth) ? BADDR_WIDTH : TableInWidth;
  localparam int unsigned LA_W   = (LA_W01 > LA_W23) ? LA_W01 : LA_W23;
  localparam int unsigned LD_W01 = (WORD_WIDTH > WADDR_WIDTH) ? WORD_WIDTH : WADDR_WIDTH;
  localparam int unsigned LD_W23 = (BiasWidth > TABLE_WIDTH) ? BiasWidth : TABLE_WIDTH;
  localparam int unsigned LD_W   = (LD_W01 > LD_W23) ? LD_W01 : LD_W23;
  logic [LA_W-1:0]  ld_addr_q;
  logic [LD_W-1:0]  ld_data_q;
  logic [2:0]       ld_flags_q;  // a column-pointer beat's column flags
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      pe_wmem_we_q  <= '0;
      pe_pmem_we_q  <= '0;
      bias_we_q     <= '0;
      tbl_we_sig_q  <= 1'b0;
      tbl_we_tanh_q <= 1'b0;
    end else begin
      for (int unsigned k = 0; k < NumPe; k++) begin
        pe_wmem_we_q[k] <= load_fire && load_sel == SEL_WEIGHT && load_pe == 16'(k);
        pe_pmem_we_q[k] <= load_fire && load_sel == SEL_COLPTR && load_pe == 16'(k);
        bias_we_q[k]    <= load_fire && load_sel == SEL_BIAS && load_pe == 16'(k);
      end
      tbl_we_sig_q  <= load_fire && load_sel == SEL_SIGMOID;
      tbl_we_tanh_q <= load_fire && load_sel == SEL_TANH;
    end
  end
  always_ff @(posedge clk_i) begin
    ld_addr_q <= load_addr[LA_W-1:0];
    ld_data_q <= load_data[LD_W-1:0];
    ld_flags_q <= load_data[6'(COLFLAGS_LSB)+:3];
  end

  for (genvar k = 0; k < NumPe; k++) begin : g_pe
    csc_pe #(
      .ActWidth   (BC_WIDTH),
      .WeightWidth(WeightWidth),
      .IndexWidth (IndexWidth),
      .AccWidth   (AccWidth),
      .WeightDepth(WeightDepth),
      .ColptrDepth(COLPTR_DEPTH),
      .LocalRows  (LOCAL_ROWS),
      .FifoDepth  (FifoDepth),
      .MemDir     (MemDir),
      .PeIndex    (k)
    ) u_pe (
      .clk_i,
      .rst_ni,
      .clear_i      (pe_clear[k]),
      .run_i        (pe_run[k]),
      .bank_i       (m_abank_q),
      .bc_load_i    (bc_load),
      .bc_act_i     ($signed(pf_entry_q[LIST_W-1:2*PADDR_WIDTH])),
      .bc_ptr_addr_i(pf_entry_q[PADDR_WIDTH-1:0]),
      .bc_ptr_end_i (pf_entry_q[2*PADDR_WIDTH-1:PADDR_WIDTH]),
      .bc_valid_i   (bc_fire),
      .space_idle_o (pe_space_idle[k]),
      .space_fire_o (pe_space_fire[k]),
      .quiet_o      (pe_quiet[k]),
      .busy_o       (pe_busy[k]),
      .acc_rd_bank_i(e_abank_d),     // (R0's address: each PE registers it, beside its accumulators)
      .acc_rd_row_i (acc_rd_row_d),
      .acc_rd_data_o(pe_acc[k]),
      .wmem_we_i    (pe_wmem_we_q[k]),
      .wmem_addr_i  (ld_addr_q[WIDX_WIDTH-1:0]),
      .wmem_data_i  (ld_data_q[WORD_WIDTH-1:0]),
      .pmem_we_i    (pe_pmem_we_q[k]),
      .pmem_addr_i  (ld_addr_q[PADDR_WIDTH-1:0]),
      .pmem_data_i  (ld_data_q[WADDR_WIDTH-1:0]),
      .pmem_flags_i (ld_flags_q)
    );
  end

  // ---- accumulator read pipeline (element-wise rows and logits) -------------------------------------
  // Every PE holds the four gate rows of its units (unit u on PE u mod NumPe, local unit lu = u div NumPe,
  // gate row at local row gate * lunits + lu): the element-wise walk reads one local row in every PE at
  // once (acc_rd_row_d is common), each PE's bias bank at the same address, and every PE's own element-wise
  // unit takes the result. Logits: class c at PE c mod NumPe, local row c div NumPe, one class at a time.
  //   R0  local row from the walk counters (registered in every PE), bias address, (logits) the class's PE
  //   R1  every PE registers its accumulator at that local row; every bias bank reads
  //   R2  both registered again per PE (nothing after a memory's output but a flop)
  //   R3  z = acc + bias per PE, exact                                             (z_q[k])
  // Logits: in E_LOGIT_WAIT the class's PE's z is selected into logit_q (a multiplexer into a flop).
  // The per-gate row offsets (gate * lunits) and bias addresses (bias base + gate * lunits) of M's phase
  // are registered from M's layer and matrix (which hold for the phase's >= 5 cycles before the handoff),
  // and E takes them with the phase: R0 is one add, and the handoff only enables flops.
  logic [RIDX_WIDTH-1:0]      elt_row;  // < 4 * lunits <= LOCAL_ROWS
  logic                       rd_issue;
  logic [RIDX_WIDTH-1:0]      m_gate_off_q [4], gate_off_q [4];
  logic [BADDR_WIDTH-1:0]     m_bias_off_q [4], bias_off_q [4];
  logic [31:0] lu_times [4];  // gate * lunits of M's layer (shifts and an add: no multiplier)
  logic [LU_WIDTH-1:0]    m_lunits;
  assign m_lunits    = cfg_lu_q[m_layer_q[0]];
  assign lu_times[0] = '0;
  assign lu_times[1] = 32'(m_lunits);
  assign lu_times[2] = 32'(m_lunits) << 1;
  assign lu_times[3] = (32'(m_lunits) << 1) + 32'(m_lunits);
  always_ff @(posedge clk_i) begin
    for (int unsigned g = 0; g < 4; g++) begin
      m_gate_off_q[g] <= RIDX_WIDTH'(lu_times[g]);
      m_bias_off_q[g] <= cfg_bias_base_q[m_mat_q] + BADDR_WIDTH'(lu_times[g]);
    end
    if (e_take) begin
      gate_off_q <= m_gate_off_q;
      bias_off_q <= m_bias_off_q;
    end
  end
  assign elt_row = RIDX_WIDTH'(unit_q) + gate_off_q[gate_q];
  assign rd_issue = (e_state_q == E_ELT) || (e_state_q == E_LOGIT_RD);

  logic                       r1_valid_q, r2_valid_q, r3_valid_q, z_valid_q;
  logic [1:0]                 r1_gate_q, r2_gate_q, r3_gate_q, z_gate_q;
  logic [UNIT_WIDTH-1:0]      r1_unit_q, r2_unit_q, r3_unit_q, z_unit_q;
  logic [RIDX_WIDTH-1:0]      acc_rd_row_d;
  logic [PE_WIDTH-1:0]        r1_pe_q, r2_pe_q, r3_pe_q, z_pe_q;
  logic [BADDR_WIDTH-1:0]     bias_rd_addr_q;
  logic [BiasWidth-1:0]       bias_rd_q [NumPe];
  logic signed [AccWidth-1:0] r3_acc_q [NumPe];
  logic signed [ZWIDTH-1:0]   z_q [NumPe];
  logic signed [ZWIDTH-1:0]   z_next [NumPe];

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      r1_valid_q <= 1'b0;
      r2_valid_q <= 1'b0;
      r3_valid_q <= 1'b0;
      z_valid_q  <= 1'b0;
    end else begin
      r1_valid_q <= rd_issue;
      r2_valid_q <= r1_valid_q;
      r3_valid_q <= r2_valid_q;
      z_valid_q  <= r3_valid_q;
    end
  end

  assign acc_rd_row_d = (e_state_q == E_ELT) ? elt_row : RIDX_WIDTH'(cls_q / ROW_WIDTH'(NumPe));
  always_ff @(posedge clk_i) begin
    // R0
    if (e_state_q == E_ELT) begin
      bias_rd_addr_q <= bias_off_q[gate_q] + BADDR_WIDTH'(unit_q);
    end else begin
      bias_rd_addr_q <= bias_off_q[0] + BADDR_WIDTH'(cls_q / ROW_WIDTH'(NumPe));
    end
    r1_pe_q   <= PE_WIDTH'(cls_q % ROW_WIDTH'(NumPe));
    r1_gate_q <= gate_q;
    r1_unit_q <= unit_q;
    // R1 (the PEs register their accumulators at R0's row; the bias banks below)
    r2_pe_q   <= r1_pe_q;
    r2_gate_q <= r1_gate_q;
    r2_unit_q <= r1_unit_q;
    // R2
    for (int unsigned k = 0; k < NumPe; k++) begin
      r3_acc_q[k]  <= pe_acc[k];
    end
    r3_pe_q   <= r2_pe_q;
    r3_gate_q <= r2_gate_q;
    r3_unit_q <= r2_unit_q;
    // R3
    for (int unsigned k = 0; k < NumPe; k++) z_q[k] <= z_next[k];
    z_pe_q   <= r3_pe_q;
    z_gate_q <= r3_gate_q;
    z_unit_q <= r3_unit_q;
  end

  // R3's sum. Delta mode (docs/engine.md "Delta mode"): a layer's rows are z_t = M_{t-1} + W dv_t, M_0 = b:
  // each PE keeps M_t = z_t of every layer's rows (mmem_q, written back from z_q) and the matrix phase
  // accumulates only this step's W dv_t. z_t = W v_hat_t + b lies in acc, so the sum wraps exactly in
  // AccWidth even where W dv_t alone does not fit (docs/engine.md "Accumulator").
  if (Delta) begin : g_delta_mem
    logic [MADDR_WIDTH-1:0]     maddr_q [4];  // the row's M address, beside r1_valid_q .. z_valid_q
    logic                       use_m;        // this phase's rows add M_{t-1}, not the bias
    logic signed [AccWidth-1:0] m_rd_q [NumPe];
    logic signed [AccWidth-1:0] r3_add_q [NumPe];
    assign use_m = cfg_delta_q && (e_mat_q != MAT_HEAD) && !e_first_q;
    always_ff @(posedge clk_i) begin
      maddr_q[0] <= MADDR_WIDTH'(32'(e_layer_q) * 4 * LU_MAX + 32'(elt_row));  // R0
      for (int unsigned i = 1; i < 4; i++) maddr_q[i] <= maddr_q[i-1];
    end
    for (genvar k = 0; k < NumPe; k++) begin : g_pe_mem
      logic signed [AccWidth-1:0] mmem_q [MROWS];
      logic signed [AccWidth-1:0] m_sum;
      always_ff @(posedge clk_i) begin
        m_rd_q[k]   <= mmem_q[maddr_q[0]];                                        // R1
        r3_add_q[k] <= use_m ? m_rd_q[k] : (AccWidth'($signed(bias_rd_q[k])) <<< BiasShift);   // R2
        if (z_valid_q && cfg_delta_q && e_mat_q != MAT_HEAD) mmem_q[maddr_q[3]] <= AccWidth'(z_q[k]);
      end
      assign m_sum     = r3_acc_q[k] + r3_add_q[k];
      assign z_next[k] = ZWIDTH'(m_sum);
    end
  end else begin : g_no_delta_mem
    logic [BiasWidth-1:0] r3_bias_q [NumPe];
    always_ff @(posedge clk_i) begin
      for (int unsigned k = 0; k < NumPe; k++) r3_bias_q[k] <= bias_rd_q[k];  // R2
    end
    for (genvar k = 0; k < NumPe; k++) begin : g_z
      assign z_next[k] = ZWIDTH'(r3_acc_q[k]) + ZWIDTH'(AccWidth'($signed(r3_bias_q[k])) <<< BiasShift);
    end
  end

  // Bias banks: PE k's rows' biases at bias base + local row (pe<k>_bias.memh).
  for (genvar k = 0; k < NumPe; k++) begin : g_bias
    // (no_rw_check: loads come between sequences; a read then is unused: no bypass logic)
    (* no_rw_check *) logic [BiasWidth-1:0] bmem_q [BIAS_DEPTH];
    localparam logic [7:0] DIGIT_HI = 8'(8'd48 + k / 10);
    localparam logic [7:0] DIGIT_LO = 8'(8'd48 + k % 10);
    if (k < 10) begin : g_init_1digit
      initial begin
        if (MemDir != "") $readmemh({MemDir, "/pe", DIGIT_LO, "_bias.memh"}, bmem_q);
      end
    end else begin : g_init_2digit
      initial begin
        if (MemDir != "") $readmemh({MemDir, "/pe", DIGIT_HI, DIGIT_LO, "_bias.memh"}, bmem_q);
      end
    end
    always_ff @(posedge clk_i) begin
      bias_rd_q[k] <= bmem_q[bias_rd_addr_q];
      if (bias_we_q[k]) begin
        bmem_q[ld_addr_q[BADDR_WIDTH-1:0]] <= ld_data_q[BiasWidth-1:0];
      end
    end
  end

  // |d| > threshold (delta mode's broadcast rule, docs/engine.md "Delta mode")
  function automatic logic moved(input logic signed [BC_WIDTH-1:0] d, input logic [ActWidth-1:0] th);
    logic signed [BC_WIDTH+1:0] dd, tt;
    dd    = (BC_WIDTH + 2)'(d);
    tt    = (BC_WIDTH + 2)'($signed({1'b0, th}));
    moved = (dd > tt) || (dd < -tt);
  endfunction

  // List write positions (x list).
  logic signed [ActWidth-1:0] in_word;
  logic [COL_WIDTH-1:0]       xl_wr_base;
  logic [XIDX_WIDTH-1:0]      xl_wr_idx;
  logic [HL_SEL-1:0]          hl_wr_sel;
  assign in_word    = $signed(in_data_i[ActWidth-1:0]);
  assign xl_wr_base = (in_cnt_q == '0) ? '0 : xl_cnt_q;
  assign xl_wr_idx  = xl_wr_base[XIDX_WIDTH-1:0];
  assign hl_wr_sel  = hl_sel(e_layer_q, !e_bank_q);

  // ---- element-wise units, one per PE (fed by R3) -----------------------------------------------------
  logic                        ew_valid;
  logic [CIDX_WIDTH-1:0]       c_rd_idx, c_wr_idx;
  // W0 in two registers before anything reads the units' outputs (uo_*). The units sit by their PEs across
  // the chip, W1 in the middle. W0a (ul_*), in the lane: the outputs and their list flags (zero tests).
  // W0b (eo_*): plain copies of W0a, so the placer puts them by W1 (their readers) and the route across the
  // chip is a cycle of its own: W1's prefix counts and list positions start from flops beside them.
  logic [NumPe-1:0]            uo_valid, ul_valid, eo_valid;
  logic [UNIT_WIDTH-1:0]       uo_unit [NumPe];
  logic [UNIT_WIDTH-1:0]       ul_unit [NumPe];
  logic [UNIT_WIDTH-1:0]       eo_unit [NumPe];
  logic signed [CellWidth-1:0] uo_c [NumPe];
  logic signed [CellWidth-1:0] ul_c [NumPe];
  logic signed [CellWidth-1:0] eo_c [NumPe];
  logic signed [ActWidth-1:0]  uo_h [NumPe];
  logic signed [ActWidth-1:0]  ul_h [NumPe];
  logic signed [ActWidth-1:0]  eo_h [NumPe];
  logic signed [ActWidth-1:0]  uo_hs [NumPe];
  logic signed [ActWidth-1:0]  ul_hs [NumPe];
  logic signed [ActWidth-1:0]  eo_hs [NumPe];
  // W0's list flags: eo_h[k] != 0 (eo_hs[k] != 0) and unit uo_unit * NumPe + k exists (< units). Whether it
  // exists is known in the lane at W0a, from its own unit index and E's layer (w_lu_m1_q, w_last_live_q:
  // stable through the phase), so W1's prefix counts start from the flags alone.
  logic [NumPe-1:0]            ul_h_nz, ul_hs_nz, eo_h_nz, eo_hs_nz;
  logic [NumPe-1:0]            w_last_live_q;  // unit (last local unit) * NumPe + k exists, E's layer
  logic [LU_WIDTH-1:0]         w_lu_m1_q;      // E's layer's last local unit

  assign ew_valid  = z_valid_q && (e_mat_q != MAT_HEAD);
  assign c_rd_idx  = CIDX_WIDTH'(32'(e_layer_q) * LU_MAX + 32'(z_unit_q));
  assign c_wr_idx  = CIDX_WIDTH'(32'(e_layer_q) * LU_MAX + 32'(eo_unit[0]));

  logic [NumPe-1:0]        xt_sig_en, xt_tg_en, xt_tc_en;
  logic [TableInWidth-1:0] xt_gate_addr [NumPe];
  logic [TableInWidth-1:0] xt_cell_addr [NumPe];
  logic [TABLE_WIDTH-1:0]  xt_sig_data [NumPe];
  logic [TABLE_WIDTH-1:0]  xt_tg_data [NumPe];
  logic [TABLE_WIDTH-1:0]  xt_tc_data [NumPe];
  logic                    tbl_we_sig, tbl_we_tanh;
  assign tbl_we_sig  = tbl_we_sig_q;
  assign tbl_we_tanh = tbl_we_tanh_q;

  for (genvar k = 0; k < NumPe; k++) begin : g_ew
    logic signed [CellWidth-1:0] c_prev;
    assign c_prev = e_first_q ? '0 : c_q[k][c_rd_idx];
    // the layers' element-wise unit: gru_eltwise's ports, tables and latency are lstm_eltwise's
    if (Gru) begin : g_gru
      gru_eltwise #(
        .ZWidth      (ZWIDTH),
        .ZFrac       (ACC_FRAC),
        .TableInWidth(TableInWidth),
        .TableInFrac (TableInFrac),
        .GateWidth   (GateWidth),
        .GateFrac    (GateFrac),
        .CellWidth   (CellWidth),
        .CellFrac    (CellFrac),
        .CellRound   (CellRound),
        .ActWidth    (ActWidth),
        .ActFrac     (ActFrac),
        .SigmoidStep (SigmoidStep),
        .TanhStep    (TanhStep),
        .UnitWidth   (UNIT_WIDTH),
        .SigmoidFile ((MemDir != "") ? {MemDir, "/sigmoid.memh"} : ""),
        .TanhFile    ((MemDir != "") ? {MemDir, "/tanh.memh"} : ""),
        .ExternalTables(ShareTables)
      ) u_eltwise (
        .clk_i,
        .rst_ni,
        .in_valid_i (ew_valid),
        .in_gate_i  (z_gate_q),
        .in_z_i     (z_q[k]),
        .in_c_prev_i(c_prev),
        .in_unit_i  (z_unit_q),
        .out_valid_o(uo_valid[k]),
        .out_unit_o (uo_unit[k]),
        .out_c_o    (uo_c[k]),
        .out_h_o    (uo_h[k]),
        .out_hs_o   (uo_hs[k]),
        .tbl_we_i   (tbl_we_sig_q || tbl_we_tanh_q),
        .tbl_sel_i  (tbl_we_tanh_q),
        .tbl_addr_i (ld_addr_q[TableInWidth-1:0]),
        .tbl_data_i (ld_data_q[TABLE_WIDTH-1:0]),
        .xt_sig_en_o        (xt_sig_en[k]),
        .xt_tanh_gate_en_o  (xt_tg_en[k]),
        .xt_tanh_cell_en_o  (xt_tc_en[k]),
        .xt_gate_addr_o     (xt_gate_addr[k]),
        .xt_cell_addr_o     (xt_cell_addr[k]),
        .xt_sig_data_i      (xt_sig_data[k]),
        .xt_tanh_gate_data_i(xt_tg_data[k]),
        .xt_tanh_cell_data_i(xt_tc_data[k])
      );
    end else begin : g_lstm
      lstm_eltwise #(
        .ZWidth      (ZWIDTH),
        .ZFrac       (ACC_FRAC),
        .TableInWidth(TableInWidth),
        .TableInFrac (TableInFrac),
        .GateWidth   (GateWidth),
        .GateFrac    (GateFrac),
        .CellWidth   (CellWidth),
        .CellFrac    (CellFrac),
        .CellRound   (CellRound),
        .ActWidth    (ActWidth),
        .ActFrac     (ActFrac),
        .SigmoidStep (SigmoidStep),
        .TanhStep    (TanhStep),
        .UnitWidth   (UNIT_WIDTH),
        .SigmoidFile ((MemDir != "") ? {MemDir, "/sigmoid.memh"} : ""),
        .TanhFile    ((MemDir != "") ? {MemDir, "/tanh.memh"} : ""),
        .ExternalTables(ShareTables)
      ) u_eltwise (
        .clk_i,
        .rst_ni,
        .in_valid_i (ew_valid),
        .in_gate_i  (z_gate_q),
        .in_z_i     (z_q[k]),
        .in_c_prev_i(c_prev),
        .in_unit_i  (z_unit_q),
        .out_valid_o(uo_valid[k]),
        .out_unit_o (uo_unit[k]),
        .out_c_o    (uo_c[k]),
        .out_h_o    (uo_h[k]),
        .out_hs_o   (uo_hs[k]),
        .tbl_we_i   (tbl_we_sig_q || tbl_we_tanh_q),
        .tbl_sel_i  (tbl_we_tanh_q),
        .tbl_addr_i (ld_addr_q[TableInWidth-1:0]),
        .tbl_data_i (ld_data_q[TABLE_WIDTH-1:0]),
        .xt_sig_en_o        (xt_sig_en[k]),
        .xt_tanh_gate_en_o  (xt_tg_en[k]),
        .xt_tanh_cell_en_o  (xt_tc_en[k]),
        .xt_gate_addr_o     (xt_gate_addr[k]),
        .xt_cell_addr_o     (xt_cell_addr[k]),
        .xt_sig_data_i      (xt_sig_data[k]),
        .xt_tanh_gate_data_i(xt_tg_data[k]),
        .xt_tanh_cell_data_i(xt_tc_data[k])
      );
    end
    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        ul_valid[k] <= 1'b0;
        eo_valid[k] <= 1'b0;
      end else begin
        ul_valid[k] <= uo_valid[k];
        eo_valid[k] <= ul_valid[k];
      end
    end
    logic uo_live;  // unit uo_unit * NumPe + k exists
    assign uo_live = (LU_WIDTH'(uo_unit[k]) != w_lu_m1_q) || w_last_live_q[k];
    always_ff @(posedge clk_i) begin
      if (uo_valid[k]) begin  // W0a
        ul_unit[k]  <= uo_unit[k];
        ul_c[k]     <= uo_c[k];
        ul_h[k]     <= uo_h[k];
        ul_hs[k]    <= uo_hs[k];
        // the list flags here, not in the unit, whose last stage rounds and clamps
        ul_h_nz[k]  <= (uo_h[k] != '0) && uo_live;
        ul_hs_nz[k] <= (uo_hs[k] != '0) && uo_live;
      end
      if (ul_valid[k]) begin  // W0b
        eo_unit[k]  <= ul_unit[k];
        eo_c[k]     <= ul_c[k];
        eo_h[k]     <= ul_h[k];
        eo_hs[k]    <= ul_hs[k];
        eo_h_nz[k]  <= ul_h_nz[k];
        eo_hs_nz[k] <= ul_hs_nz[k];
      end
    end
    always_ff @(posedge clk_i) begin
      if (eo_valid[0]) begin
        c_q[k][c_wr_idx] <= eo_c[k];
        h_q[k][h_index(e_layer_q, !e_bank_q, LU_WIDTH'(eo_unit[0]))] <= eo_h[k];
      end
    end
  end

  // Shared activation tables: PEs 2j and 2j + 1 read one copy each of sigmoid, tanh (g) and tanh (c_t)
  // through its two ports (an odd last PE has port A alone).
  if (ShareTables) begin : g_shared_tables
    for (genvar j = 0; j < (NumPe + 1) / 2; j++) begin : g_pair
      localparam int unsigned A = 2 * j;
      localparam int unsigned B = (2 * j + 1 < NumPe) ? 2 * j + 1 : 2 * j;
      localparam bit HAS_B = (2 * j + 1 < NumPe);
      logic [TABLE_WIDTH-1:0] sig_b, tg_b, tc_b;
      act_table_dp #(
        .AddrWidth(TableInWidth),
        .Width    (TABLE_WIDTH),
        .InitFile ((MemDir != "") ? {MemDir, "/sigmoid.memh"} : "")
      ) u_sigmoid (
        .clk_i,
        .rd_en_a_i  (xt_sig_en[A]),
        .rd_addr_a_i(xt_gate_addr[A]),
        .rd_data_a_o(xt_sig_data[A]),
        .rd_en_b_i  (HAS_B && xt_sig_en[B]),
        .rd_addr_b_i(xt_gate_addr[B]),
        .rd_data_b_o(sig_b),
        .wr_en_i    (tbl_we_sig),
        .wr_addr_i  (ld_addr_q[TableInWidth-1:0]),
        .wr_data_i  (ld_data_q[TABLE_WIDTH-1:0])
      );
      act_table_dp #(
        .AddrWidth(TableInWidth),
        .Width    (TABLE_WIDTH),
        .InitFile ((MemDir != "") ? {MemDir, "/tanh.memh"} : "")
      ) u_tanh_gate (
        .clk_i,
        .rd_en_a_i  (xt_tg_en[A]),
        .rd_addr_a_i(xt_gate_addr[A]),
        .rd_data_a_o(xt_tg_data[A]),
        .rd_en_b_i  (HAS_B && xt_tg_en[B]),
        .rd_addr_b_i(xt_gate_addr[B]),
        .rd_data_b_o(tg_b),
        .wr_en_i    (tbl_we_tanh),
        .wr_addr_i  (ld_addr_q[TableInWidth-1:0]),
        .wr_data_i  (ld_data_q[TABLE_WIDTH-1:0])
      );
      act_table_dp #(
        .AddrWidth(TableInWidth),
        .Width    (TABLE_WIDTH),
        .InitFile ((MemDir != "") ? {MemDir, "/tanh.memh"} : "")
      ) u_tanh_cell (
        .clk_i,
        .rd_en_a_i  (xt_tc_en[A]),
        .rd_addr_a_i(xt_cell_addr[A]),
        .rd_data_a_o(xt_tc_data[A]),
        .rd_en_b_i  (HAS_B && xt_tc_en[B]),
        .rd_addr_b_i(xt_cell_addr[B]),
        .rd_data_b_o(tc_b),
        .wr_en_i    (tbl_we_tanh),
        .wr_addr_i  (ld_addr_q[TableInWidth-1:0]),
        .wr_data_i  (ld_data_q[TABLE_WIDTH-1:0])
      );
      if (HAS_B) begin : g_b
        assign xt_sig_data[B] = sig_b;
        assign xt_tg_data[B]  = tg_b;
        assign xt_tc_data[B]  = tc_b;
      end else begin : g_no_b
        logic unused_b;
        assign unused_b = ^{sig_b, tg_b, tc_b};
      end
    end
  end else begin : g_own_tables
    for (genvar k = 0; k < NumPe; k++) begin : g_tie
      assign xt_sig_data[k] = '0;
      assign xt_tg_data[k]  = '0;
      assign xt_tc_data[k]  = '0;
    end
    logic unused_xt;
    always_comb begin
      unused_xt = tbl_we_sig ^ tbl_we_tanh;
      for (int unsigned k = 0; k < NumPe; k++) begin
        unused_xt ^= xt_sig_en[k] ^ xt_tg_en[k] ^ xt_tc_en[k] ^ (^xt_gate_addr[k]) ^ (^xt_cell_addr[k]);
      end
    end
  end

  // h lists: the NumPe results of one local unit (units lu * NumPe + k, those < units) are compacted
  // into the lists in unit order. W1 (registered): each non-zero value's list position = count + the
  // number of non-zero values of lower PEs; W2: bank i mod LIST_BANKS takes the value at position i.
  localparam int unsigned CNT_W = UNIT_WIDTH;
  logic [NumPe-1:0]            w1_fh, w1_fs;
  logic [CNT_W-1:0]            w1_hpos [NumPe];
  logic [CNT_W-1:0]            w1_spos [NumPe];
  logic [CNT_W-1:0]            w1_hnum, w1_snum;
  logic                        w_valid_q;
  logic [HL_SEL-1:0]           w_sel_q;
  // W2's bank selects, one-hot per bank and PE, decided at W1 (w1_*hit: the value is kept and its position
  // falls in the bank) and registered: W2 is then the AND-OR into each bank's write port, with no compare.
  logic [NumPe-1:0]            w1_hhit [LIST_BANKS];
  logic [NumPe-1:0]            w1_shit [LIST_BANKS];
  logic [NumPe-1:0]            w_hhit_q [LIST_BANKS];
  logic [NumPe-1:0]            w_shit_q [LIST_BANKS];
  logic [CNT_W-1:0]            w_hpos_q [NumPe];
  logic [CNT_W-1:0]            w_spos_q [NumPe];
  logic signed [BC_WIDTH-1:0]  w_h_q [NumPe];
  logic signed [BC_WIDTH-1:0]  w_hs_q [NumPe];
  logic [PADDR_WIDTH-1:0]      w_haddr_q [NumPe];  // the entries' pointer-table addresses (begin)
  logic [PADDR_WIDTH-1:0]      w_hend_q [NumPe];   // ... and end pointers
  logic [PADDR_WIDTH-1:0]      w_saddr_q [NumPe];
  logic [PADDR_WIDTH-1:0]      w_send_q [NumPe];
  // The list entries of the element-wise results: h_t (the layer above, the head) and q_state(h_t) (the
  // layer's next step), or (delta mode) their changes since the values last broadcast, kept per PE and
  // local unit (0 at a sequence's first step). The last layer's h_t goes to the head whole.
  logic signed [BC_WIDTH-1:0] h_bc [NumPe];
  logic signed [BC_WIDTH-1:0] hs_bc [NumPe];
  logic [NumPe-1:0]           h_keep, hs_keep;
  if (Delta) begin : g_h_held
    localparam int unsigned LUI_W = (LU_MAX > 1) ? $clog2(LU_MAX) : 1;
    logic                 h_delta;  // E's h list feeds layer 1
    logic [LUI_W-1:0]     lu_idx;
    assign h_delta = cfg_delta_q && !e_last_layer;
    assign lu_idx  = LUI_W'(eo_unit[0]);
    for (genvar k = 0; k < NumPe; k++) begin : g_pe_held
      logic signed [ActWidth-1:0] hs_hat_q [MaxLayers * LU_MAX];  // q_state(h) of every layer
      logic signed [ActWidth-1:0] h_hat_q [LU_MAX];               // layer 0's exact h, as layer 1 holds it
      logic signed [ActWidth-1:0] hs_held, h_held;
      logic signed [BC_WIDTH-1:0] hs_dv, h_dv;
      assign hs_held   = e_first_q ? '0 : hs_hat_q[c_wr_idx];
      assign h_held    = e_first_q ? '0 : h_hat_q[lu_idx];
      assign hs_dv     = BC_WIDTH'(eo_hs[k]) - BC_WIDTH'(hs_held);
      assign h_dv      = BC_WIDTH'(eo_h[k]) - BC_WIDTH'(h_held);
      assign hs_bc[k]  = cfg_delta_q ? hs_dv : BC_WIDTH'(eo_hs[k]);
      assign hs_keep[k] = cfg_delta_q ? moved(hs_dv, cfg_th_h_q) : eo_hs_nz[k];
      assign h_bc[k]   = h_delta ? h_dv : BC_WIDTH'(eo_h[k]);
      assign h_keep[k] = h_delta ? moved(h_dv, cfg_th_h_q) : eo_h_nz[k];
      always_ff @(posedge clk_i) begin
        if (eo_valid[0]) begin
          hs_hat_q[c_wr_idx] <= hs_keep[k] ? eo_hs[k] : hs_held;
          if (!e_last_layer) h_hat_q[lu_idx] <= h_keep[k] ? eo_h[k] : h_held;
        end
      end
    end
  end else begin : g_h_plain
    logic unused_delta_cfg;  // (configuration words of delta mode: no effect without its hardware)
    assign unused_delta_cfg = cfg_delta_q ^ (^cfg_th_x_q) ^ (^cfg_th_h_q);
    for (genvar k = 0; k < NumPe; k++) begin : g_pe
      assign h_bc[k]    = eo_h[k];
      assign hs_bc[k]   = eo_hs[k];
      assign h_keep[k]  = eo_h_nz[k];
      assign hs_keep[k] = eo_hs_nz[k];
    end
  end

  // (the prefix counts of the flags are narrow, PE_WIDTH + 1 bits, and meet the list count in one add)
  logic [PE_WIDTH:0] w1_hpre, w1_spre;
  // Unit lu * NumPe + k exists (< units) unless lu is the last local unit (done_last_q): that unit's flags
  // are registered from E's layer (stable through the phase). The plain build's list flags hold it from
  // W0; delta mode's keep flags (moved, decided here) take it from w1_live_q.
  // The counts of the lists being written, hl_cnt_q[hl_wr_sel] and hsl_cnt_q[hl_wr_sel], also in flops of
  // their own (w_hcnt_q, w_scnt_q: cleared with those lists when E takes a layer phase, grown with them):
  // no multiplexer before W1's adds.
  logic [NumPe-1:0]      w1_live_q;
  logic [CNT_W-1:0]      w_hcnt_q, w_scnt_q;
  logic [NumPe-1:0]      cfg_last_live_q [2];  // per layer, from the configuration only
  always_ff @(posedge clk_i) begin
    for (int unsigned l = 0; l < 2; l++) begin
      for (int unsigned k = 0; k < NumPe; k++) begin
        cfg_last_live_q[l][k] <= 32'(cfg_lu_m1_q[l]) * NumPe + k < 32'(cfg_units_q[l]);
      end
    end
    w_last_live_q <= cfg_last_live_q[e_layer_q[0]];
    w_lu_m1_q     <= cfg_lu_m1_q[e_layer_q[0]];
    // W1's live flags themselves from flops (w_last_live_q holds from long before E's first output)
    for (int unsigned k = 0; k < NumPe; k++) w1_live_q[k] <= !done_last_d || w_last_live_q[k];
  end
  always_comb begin
    for (int unsigned k = 0; k < NumPe; k++) begin
      // (w1_live_q = !done_last_q || w_last_live_q: asserted)
      w1_fh[k] = (Delta ? w1_live_q[k] : 1'b1) && h_keep[k];
      w1_fs[k] = (Delta ? w1_live_q[k] : 1'b1) && hs_keep[k];
    end
    w1_hpre = '0;
    w1_spre = '0;
    for (int unsigned k = 0; k < NumPe; k++) begin
      w1_hpos[k] = w_hcnt_q + CNT_W'(w1_hpre);
      w1_spos[k] = w_scnt_q + CNT_W'(w1_spre);
      w1_hpre    = w1_hpre + (PE_WIDTH + 1)'(w1_fh[k]);
      w1_spre    = w1_spre + (PE_WIDTH + 1)'(w1_fs[k]);
    end
    w1_hnum = CNT_W'(w1_hpre);
    w1_snum = CNT_W'(w1_spre);
    for (int unsigned b = 0; b < LIST_BANKS; b++) begin
      for (int unsigned k = 0; k < NumPe; k++) begin
        w1_hhit[b][k] = w1_fh[k] && 32'(lbank(COL_WIDTH'(w1_hpos[k]))) == b;
        w1_shit[b][k] = w1_fs[k] && 32'(lbank(COL_WIDTH'(w1_spos[k]))) == b;
      end
    end
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) w_valid_q <= 1'b0;
    else w_valid_q <= eo_valid[0];
  end
  // The pointer-table base of the lists E writes (from E's layer, stable through the phase): an h list is
  // read by layer 1 (its columns first) or, from the last layer, by the head; a state list by its own layer
  // (its columns after layer 0's inputs resp. after layer 0's units).
  logic [PADDR_WIDTH-1:0] w_hbase_q, w_hbase1_q, w_sbase_q, w_sbase1_q;
  always_ff @(posedge clk_i) begin
    w_hbase_q  <= e_last_layer ? cfg_ptr_base_q[MAT_HEAD] : cfg_ptr_base_q[MAT_L1];
    w_hbase1_q <= (e_last_layer ? cfg_ptr_base_q[MAT_HEAD] : cfg_ptr_base_q[MAT_L1]) + 1'b1;
    w_sbase_q  <= (e_layer_q == '0) ? cfg_ptr_base_q[MAT_L0] + PADDR_WIDTH'(cfg_inputs_q)
                                    : cfg_ptr_base_q[MAT_L1] + PADDR_WIDTH'(cfg_units_q[0]);
    w_sbase1_q <= ((e_layer_q == '0) ? cfg_ptr_base_q[MAT_L0] + PADDR_WIDTH'(cfg_inputs_q)
                                     : cfg_ptr_base_q[MAT_L1] + PADDR_WIDTH'(cfg_units_q[0])) + 1'b1;
  end
  always_ff @(posedge clk_i) begin
    if (eo_valid[0]) begin
      w_sel_q <= hl_wr_sel;
      w_hhit_q <= w1_hhit;
      w_shit_q <= w1_shit;
      for (int unsigned k = 0; k < NumPe; k++) begin
        w_hpos_q[k] <= w1_hpos[k];
        w_spos_q[k] <= w1_spos[k];
        w_h_q[k]    <= h_bc[k];
        w_hs_q[k]   <= hs_bc[k];
        w_haddr_q[k] <= w_hbase_q + PADDR_WIDTH'(32'(eo_unit[0]) * NumPe + k);
        w_hend_q[k]  <= w_hbase1_q + PADDR_WIDTH'(32'(eo_unit[0]) * NumPe + k);
        w_saddr_q[k] <= w_sbase_q + PADDR_WIDTH'(32'(eo_unit[0]) * NumPe + k);
        w_send_q[k]  <= w_sbase1_q + PADDR_WIDTH'(32'(eo_unit[0]) * NumPe + k);
      end
    end
  end
  // The x list's entry for the arriving word: the word, or (delta mode) its change since the value last
  // broadcast (x_hat, 0 at a sequence's first frame), kept when non-zero resp. past the threshold.
  logic signed [BC_WIDTH-1:0] x_bc;
  logic                       x_keep;
  logic [PADDR_WIDTH-1:0]     x_addr;  // the word's pointer-table address in layer 0's matrix
  assign x_addr = cfg_ptr_base_q[MAT_L0] + PADDR_WIDTH'(in_cnt_q);
  if (Delta) begin : g_x_held
    logic signed [ActWidth-1:0] x_hat_q [MaxInputs];
    logic signed [ActWidth-1:0] x_held;
    logic signed [BC_WIDTH-1:0] x_dv;
    assign x_held = m_first_q ? '0 : x_hat_q[in_cnt_q[XIDX_WIDTH-1:0]];
    assign x_dv   = BC_WIDTH'(in_word) - BC_WIDTH'(x_held);
    assign x_bc   = cfg_delta_q ? x_dv : BC_WIDTH'(in_word);
    assign x_keep = cfg_delta_q ? moved(x_dv, cfg_th_x_q) : (in_word != '0);
    always_ff @(posedge clk_i) begin
      if (in_valid_i && in_ready_o) x_hat_q[in_cnt_q[XIDX_WIDTH-1:0]] <= x_keep ? in_word : x_held;
    end
  end else begin : g_x_plain
    assign x_bc   = in_word;
    assign x_keep = (in_word != '0);
  end
  always_ff @(posedge clk_i) begin
    if (in_valid_i && in_ready_o && x_keep) xl_q[xl_wr_idx] <= {x_bc, x_addr + 1'b1, x_addr};
  end
  // One memory per bank and kind (h, state), each with one write port (LUT RAM): the (layer, bank)
  // lists at rows sel * LIST_ROWS + row.
  localparam int unsigned LI_W = (MaxLayers * 2 * LIST_ROWS > 1) ? $clog2(MaxLayers * 2 * LIST_ROWS) : 1;
  function automatic logic [LI_W-1:0] lidx(input logic [HL_SEL-1:0] sel, input logic [LR_W-1:0] row);
    lidx = LI_W'(32'(sel) * LIST_ROWS + 32'(row));
  endfunction
  // The list memories' read addresses and banks in flops of their own, registered from the next indices and
  // segment selects (the same values lidx(seg1_sel_q, lrow(idx1_q)), lidx(hs_sel, lrow(hs_idx)), lbank(idx1_q)
  // and lbank(hs_idx) a cycle later): the read starts from a flop, with no select before the memories'
  // address inputs, and the bank selects after them are flops too.
  logic [LI_W-1:0] h_raddr_q, s_raddr_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      h_raddr_q <= lidx(hl_sel('0, 1'b0), lrow('0));
      s_raddr_q <= lidx(hl_sel('0, 1'b0), lrow('0));
      h_rbank_q <= '0;
      s_rbank_q <= '0;
    end else begin
      h_raddr_q <= lidx(seg1_sel_d, lrow(idx1_d));
      s_raddr_q <= seg0_is_x_d ? lidx(seg1_sel_d, lrow(idx1_d)) : lidx(seg0_sel_d, lrow(idx0_d));
      h_rbank_q <= lbank(idx1_d);
      s_rbank_q <= lbank(seg0_is_x_d ? idx1_d : idx0_d);
    end
  end
  // A bank takes at most one PE's entry per cycle (the positions are distinct), so its write port is an
  // AND-OR of the PEs' entries under one-hot selects: two LUT levels, not a chain of NumPe multiplexers.
  for (genvar b = 0; b < LIST_BANKS; b++) begin : g_list_bank
    logic [LIST_W-1:0] hmem_q [MaxLayers * 2 * LIST_ROWS];
    logic [LIST_W-1:0] smem_q [MaxLayers * 2 * LIST_ROWS];
    logic              h_we, s_we;
    logic [LR_W-1:0]   h_row, s_row;
    logic [LIST_W-1:0] h_data, s_data;
    logic [NumPe-1:0]  h_hit, s_hit;
    always_comb begin
      h_row  = '0;
      s_row  = '0;
      h_data = '0;
      s_data = '0;
      for (int unsigned k = 0; k < NumPe; k++) begin
        h_hit[k] = w_hhit_q[b][k];
        s_hit[k] = w_shit_q[b][k];
        h_row  |= {LR_W{h_hit[k]}} & lrow(COL_WIDTH'(w_hpos_q[k]));
        s_row  |= {LR_W{s_hit[k]}} & lrow(COL_WIDTH'(w_spos_q[k]));
        h_data |= {LIST_W{h_hit[k]}} & {w_h_q[k], w_hend_q[k], w_haddr_q[k]};
        s_data |= {LIST_W{s_hit[k]}} & {w_hs_q[k], w_send_q[k], w_saddr_q[k]};
      end
      h_we = |h_hit;
      s_we = |s_hit;
    end
    always_ff @(posedge clk_i) begin
      if (w_valid_q && h_we) hmem_q[lidx(w_sel_q, h_row)] <= h_data;
      if (w_valid_q && s_we) smem_q[lidx(w_sel_q, s_row)] <= s_data;
    end
    assign hl_rd[b]  = hmem_q[h_raddr_q];
    assign hsl_rd[b] = smem_q[s_raddr_q];
  end

  // List counts: the x list restarts with a frame's first word (and counts as empty from the start of
  // M's phase), the lists of (layer, !bank) when E takes that layer's phase (M hands it over).
  always_comb begin
    xl_cnt_d = xl_cnt_q;
    if (m_open) xl_cnt_d = '0;
    if (in_valid_i && in_ready_o) xl_cnt_d = xl_wr_base + COL_WIDTH'(x_keep);
    for (int unsigned i = 0; i < MaxLayers * 2; i++) hl_cnt_d[i] = hl_cnt_q[i];
    for (int unsigned i = 0; i < MaxLayers * 2; i++) hsl_cnt_d[i] = hsl_cnt_q[i];
    if (e_take && m_mat_q != MAT_HEAD) begin
      hl_cnt_d[e_new_sel]  = '0;
      hsl_cnt_d[e_new_sel] = '0;
    end else if (eo_valid[0]) begin
      hl_cnt_d[hl_wr_sel]  = w_hcnt_q + w1_hnum;
      hsl_cnt_d[hl_wr_sel] = w_scnt_q + w1_snum;
    end
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      w_hcnt_q <= '0;
      w_scnt_q <= '0;
    end else if (e_take && m_mat_q != MAT_HEAD) begin
      w_hcnt_q <= '0;
      w_scnt_q <= '0;
    end else if (eo_valid[0]) begin
      w_hcnt_q <= w_hcnt_q + w1_hnum;
      w_scnt_q <= w_scnt_q + w1_snum;
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      xl_cnt_q <= '0;
      for (int unsigned i = 0; i < MaxLayers * 2; i++) hl_cnt_q[i] <= '0;
      for (int unsigned i = 0; i < MaxLayers * 2; i++) hsl_cnt_q[i] <= '0;
    end else begin
      xl_cnt_q <= xl_cnt_d;
      for (int unsigned i = 0; i < MaxLayers * 2; i++) hl_cnt_q[i] <= hl_cnt_d[i];
      for (int unsigned i = 0; i < MaxLayers * 2; i++) hsl_cnt_q[i] <= hsl_cnt_d[i];
    end
  end

  // ---- control ------------------------------------------------------------------------------------------
  // M runs the matrix phases, E the element-wise phases (docs/engine.md "Overlap"). The handoff (e_take):
  // M's phase is done (its tail's last cycle or M_DONE) and E is free (idle, or completing a phase
  // without h_t output this cycle); E takes the phase (and its bank) and M opens the next phase on the
  // other bank in the same cycle.
  // The handoff's terms come from flops, so e_take (which enables most of E's and M's flops) is shallow:
  // - m_last_q: M's layer is the last (from m_layer_q, which holds >= 5 cycles before a handoff);
  // - e_emit_q: E's phase is the last layer's and emit_h is on (taken with the phase);
  // - done_last_q: done_q == lunits - 1 (the element-wise outputs are the last local unit's) and
  //   done_eq_q: done_q == lunits, both tracked as done_q counts from the handoff of a layer phase (they
  //   are read only in that phase: a layer has at least one unit).
  // m_ready and e_free themselves are flops, registered from M's and E's next states: e_take is one AND.
  logic m_last_q, m_lu_one_q, e_emit_q, e_emit_d, done_last_q, done_last_d, done_eq_q, done_eq_d, m_ready_q,
        e_free_q;
  assign e_emit_d    = e_take ? (m_last_q && cfg_emit_h_q) : e_emit_q;
  assign done_eq_d   = e_take ? 1'b0 : (eo_valid[0] ? done_last_q : done_eq_q);
  assign done_last_d = e_take ? m_lu_one_q
                     : (eo_valid[0] ? (done_q == UNIT_WIDTH'(cfg_lu_m2_q[e_layer_q[0]])) : done_last_q);
  always_ff @(posedge clk_i) begin
    m_last_q   <= (m_layer_q == cfg_layers_m1_q);
    m_lu_one_q <= (cfg_lu_m1_q[m_layer_q[0]] == '0);
    e_emit_q    <= e_emit_d;
    done_eq_q   <= done_eq_d;
    done_last_q <= done_last_d;
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      m_ready_q <= 1'b0;
      e_free_q  <= 1'b1;
    end else begin
      m_ready_q <= (m_state_d == M_DONE) || (m_state_d == M_TAIL && tail_d == 2'd2);
      e_free_q  <= (e_state_d == E_IDLE) || (e_state_d == E_DRAIN && done_eq_d && !e_emit_d);
    end
  end
  assign m_last_layer = m_last_q;
  assign e_last_layer = (e_layer_q == cfg_layers_m1_q);
  assign m_ready    = m_ready_q;  // (m_state_q == M_DONE) || (m_state_q == M_TAIL && tail_q == 2)
  assign e_complete = (e_state_q == E_DRAIN) && done_eq_q;
  assign e_free     = e_free_q;   // (e_state_q == E_IDLE) || (e_complete && !e_emit_q)
  assign e_take     = m_ready && e_free;
  // M opens a matrix phase (m_state_d == M_RUN, m_state_q != M_RUN), without M's next state
  assign m_open     = m_idle_start || (e_take && m_mat_q != MAT_HEAD);

  // Frames are received in layer 0's matrix phase; load beats only before a sequence's first word, i.e.
  // in the phase M_IDLE opens (layer 0, first step) while no word has come: M_RUN, L0, m_first_q,
  // !frame_done_q, in_cnt_q == 0. load_ready_o is a flop of its own (the configuration's write enables
  // start from it), set from this cycle's values: the phase opens or stays open with no word taken.
  logic load_ready_q;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) load_ready_q <= 1'b0;
    else load_ready_q <= (m_idle_start || ((m_state_q == M_RUN) && (m_mat_q == MAT_L0) && m_first_q &&
                                           !frame_done_q && !all_quiet))
                         && !(in_valid_i && in_ready_o) && (in_cnt_q == '0);
  end
  assign load_ready_o = load_ready_q;
  assign in_ready_o   = (m_state_q == M_RUN) && (m_mat_q == MAT_L0) && !frame_done_q && !load_fire;
  // The PEs clear their bank's accumulators at the end of a matrix phase's second cycle (their own clear
  // register): the phase's first accumulator read comes two cycles after its first word issues.
  // pe_run (= m_state_q == M_RUN) drives every PE's issue logic: each PE has its own copy (lane_reg).

  always_comb begin
    m_state_d    = m_state_q;
    in_cnt_d     = in_cnt_q;
    frame_done_d = frame_done_q;
    seq_last_d   = seq_last_q;
    m_mat_d      = m_mat_q;
    m_layer_d    = m_layer_q;
    m_bank_d     = m_bank_q;
    m_first_d    = m_first_q;
    m_abank_d    = m_abank_q;
    pend_d       = pend_q;
    tail_d       = '0;
    if (in_valid_i && in_ready_o) begin
      in_cnt_d = in_cnt_q + 1'b1;
      if (in_cnt_q == cfg_inputs_m1_q) begin
        in_cnt_d     = '0;
        frame_done_d = 1'b1;
        seq_last_d   = in_last_i;
      end
    end
    unique case (m_state_q)
      M_IDLE: begin
        // a new sequence: h = 0, c = 0 (after the previous sequence's logits, or reset)
        if (e_state_q == E_IDLE) begin
          m_state_d = M_RUN;
          m_mat_d   = MAT_L0;
          m_layer_d = '0;
          m_first_d = 1'b1;
          pend_d    = 1'b0;
        end
      end
      M_RUN: begin
        if (all_quiet) m_state_d = M_TAIL;
      end
      M_TAIL: begin
        // The PEs' last words in M2, M3, M4 then A1: M_RUN's last cycle (all_quiet, seen a cycle late) and
        // three cycles. Their A2 overlaps the next cycle, E's first at the earliest, whose R0 only computes
        // row addresses: R1 reads the accumulators after the write.
        tail_d = tail_q + 1'b1;
        if (tail_q == 2'd2) m_state_d = M_DONE;
      end
      default: ;  // M_DONE: until E takes the phase
    endcase
    if (e_take) begin
      // The next phase, on the other accumulator bank. Segment 1 of layer 1, of the head and of layer 0 of
      // a 1-layer model is the list E now starts writing (pending until E completes).
      m_abank_d = !m_abank_q;
      if (m_mat_q == MAT_HEAD) m_state_d = M_IDLE;
      else begin
        m_state_d = M_RUN;
        pend_d    = 1'b1;
        if (!m_last_layer) begin
          m_mat_d   = MAT_L1;
          m_layer_d = m_layer_q + 1'b1;
        end else begin
          m_bank_d  = !m_bank_q;
          m_layer_d = '0;
          if (seq_last_q) m_mat_d = MAT_HEAD;
          else begin
            m_mat_d   = MAT_L0;
            m_first_d = 1'b0;
            pend_d    = (cfg_layers_q == LAYER_WIDTH'(1));
          end
        end
      end
    end else if (e_complete) pend_d = 1'b0;
    if (m_open) frame_done_d = 1'b0;
  end

  always_comb begin
    e_state_d = e_state_q;
    e_mat_d   = e_mat_q;
    e_layer_d = e_layer_q;
    e_bank_d  = e_bank_q;
    e_first_d = e_first_q;
    e_abank_d = e_abank_q;
    unit_d    = unit_q;
    gate_d    = gate_q;
    done_d    = done_q;
    ope_d     = ope_q;
    olu_d     = olu_q;
    cls_d     = cls_q;
    unique case (e_state_q)
      E_ELT: begin
        gate_d = gate_q + 1'b1;
        if (gate_q == 2'd3) begin
          unit_d = unit_q + 1'b1;
          if (unit_q == UNIT_WIDTH'(cfg_lu_m1_q[e_layer_q[0]])) e_state_d = E_DRAIN;
        end
      end
      E_DRAIN: begin
        if (e_complete) begin
          if (e_last_layer && cfg_emit_h_q) begin
            e_layer_d = '0;
            unit_d    = '0;
            ope_d     = '0;
            olu_d     = '0;
            e_state_d = E_OUT_H;
          end else e_state_d = E_IDLE;
        end
      end
      E_OUT_H: begin
        // h_t of step t: bank !e_bank_q of every layer
        if (out_ready_i && h_ok) begin
          unit_d = unit_q + 1'b1;
          if (32'(ope_q) == NumPe - 1) begin
            ope_d = '0;
            olu_d = olu_q + 1'b1;
          end else ope_d = ope_q + 1'b1;
          if (unit_q == cfg_units_m1_q[e_layer_q[0]]) begin
            unit_d    = '0;
            ope_d     = '0;
            olu_d     = '0;
            e_layer_d = e_layer_q + 1'b1;
            if (e_last_layer) begin
              e_layer_d = e_layer_q;
              e_state_d = E_IDLE;
            end
          end
        end
      end
      E_LOGIT_RD: e_state_d = E_LOGIT_WAIT;
      E_LOGIT_WAIT: begin
        if (z_valid_q) e_state_d = E_LOGIT_SEND;
      end
      E_LOGIT_SEND: begin
        if (out_ready_i) begin
          cls_d = cls_q + 1'b1;
          if (cls_q == cfg_classes_m1_q) e_state_d = E_IDLE;
          else e_state_d = E_LOGIT_RD;
        end
      end
      default: ;  // E_IDLE
    endcase
    // A local unit counts as done when its values enter W1: its list writes (W1 counts, W2 entries)
    // finish by the end of the cycle in which done_q reaches lunits.
    if (eo_valid[0]) done_d = done_q + 1'b1;
    if (e_take) begin
      e_mat_d   = m_mat_q;
      e_layer_d = m_layer_q;
      e_bank_d  = m_bank_q;
      e_first_d = m_first_q;
      e_abank_d = m_abank_q;
      if (m_mat_q == MAT_HEAD) begin
        cls_d     = '0;
        e_state_d = E_LOGIT_RD;
      end else begin
        unit_d    = '0;
        gate_d    = '0;
        done_d    = '0;
        e_state_d = E_ELT;
      end
    end
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      m_state_q    <= M_IDLE;
      e_state_q    <= E_IDLE;
      in_cnt_q     <= '0;
      frame_done_q <= 1'b0;
      seq_last_q   <= 1'b0;
      m_mat_q      <= MAT_L0;
      m_layer_q    <= '0;
      m_bank_q     <= 1'b0;
      m_first_q    <= 1'b1;
      m_abank_q    <= 1'b0;
      pend_q       <= 1'b0;
      e_mat_q      <= MAT_L0;
      e_layer_q    <= '0;
      e_bank_q     <= 1'b0;
      e_first_q    <= 1'b1;
      e_abank_q    <= 1'b1;
      unit_q       <= '0;
      gate_q       <= '0;
      done_q       <= '0;
      ope_q        <= '0;
      olu_q        <= '0;
      cls_q        <= '0;
      tail_q       <= '0;
    end else begin
      m_state_q    <= m_state_d;
      e_state_q    <= e_state_d;
      in_cnt_q     <= in_cnt_d;
      frame_done_q <= frame_done_d;
      seq_last_q   <= seq_last_d;
      m_mat_q      <= m_mat_d;
      m_layer_q    <= m_layer_d;
      m_bank_q     <= m_bank_d;
      m_first_q    <= m_first_d;
      m_abank_q    <= m_abank_d;
      pend_q       <= pend_d;
      e_mat_q      <= e_mat_d;
      e_layer_q    <= e_layer_d;
      e_bank_q     <= e_bank_d;
      e_first_q    <= e_first_d;
      e_abank_q    <= e_abank_d;
      unit_q       <= unit_d;
      gate_q       <= gate_d;
      done_q       <= done_d;
      ope_q        <= ope_d;
      olu_q        <= olu_d;
      cls_q        <= cls_d;
      tail_q       <= tail_d;
    end
  end

  // The matrix phase's first cycle (m_open) and its run flag, from M's next state, registered in a copy per
  // PE (lane_reg: one flop driving every PE across the chip would be a long route into each PE's logic).
  // Their terms are decoded into flops of their own (asserted), so the copies are two LUT levels from
  // flops before that route.
  logic m_idle_q, e_idle_q, m_run_q, m_head_q, pe_open_d;
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      m_idle_q <= 1'b1;
      e_idle_q <= 1'b1;
      m_run_q  <= 1'b0;
      m_head_q <= 1'b0;  // (M resets to MAT_L0)
    end else begin
      m_idle_q <= (m_state_d == M_IDLE);
      e_idle_q <= (e_state_d == E_IDLE);
      m_run_q  <= (m_state_d == M_RUN);
      m_head_q <= (m_mat_d == MAT_HEAD);
    end
  end
  assign pe_open_d = (m_idle_q && e_idle_q) || (m_ready_q && e_free_q && !m_head_q);  // = m_open
  assign pe_run_d  = pe_open_d || (m_run_q && !all_quiet);
  for (genvar k = 0; k < NumPe; k++) begin : g_pe_ctl
    lane_reg #(.Width(2)) u_ctl (
      .clk_i,
      .rst_ni,
      .d_i ({pe_open_d, pe_run_d}),
      .q_o ({pe_clear[k], pe_run[k]})
    );
  end

  // ---- output stream ------------------------------------------------------------------------------------
  // h_t beats, three cycles each from the output counters: every PE's h memory read at the local unit
  // into a flop of its own (h_pe_q), then the unit's PE selected into h_out_q, then the beat (h_ph_q 2),
  // from flops only to the port. (The read spans every PE's h memory: two short steps, not one long one.)
  logic signed [ActWidth-1:0] h_out_q;
  logic signed [ActWidth-1:0] h_pe_q [NumPe];
  logic [1:0]                 h_ph_q;  // the beat's cycle: 0 PE reads, 1 select, 2 offered
  always_ff @(posedge clk_i) begin
    // z of a logit fits acc (its width counts the bias)
    if (e_state_q == E_LOGIT_WAIT && z_valid_q) logit_q <= AccWidth'(z_q[z_pe_q]);
    for (int unsigned k = 0; k < NumPe; k++) h_pe_q[k] <= h_q[k][h_index(e_layer_q, !e_bank_q, olu_q)];
    h_out_q <= h_pe_q[ope_q];
  end
  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) h_ph_q <= '0;
    else if (e_state_q != E_OUT_H || (h_ok && out_ready_i)) h_ph_q <= '0;
    else if (!h_ok) h_ph_q <= h_ph_q + 1'b1;
  end
  assign h_ok = (h_ph_q == 2'd2);
  always_comb begin
    out_valid_o = 1'b0;
    out_data_o  = '0;
    out_last_o  = 1'b0;
    out_user_o  = '0;
    if (e_state_q == E_OUT_H) begin
      out_valid_o = h_ok;
      out_data_o  = OUT_WIDTH'(h_out_q);
      out_last_o  = (unit_q == units - 1'b1);
      out_user_o  = 2'(e_layer_q) + 2'd1;
    end else if (e_state_q == E_LOGIT_SEND) begin
      out_valid_o = 1'b1;
      out_data_o  = OUT_WIDTH'(logit_q);
      out_last_o  = (cls_q == cfg_classes_m1_q);
    end
  end

  // ---- performance counters ------------------------------------------------------------------------------
  logic                  in_step, in_layer_matrix;
  logic [PERF_WIDTH-1:0] steps_q, step_cycles_q, step_cnt_q, total_q, matrix_q;
  logic [PERF_WIDTH-1:0] busy_q [NumPe];
  logic                  step_end, frame_end, wait_frame;
  // open steps: frames received whose step has not ended (0..2); a step's cycles are those in which one
  // is open, outside the h_t output
  logic [1:0]            open_q;
  assign frame_end  = in_valid_i && in_ready_o && (in_cnt_q == cfg_inputs_m1_q);
  assign step_end   = e_complete && e_last_layer && (e_mat_q != MAT_HEAD);
  assign in_step    = (open_q != '0) && (e_state_q != E_OUT_H);
  // layer 0's matrix phase waiting for a word of its frame (between sequences, a slow or stalled input)
  assign wait_frame = (m_state_q == M_RUN) && (m_mat_q == MAT_L0) && !frame_done_q &&
                      !(in_valid_i && in_ready_o);
  assign in_layer_matrix = (m_state_q == M_RUN || m_state_q == M_TAIL) && (m_mat_q != MAT_HEAD) &&
                           !wait_frame;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      steps_q       <= '0;
      step_cycles_q <= '0;
      step_cnt_q    <= '0;
      total_q       <= '0;
      matrix_q      <= '0;
      open_q        <= '0;
      for (int unsigned k = 0; k < NumPe; k++) busy_q[k] <= '0;
    end else begin
      if (frame_end && !step_end) open_q <= open_q + 1'b1;
      else if (step_end && !frame_end) open_q <= open_q - 1'b1;
      if (step_end) begin
        steps_q       <= steps_q + 1'b1;
        step_cycles_q <= step_cnt_q + 1'b1;
        step_cnt_q    <= '0;
      end else if (in_step) begin
        step_cnt_q <= step_cnt_q + 1'b1;
      end
      if (in_step) total_q <= total_q + 1'b1;
      if (in_layer_matrix) matrix_q <= matrix_q + 1'b1;
      for (int unsigned k = 0; k < NumPe; k++) begin
        if (pe_busy[k] && m_mat_q != MAT_HEAD) busy_q[k] <= busy_q[k] + 1'b1;
      end
    end
  end

  assign perf_steps_o             = steps_q;
  assign perf_step_cycles_o       = step_cycles_q;
  assign perf_total_step_cycles_o = total_q;
  assign perf_matrix_cycles_o     = matrix_q;
  for (genvar k = 0; k < NumPe; k++) begin : g_perf
    assign perf_pe_busy_o[k*PERF_WIDTH+:PERF_WIDTH] = busy_q[k];
  end

  // Unused bits: load beats are wider than any memory word (one beat format across builds); the
  // high bits of the column offsets are out of range whenever they are read.
  logic unused_load;
  assign unused_load = ^{load_data[63:BiasWidth], load_addr[31:PADDR_WIDTH], load_pe, in_data_i};
  // Every PE's element-wise unit runs in lockstep: PE 0's valid and unit stand for all.
  logic unused_ew;
  always_comb begin
    unused_ew = 1'b0;
    for (int unsigned k = 1; k < NumPe; k++) unused_ew ^= eo_valid[k] ^ (^eo_unit[k]);
  end

`ifndef SYNTHESIS
  // verilator lint_off SYNCASYNCNET
  initial begin
    if (AccWidth > 64) $error("%m: AccWidth %0d > 64", AccWidth);
    if (BiasWidth + BiasShift > AccWidth)
      $error("%m: BiasWidth %0d + BiasShift %0d > AccWidth %0d", BiasWidth, BiasShift, AccWidth);
    if (NumPe < 1) $error("%m: NumPe %0d < 1", NumPe);
    if (MaxLayers < 1 || MaxLayers > 2) $error("%m: MaxLayers %0d is not 1 or 2", MaxLayers);
  end
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    out_valid_o && !out_ready_i |=> out_valid_o && $stable(out_data_o));
  assert property (@(posedge clk_i) disable iff (!rst_ni) pe_run == {NumPe{m_state_q == M_RUN}});
  assert property (@(posedge clk_i) disable iff (!rst_ni) pe_clear == {NumPe{pe_clear[0]}});
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    pe_open_d == m_open && m_idle_q == (m_state_q == M_IDLE) && e_idle_q == (e_state_q == E_IDLE) &&
    m_run_q == (m_state_q == M_RUN) && m_head_q == (m_mat_q == MAT_HEAD));
  // M never clears or writes the bank E reads, and never reads a list E has not finished unless pending
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    (m_state_q == M_RUN && e_state_q inside {E_ELT, E_DRAIN, E_LOGIT_RD, E_LOGIT_WAIT}) |-> m_abank_q != e_abank_q)
    else $error("%m: matrix and element-wise phases on one accumulator bank");
  assert property (@(posedge clk_i) disable iff (!rst_ni) open_q != 2'd3);
  assert property (@(posedge clk_i) disable iff (!rst_ni) !(e_take && m_mat_q != MAT_HEAD && eo_valid[0]));
  assert property (@(posedge clk_i) disable iff (!rst_ni) all_quiet_q |-> (&pe_quiet) && bc_done);
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    h_raddr_q == lidx(seg1_sel_q, lrow(idx1_q)) && s_raddr_q == lidx(hs_sel, lrow(hs_idx)) &&
    h_rbank_q == lbank(idx1_q) && s_rbank_q == lbank(hs_idx));
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    eo_valid[0] |-> w_hcnt_q == hl_cnt_q[hl_wr_sel] && w_scnt_q == hsl_cnt_q[hl_wr_sel]);
  // The flops that stand for combinational terms equal them where they are read
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    load_ready_q == ((m_state_q == M_RUN) && (m_mat_q == MAT_L0) && m_first_q && !frame_done_q && in_cnt_q == '0));
  assert property (@(posedge clk_i) disable iff (!rst_ni) segs_q == segs_of(m_mat_q, m_bank_q, m_first_q));
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    m_ready_q == ((m_state_q == M_DONE) || (m_state_q == M_TAIL && tail_q == 2'd2)) &&
    e_free_q == ((e_state_q == E_IDLE) || (e_complete && !e_emit_q)));
  assert property (@(posedge clk_i) disable iff (!rst_ni) e_take |-> m_last_q == (m_layer_q == cfg_layers_q - 1'b1));
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    e_state_q == E_DRAIN |-> done_eq_q == (done_q == UNIT_WIDTH'(lunits)));
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    eo_valid[0] |-> done_last_q == (done_q == UNIT_WIDTH'(lunits - 1'b1)));
  assert property (@(posedge clk_i) disable iff (!rst_ni)
    eo_valid[0] |-> w1_live_q == ~({NumPe{done_last_q}} & ~w_last_live_q));
  always_comb begin
    for (int unsigned k = 0; k < NumPe; k++) begin
      if (rst_ni && eo_valid[0] && w1_live_q[k] != (32'(eo_unit[0]) * NumPe + k < 32'(units)))
        $error("%m: W1 live flag of PE %0d differs from unit * NumPe + k < units", k);
      // W0's flags: the value is non-zero and the unit exists (its liveness taken in the lane at W0)
      if (rst_ni && eo_valid[0] && eo_h_nz[k] != ((eo_h[k] != '0) && w1_live_q[k]))
        $error("%m: W0's h flag of PE %0d differs from h != 0 and the unit's liveness", k);
      if (rst_ni && eo_valid[0] && eo_hs_nz[k] != ((eo_hs[k] != '0) && w1_live_q[k]))
        $error("%m: W0's state flag of PE %0d differs from q_state(h) != 0 and the unit's liveness", k);
    end
    // W2's bank selects (decided at W1): each names the bank of its PE's list position, one PE per bank
    for (int unsigned bk = 0; bk < LIST_BANKS; bk++) begin
      for (int unsigned k = 0; k < NumPe; k++) begin
        if (rst_ni && w_valid_q && w_hhit_q[bk][k] && 32'(lbank(COL_WIDTH'(w_hpos_q[k]))) != bk)
          $error("%m: W2's h bank select %0d of PE %0d is not its position's bank", bk, k);
        if (rst_ni && w_valid_q && w_shit_q[bk][k] && 32'(lbank(COL_WIDTH'(w_spos_q[k]))) != bk)
          $error("%m: W2's state bank select %0d of PE %0d is not its position's bank", bk, k);
      end
      if (rst_ni && w_valid_q && (!$onehot0(w_hhit_q[bk]) || !$onehot0(w_shit_q[bk])))
        $error("%m: W2's bank %0d is selected by more than one PE", bk);
    end
  end
  // verilator lint_on SYNCASYNCNET
`endif
endmodule

`default_nettype wire
