// ULX3S (ECP5 85F) board top: the sparse-LSTM engine driven over the FTDI UART (docs/board.md).
// Port names are the board's pin names (codesign/synth/pins/ulx3s-85f.lpf), hence no _i/_o suffixes.
// Clock: with PllClkiDiv > 0 (synthesis only), an EHXPLLL makes the engine's clock from clk_25mhz:
// ClkHz = 25 MHz * PllClkfbDiv / PllClkiDiv (VCO = ClkHz * PllClkopDiv, 400..800 MHz); `codesign synth
// --clock F` computes the dividers as ecppll does (codesign/synth/pll.py) and sets ClkHz to match, so
// the UART's baud divider follows the real clock. PllClkiDiv = 0 (the default, and always in simulation):
// clk_25mhz directly, ClkHz must then be 25 MHz on a board. Reset: btn[0] (PWR, active low) or the PLL
// out of lock, asserted asynchronously and released through a 2-flop synchronizer; it aborts a
// sequence, the weights stay.
//
// Host -> board (bytes, multi-byte values little-endian):
//   'F' n w_1..w_n : n input words (IN_WIDTH/8 bytes each, act raw two's complement), forwarded to the
//                    engine's in stream; 'E' n w_1..w_n the same with in_last on w_n (the sequence's end).
//                    The engine counts words into frames (NumInputs a frame): a command may hold a frame.
//   'W' b_0..b_15  : one 128-bit beat of the engine's weight-load stream (between sequences).
//   'P'            : read the performance counters and status, after the logits of every sequence
//                    ended before it.
// Board -> host:
//   0xA0 | {last, user[1:0]} then OUT_WIDTH/8 bytes: one engine output word (logits: user 0).
//   0xB0 | status[3:0] then steps, last step cycles, total step cycles, matrix cycles (4 bytes each);
//                    status: bit 0 rx framing error, bit 1 rx FIFO overflow, bit 2 unknown command
//                    (sticky until reset).
// LEDs: [3:0] class of the last logits (argmax, first maximum), [4] sequence in progress, [5] heartbeat,
// [6] rx error (framing or overflow), [7] unknown command.
`default_nettype none

`include "engine_parameters.svh"

module ulx3s_engine_top #(
  // The engine's parameters under its own names, so `codesign synth` forwards them from params.json
  // (EmitH = 1: h_t words, user l + 1, from power-up on, as when the load stream sets emit_h).
  `ENGINE_PARAMETERS,
  // The board side
  parameter int unsigned ClkHz        = 25_000_000,
  parameter int unsigned Baud         = 115_200,
  parameter int unsigned RxFifoDepth  = 64,
  parameter int unsigned HeartbeatBit = $clog2(ClkHz) - 2,  // 1.5 Hz at 25 MHz, 1.9 Hz at 125 MHz
  // EHXPLLL dividers (0: no PLL); codesign/synth/pll.py computes them for a requested clock
  parameter int unsigned PllClkiDiv     = 0,
  parameter int unsigned PllClkfbDiv    = 1,
  parameter int unsigned PllClkopDiv    = 1,
  parameter int unsigned PllClkopCphase = 0
) (
  input  logic       clk_25mhz,
  input  logic [6:0] btn,
  output logic [7:0] led,
  input  logic       ftdi_txd,  // FTDI -> FPGA
  output logic       ftdi_rxd   // FPGA -> FTDI
);
  localparam int unsigned IN_WIDTH    = 8 * ((ActWidth + 7) / 8);
  localparam int unsigned IN_BYTES    = IN_WIDTH / 8;
  localparam int unsigned OUT_WIDTH   = 8 * ((AccWidth + 7) / 8);
  localparam int unsigned OUT_BYTES   = OUT_WIDTH / 8;
  localparam int unsigned LOAD_WIDTH  = 128;
  localparam int unsigned LOAD_BYTES  = LOAD_WIDTH / 8;
  localparam int unsigned PERF_WIDTH  = 32;
  localparam int unsigned PERF_BYTES  = 4 * PERF_WIDTH / 8;
  localparam int unsigned REPLY_BYTES = 1 + ((OUT_BYTES > PERF_BYTES) ? OUT_BYTES : PERF_BYTES);
  localparam int unsigned REPLY_WIDTH = 8 * REPLY_BYTES;
  localparam int unsigned CLS_WIDTH   = $clog2(MaxClasses + 1);

  localparam logic [7:0] CMD_FRAME = 8'h46;  // 'F'
  localparam logic [7:0] CMD_END   = 8'h45;  // 'E'
  localparam logic [7:0] CMD_LOAD  = 8'h57;  // 'W'
  localparam logic [7:0] CMD_PERF  = 8'h50;  // 'P'
  localparam logic [3:0] TAG_OUT   = 4'hA;
  localparam logic [3:0] TAG_PERF  = 4'hB;

  logic clk, pll_locked, rst_async_n;
`ifdef SYNTHESIS
  if (PllClkiDiv != 0) begin : g_pll
    // As ecppll writes it (feedback from CLKOP); FREQUENCY_PIN_CLKI lets nextpnr derive the output's
    // constraint from the pin's 25 MHz (the LPF's FREQUENCY PORT).
    (* FREQUENCY_PIN_CLKI = "25" *)
    (* ICP_CURRENT = "12" *) (* LPF_RESISTOR = "8" *) (* MFG_ENABLE_FILTEROPAMP = "1" *)
    (* MFG_GMCREF_SEL = "2" *)
    EHXPLLL #(
      .PLLRST_ENA      ("DISABLED"),
      .INTFB_WAKE      ("DISABLED"),
      .STDBY_ENABLE    ("DISABLED"),
      .DPHASE_SOURCE   ("DISABLED"),
      .OUTDIVIDER_MUXA ("DIVA"),
      .OUTDIVIDER_MUXB ("DIVB"),
      .OUTDIVIDER_MUXC ("DIVC"),
      .OUTDIVIDER_MUXD ("DIVD"),
      .CLKI_DIV        (PllClkiDiv),
      .CLKOP_ENABLE    ("ENABLED"),
      .CLKOP_DIV       (PllClkopDiv),
      .CLKOP_CPHASE    (PllClkopCphase),
      .CLKOP_FPHASE    (0),
      .FEEDBK_PATH     ("CLKOP"),
      .CLKFB_DIV       (PllClkfbDiv)
    ) u_pll (
      .RST         (1'b0),
      .STDBY       (1'b0),
      .CLKI        (clk_25mhz),
      .CLKOP       (clk),
      .CLKFB       (clk),
      .PHASESEL0   (1'b0),
      .PHASESEL1   (1'b0),
      .PHASEDIR    (1'b1),
      .PHASESTEP   (1'b1),
      .PHASELOADREG(1'b1),
      .PLLWAKESYNC (1'b0),
      .ENCLKOP     (1'b0),
      .LOCK        (pll_locked)
    );
  end else begin : g_no_pll
    assign clk        = clk_25mhz;
    assign pll_locked = 1'b1;
  end
`else
  assign clk        = clk_25mhz;
  assign pll_locked = 1'b1;
`endif
  assign rst_async_n = btn[0] && pll_locked;

  // ---- reset: asynchronous assertion, synchronous release -----------------------------------------
  // (the engine's assertions sample the reset synchronously: disable iff)
  // verilator lint_off SYNCASYNCNET
  logic rst_meta_q, rst_sync_q, rst_n;
  // verilator lint_on SYNCASYNCNET
  always_ff @(posedge clk or negedge rst_async_n) begin
    if (!rst_async_n) begin
      rst_meta_q <= 1'b0;
      rst_sync_q <= 1'b0;
    end else begin
      rst_meta_q <= 1'b1;
      rst_sync_q <= rst_meta_q;
    end
  end
`ifdef SYNTHESIS
  // The reset reaches every flop's LSR through a global buffer (DCCA): on local routing its ~1100-flop
  // net spanned the chip (13 ns placed). Active high through the buffer, so the flops (LSR active high)
  // take its output with no inverter LUT between.
  logic rst_gb;
  DCCA u_rst_gb (
    .CLKI(!rst_sync_q),
    .CE  (1'b1),
    .CLKO(rst_gb)
  );
  assign rst_n = !rst_gb;
`else
  assign rst_n = rst_sync_q;
`endif

  // ---- receive: UART -> byte FIFO (the engine stalls the parser while it computes) -----------------
  logic       rx_valid, rx_frame_err;
  logic [7:0] rx_data;
  logic       fifo_in_ready, fifo_out_valid, fifo_out_ready, byte_valid, byte_ready;
  logic [7:0] fifo_out_data, byte_data;

  uart_rx #(
    .ClkHz(ClkHz),
    .Baud (Baud)
  ) u_uart_rx (
    .clk_i         (clk),
    .rst_ni        (rst_n),
    .rxd_i         (ftdi_txd),
    .rx_valid_o    (rx_valid),
    .rx_data_o     (rx_data),
    .rx_frame_err_o(rx_frame_err)
  );

  stream_fifo #(
    .Width(8),
    .Depth(RxFifoDepth)
  ) u_rx_fifo (
    .clk_i      (clk),
    .rst_ni     (rst_n),
    .in_valid_i (rx_valid),
    .in_ready_o (fifo_in_ready),
    .in_data_i  (rx_data),
    .out_valid_o(fifo_out_valid),
    .out_ready_i(fifo_out_ready),
    .out_data_o (fifo_out_data)
  );

  // The parser takes bytes from a register, not from the FIFO's LUT RAM read (a 12.7 ns path when placed):
  // one byte every two cycles at most, far above the UART's rate. The byte's decodes (the commands, a zero
  // count) are registered with it, so the parser's next state starts from flags.
  logic       byte_valid_q;
  logic [7:0] byte_q;
  logic       byte_frame_q, byte_end_q, byte_load_q, byte_perf_q, byte_zero_q;
  assign fifo_out_ready = !byte_valid_q;
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) byte_valid_q <= 1'b0;
    else if (!byte_valid_q) byte_valid_q <= fifo_out_valid;
    else if (byte_ready) byte_valid_q <= 1'b0;
  end
  always_ff @(posedge clk) begin
    if (!byte_valid_q) begin
      byte_q       <= fifo_out_data;
      byte_frame_q <= (fifo_out_data == CMD_FRAME);
      byte_end_q   <= (fifo_out_data == CMD_END);
      byte_load_q  <= (fifo_out_data == CMD_LOAD);
      byte_perf_q  <= (fifo_out_data == CMD_PERF);
      byte_zero_q  <= (fifo_out_data == 8'd0);
    end
  end
  assign byte_valid = byte_valid_q;
  assign byte_data  = byte_q;

  // ---- command parser -----------------------------------------------------------------------------
  typedef enum logic [2:0] {
    P_CMD,       // next command byte
    P_COUNT,     // word count of an 'F' / 'E' command
    P_WORD,      // bytes of an input word
    P_SEND,      // the word on the engine's in stream, until it is taken
    P_LOAD,      // bytes of a load beat
    P_LOAD_SEND  // the beat on the engine's load stream, until it is taken
  } parse_e;

  parse_e                parse_q, parse_d;
  logic [7:0]            words_left_q, words_left_d;
  logic [4:0]            bytes_left_q, bytes_left_d;
  logic                  cmd_end_q, cmd_end_d;
  logic [LOAD_WIDTH-1:0] word_q;  // bytes shift in from the top: little-endian words end up high
  // parse_q is P_WORD or P_LOAD, in a flop of its own: word_q's shift enable (one per bit) is then a gate of
  // two flops, apart from the parser's loop (which otherwise shared that wide net: a 10.6 ns route)
  logic                  in_word_q;
  logic                  perf_set, bad_cmd;

  logic                  in_valid, in_ready, in_last;
  logic                  load_valid, load_ready;
  // The streams' valids are flops of their own, set as the parser enters P_SEND / P_LOAD_SEND and cleared
  // by the engine's take; the parser leaves the state a cycle after the take, from the cleared flop. So no
  // path runs from the parser's state through the engine's ready and back (a 10.1 ns route on the ECP5).
  logic                  in_valid_q, load_valid_q;

  logic                  end_pending_q;  // a sequence's last word is in, its logits not all out
  // 'P' waits for the logits of every sequence sent before it, so its counters include them
  assign byte_ready = ((parse_q == P_CMD) && !(byte_perf_q && end_pending_q))
                      || (parse_q == P_COUNT) || (parse_q == P_WORD) || (parse_q == P_LOAD);
  assign in_valid   = in_valid_q;
  assign in_last    = cmd_end_q && (words_left_q == 8'd1);
  assign load_valid = load_valid_q;

  always_comb begin
    parse_d      = parse_q;
    words_left_d = words_left_q;
    bytes_left_d = bytes_left_q;
    cmd_end_d    = cmd_end_q;
    perf_set     = 1'b0;
    bad_cmd      = 1'b0;
    if (byte_valid && byte_ready && parse_q != P_CMD && parse_q != P_COUNT) begin
      bytes_left_d = bytes_left_q - 1'b1;  // the bytes word_q shifts in (under in_word_q, not this net)
    end
    unique case (parse_q)
      P_CMD: begin
        if (byte_valid && byte_ready) begin
          if (byte_frame_q || byte_end_q) begin
            cmd_end_d = byte_end_q;
            parse_d   = P_COUNT;
          end else if (byte_load_q) begin
            bytes_left_d = 5'(LOAD_BYTES);
            parse_d      = P_LOAD;
          end else if (byte_perf_q) begin
            perf_set = 1'b1;
          end else begin
            bad_cmd = 1'b1;
          end
        end
      end
      P_COUNT: begin
        if (byte_valid) begin
          words_left_d = byte_data;
          bytes_left_d = 5'(IN_BYTES);
          parse_d      = byte_zero_q ? P_CMD : P_WORD;
        end
      end
      P_WORD: begin
        if (byte_valid && bytes_left_q == 5'd1) parse_d = P_SEND;
      end
      P_SEND: begin
        if (!in_valid_q) begin
          words_left_d = words_left_q - 1'b1;
          bytes_left_d = 5'(IN_BYTES);
          parse_d      = (words_left_q == 8'd1) ? P_CMD : P_WORD;
        end
      end
      P_LOAD: begin
        if (byte_valid && bytes_left_q == 5'd1) parse_d = P_LOAD_SEND;
      end
      P_LOAD_SEND: begin
        if (!load_valid_q) parse_d = P_CMD;
      end
      default: parse_d = P_CMD;
    endcase
  end

  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      in_valid_q   <= 1'b0;
      load_valid_q <= 1'b0;
    end else begin
      if (in_valid_q && in_ready) in_valid_q <= 1'b0;
      else if (parse_q == P_WORD && parse_d == P_SEND) in_valid_q <= 1'b1;
      if (load_valid_q && load_ready) load_valid_q <= 1'b0;
      else if (parse_q == P_LOAD && parse_d == P_LOAD_SEND) load_valid_q <= 1'b1;
    end
  end

  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      parse_q      <= P_CMD;
      words_left_q <= '0;
      bytes_left_q <= '0;
      cmd_end_q    <= 1'b0;
      in_word_q    <= 1'b0;
    end else begin
      parse_q      <= parse_d;
      words_left_q <= words_left_d;
      bytes_left_q <= bytes_left_d;
      cmd_end_q    <= cmd_end_d;
      in_word_q    <= (parse_d == P_WORD) || (parse_d == P_LOAD);
    end
  end
  // the bytes P_WORD and P_LOAD take (byte_ready holds in both)
  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) word_q <= '0;
    else if (byte_valid && in_word_q) word_q <= {byte_data, word_q[LOAD_WIDTH-1:8]};
  end

  // ---- the engine ---------------------------------------------------------------------------------
  logic                        out_valid, out_ready, out_last;
  logic [OUT_WIDTH-1:0]        out_data;
  logic [1:0]                  out_user;
  logic [PERF_WIDTH-1:0]       perf_steps, perf_step_cycles, perf_total_cycles, perf_matrix_cycles;
  logic [NumPe*PERF_WIDTH-1:0] perf_pe_busy;

  sparse_lstm_engine #(
    `ENGINE_PARAMETER_MAP
  ) u_engine (
    .clk_i                   (clk),
    .rst_ni                  (rst_n),
    .in_valid_i              (in_valid),
    .in_ready_o              (in_ready),
    .in_data_i               (word_q[LOAD_WIDTH-1 -: IN_WIDTH]),
    .in_last_i               (in_last),
    .out_valid_o             (out_valid),
    .out_ready_i             (out_ready),
    .out_data_o              (out_data),
    .out_last_o              (out_last),
    .out_user_o              (out_user),
    .load_valid_i            (load_valid),
    .load_ready_o            (load_ready),
    .load_data_i             (word_q),
    .perf_steps_o            (perf_steps),
    .perf_step_cycles_o      (perf_step_cycles),
    .perf_total_step_cycles_o(perf_total_cycles),
    .perf_matrix_cycles_o    (perf_matrix_cycles),
    .perf_pe_busy_o          (perf_pe_busy)
  );

  // ---- replies: one tagged word at a time through a byte shift register ---------------------------
  logic [REPLY_WIDTH-1:0] reply_q, reply_d;
  logic [4:0]             reply_left_q, reply_left_d;
  logic                   perf_req_q, perf_take;
  logic                   tx_valid, tx_ready;
  logic                   reply_idle_q;  // reply_left_q == 0, a flop of its own (asserted)
  logic                   reply_last_q;  // reply_left_q == 1 (asserted)
  logic [3:0]             status;

  // The engine's out_ready enables most of its output side (the head's registers, E's handoff): from a
  // flop, not from reply_left_q's compare, it reaches them without the compare's levels and fan-in.
  assign tx_valid  = !reply_idle_q;
  assign out_ready = reply_idle_q;  // engine words first: a perf reply waits for a gap
  assign perf_take = reply_idle_q && !out_valid && perf_req_q;

  always_comb begin
    reply_d      = reply_q;
    reply_left_d = reply_left_q;
    if (out_valid && out_ready) begin
      reply_d      = REPLY_WIDTH'({out_data, TAG_OUT, 1'b0, out_last, out_user});
      reply_left_d = 5'(1 + OUT_BYTES);
    end else if (perf_take) begin
      reply_d = REPLY_WIDTH'({perf_matrix_cycles, perf_total_cycles, perf_step_cycles, perf_steps,
                              TAG_PERF, status});
      reply_left_d = 5'(1 + PERF_BYTES);
    end else if (tx_valid && tx_ready) begin
      reply_d      = reply_q >> 8;
      reply_left_d = reply_left_q - 1'b1;
    end
  end

  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      reply_q      <= '0;
      reply_left_q <= '0;
      reply_idle_q <= 1'b1;
      reply_last_q <= 1'b0;
      perf_req_q   <= 1'b0;
    end else begin
      reply_q      <= reply_d;
      reply_left_q <= reply_left_d;
      // (reply_left_d == 0 and == 1 from flops and the handshakes: a reply is two bytes or more)
      reply_idle_q <= reply_idle_q ? !(out_valid || perf_req_q) : (reply_last_q && tx_ready);
      reply_last_q <= !reply_idle_q && (tx_ready ? (reply_left_q == 5'd2) : reply_last_q);
      perf_req_q   <= (perf_req_q && !perf_take) || perf_set;
    end
  end

  uart_tx #(
    .ClkHz(ClkHz),
    .Baud (Baud)
  ) u_uart_tx (
    .clk_i     (clk),
    .rst_ni    (rst_n),
    .tx_valid_i(tx_valid),
    .tx_ready_o(tx_ready),
    .tx_data_i (reply_q[7:0]),
    .txd_o     (ftdi_rxd)
  );

  // ---- status and LEDs ----------------------------------------------------------------------------
  // The argmax works on a registered copy of each logit, one cycle after the word leaves, and takes two
  // cycles (the 40-bit compare into a flop, then the update): logits leave at least a UART reply apart.
  logic                 frame_err_q, overflow_q, bad_cmd_q, seq_busy_q;
  logic [CLS_WIDTH-1:0] cls_q, best_cls_q, pred_q, cand_cls;
  logic [OUT_WIDTH-1:0] best_q, logit_q;
  logic                 logit_fire, logit_valid_q, logit_last_q, take, take_q, upd_q;
  logic [HeartbeatBit:0] beat_q;
  logic [7:0]           pred_led;

  assign logit_fire = out_valid && out_ready && (out_user == 2'd0);
  // numpy's argmax: the first maximum wins (a later equal logit does not replace it)
  assign take       = (cls_q == '0) || ($signed(logit_q) > $signed(best_q));
  assign cand_cls   = take_q ? cls_q : best_cls_q;

  always_ff @(posedge clk) begin
    if (logit_fire) begin
      logit_q      <= out_data;
      logit_last_q <= out_last;
    end
    take_q <= take;
  end

  always_ff @(posedge clk or negedge rst_n) begin
    if (!rst_n) begin
      frame_err_q   <= 1'b0;
      overflow_q    <= 1'b0;
      bad_cmd_q     <= 1'b0;
      seq_busy_q    <= 1'b0;
      end_pending_q <= 1'b0;
      logit_valid_q <= 1'b0;
      upd_q         <= 1'b0;
      cls_q         <= '0;
      best_cls_q    <= '0;
      best_q        <= '0;
      pred_q        <= '0;
      beat_q        <= '0;
    end else begin
      frame_err_q   <= frame_err_q || rx_frame_err;
      overflow_q    <= overflow_q || (rx_valid && !fifo_in_ready);
      bad_cmd_q     <= bad_cmd_q || bad_cmd;
      beat_q        <= beat_q + 1'b1;
      logit_valid_q <= logit_fire;
      upd_q         <= logit_valid_q;
      if (in_valid && in_ready) seq_busy_q <= 1'b1;
      if (in_valid && in_ready && in_last) end_pending_q <= 1'b1;
      if (logit_fire && out_last) end_pending_q <= 1'b0;
      if (upd_q) begin
        if (take_q) best_q <= logit_q;
        best_cls_q <= cand_cls;
        cls_q      <= logit_last_q ? '0 : cls_q + 1'b1;
        if (logit_last_q) begin
          pred_q     <= cand_cls;
          seq_busy_q <= 1'b0;
        end
      end
    end
  end

  assign status = {1'b0, bad_cmd_q, overflow_q, frame_err_q};
  assign pred_led = 8'(pred_q);  // 4 LEDs: classes >= 16 show their low bits
  assign led      = {bad_cmd_q, frame_err_q || overflow_q, beat_q[HeartbeatBit], seq_busy_q, pred_led[3:0]};

  // Pins and counters this top does not use.
  logic unused;
  logic unused_pll;
  assign unused = ^{btn[6:1], perf_pe_busy, pred_led[7:4]};
  assign unused_pll = ^{PllClkiDiv[0], PllClkfbDiv[0], PllClkopDiv[0], PllClkopCphase[0]};

`ifndef SYNTHESIS
  always_ff @(posedge clk) begin
    if (rst_n && in_word_q != ((parse_q == P_WORD) || (parse_q == P_LOAD)))
      $error("%m: in_word_q differs from the parser's state");
    if (rst_n && reply_idle_q != (reply_left_q == '0))
      $error("%m: reply_idle_q differs from reply_left_q == 0");
    if (rst_n && reply_last_q != (reply_left_q == 5'd1))
      $error("%m: reply_last_q differs from reply_left_q == 1");
  end
  initial begin
    if (OUT_BYTES > 16) $error("%m: output words of %0d bytes > 16", OUT_BYTES);
    if (IN_BYTES > 16) $error("%m: input words of %0d bytes > 16", IN_BYTES);
  end
`endif
endmodule

`default_nettype wire
