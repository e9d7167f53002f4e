// Block-circulant LSTM for hls4ml (codesign/hls/circulant.py): W_x and W_h are tiled into b x b circulant
// blocks and only the defining vectors are stored, one b-vector per block (C-LSTM, E-RNN):
//
//     W[i b + r, j b + c] = v[(i * n_col_blocks + j) * b + (r - c) mod b]      (row = gate output)
//
// so the weight arrays hold 4H/b * ceil(X/b) * b and 4H/b * H/b * b words instead of 4H X and 4H H.
// A block product is a cyclic convolution; it is computed by the exact fast algorithm of
// codesign/hls/fastconv.py, y = C((A x) * (B v)) / b with integer A, B, C (the FFT's radix-2 split with its
// +-1 twiddles, Karatsuba where the FFT would need irrational ones): R multiplies per block (5, 14, 41 for
// b = 4, 8, 16) instead of b^2, and no rounding anywhere, so the C-simulation still equals QKeras bit for
// bit. A x_j is computed once per input block and shared by all row blocks; products accumulate in the
// transform domain and C is applied once per row block; each multiplier serves reuse_factor (x W_x) or
// recurrent_reuse_factor (h W_h) products. The cell is codesign_lstm_cell's
// (hls/codesign_activations.h): exact quantized activations, tanh of the exact c_t, c and h rounded into the
// state type for the next step as QKeras' state quantizer does.
#ifndef CODESIGN_CIRCULANT_H_
#define CODESIGN_CIRCULANT_H_

#include "codesign_activations.h"

namespace nnet {

// y[n_row_blocks * b] = W x (+ bias when given), W block-circulant from `vectors`. FAST (emitted per product
// by circulant.py) holds the integer matrices as x_coef / v_coef / y_coef and transform-domain types wide
// enough for the bounds of this model's weights and input type, so every step below is exact.
template <class data_T, class accum_T, class weight_T, class bias_T, class FAST, int N_IN, int N_COL_BLOCKS,
          int N_ROW_BLOCKS, unsigned REUSE, bool WITH_BIAS>
void codesign_circulant_matvec(const data_T x[N_IN], accum_T y[N_ROW_BLOCKS * FAST::block],
                               const weight_T vectors[N_ROW_BLOCKS * N_COL_BLOCKS * FAST::block],
                               const bias_T bias[]) {
    #pragma HLS INLINE
    const int B = FAST::block, R = FAST::rank;
    typename FAST::x_t x_fast[N_COL_BLOCKS][FAST::rank];
    #pragma HLS ARRAY_PARTITION variable=x_fast complete dim=0
    for (int j = 0; j < N_COL_BLOCKS; j++) { // A x_j: additions only, shared by every row block
        #pragma HLS UNROLL
        for (int r = 0; r < R; r++) {
            #pragma HLS UNROLL
            typename FAST::x_t sum = 0;
            for (int c = 0; c < B; c++) {
                #pragma HLS UNROLL
                const int col = j * B + c;
                if (col < N_IN) // the input's zero padding adds nothing
                    sum += FAST::x_coef(r, c) * x[col];
            }
            x_fast[j][r] = sum;
        }
    }
    // The products, R per block: each multiplier serves REUSE of them (product p = cycle * per_cycle + lane,
    // block (i, j) = p / R, row r = p % R), as hls4ml's reuse factor does for dense layers.
    const unsigned n_products = N_ROW_BLOCKS * N_COL_BLOCKS * FAST::rank;
    const unsigned per_cycle = DIV_ROUNDUP(n_products, REUSE);
    typename FAST::acc_t acc[N_ROW_BLOCKS][FAST::rank];
    #pragma HLS ARRAY_PARTITION variable=acc complete dim=0
    #pragma HLS ALLOCATION operation instances=mul limit=per_cycle
    for (int i = 0; i < N_ROW_BLOCKS; i++) {
        #pragma HLS UNROLL
        for (int r = 0; r < R; r++) {
            #pragma HLS UNROLL
            acc[i][r] = 0;
        }
    }
    for (unsigned cycle = 0; cycle < REUSE; cycle++) {
        #pragma HLS PIPELINE II=1 rewind
        for (unsigned lane = 0; lane < per_cycle; lane++) {
            #pragma HLS UNROLL
            const unsigned p = cycle * per_cycle + lane;
            if (p < n_products) {
                const unsigned block = p / R, r = p % R;
                const unsigned i = block / N_COL_BLOCKS, j = block % N_COL_BLOCKS;
                typename FAST::v_t v_fast = 0; // B v: additions of stored words (constants when folded)
                for (int c = 0; c < B; c++) {
                    #pragma HLS UNROLL
                    v_fast += FAST::v_coef(r, c) * vectors[block * B + c];
                }
                acc[i][r] += x_fast[j][r] * v_fast; // the only multiplies: R per block, not B * B
            }
        }
    }
    for (int i = 0; i < N_ROW_BLOCKS; i++) {
        #pragma HLS UNROLL
        for (int q = 0; q < B; q++) {
            #pragma HLS UNROLL
            typename FAST::acc_t u = 0; // = B * (W x)_q exactly
            for (int r = 0; r < R; r++) {
                #pragma HLS UNROLL
                u += FAST::y_coef(q, r) * acc[i][r];
            }
            accum_T out = u >> FAST::log2_block; // the shifted-out bits are zero: exact
            if (WITH_BIAS)
                out += bias[i * B + q];
            y[i * B + q] = out;
        }
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void codesign_circulant_lstm_static(bool reset_state, data_T data[CONFIG_T::n_in], res_T h_newstate[CONFIG_T::n_state],
                                    const typename CONFIG_T::weight_t param[CONFIG_T::n_gate_blocks * CONFIG_T::n_in_blocks *
                                                                            CONFIG_T::block],
                                    const typename CONFIG_T::recurrent_weight_t
                                        param_r[CONFIG_T::n_gate_blocks * CONFIG_T::n_state_blocks * CONFIG_T::block],
                                    const typename CONFIG_T::bias_t param_b[CONFIG_T::n_state * 4]) {
    static res_T h_state[CONFIG_T::n_state];
    static res_T s_state[CONFIG_T::n_state];
    typename CONFIG_T::accum_t tmpres[CONFIG_T::n_state * 4];
    typename CONFIG_T::accum_t tmpres_state[CONFIG_T::n_state * 4];
    #pragma HLS ARRAY_PARTITION variable=h_state complete
    #pragma HLS ARRAY_PARTITION variable=s_state complete
    #pragma HLS ARRAY_PARTITION variable=tmpres complete
    #pragma HLS ARRAY_PARTITION variable=tmpres_state complete

    if (reset_state) {
        for (int i = 0; i < CONFIG_T::n_state; i++) {
            #pragma HLS UNROLL
            s_state[i] = 0;
            h_state[i] = 0;
        }
    }
    codesign_circulant_matvec<data_T, typename CONFIG_T::accum_t, typename CONFIG_T::weight_t,
                              typename CONFIG_T::bias_t, typename CONFIG_T::fast_input, CONFIG_T::n_in,
                              CONFIG_T::n_in_blocks, CONFIG_T::n_gate_blocks, CONFIG_T::reuse_factor, true>(
        data, tmpres, param, param_b);
    codesign_circulant_matvec<res_T, typename CONFIG_T::accum_t, typename CONFIG_T::recurrent_weight_t,
                              typename CONFIG_T::bias_t, typename CONFIG_T::fast_recurrent, CONFIG_T::n_state,
                              CONFIG_T::n_state_blocks, CONFIG_T::n_gate_blocks,
                              CONFIG_T::recurrent_reuse_factor, false>(h_state, tmpres_state, param_r, param_b);
    codesign_lstm_cell<res_T, CONFIG_T>(tmpres, tmpres_state, s_state, h_state);
    for (int iacc = 0; iacc < CONFIG_T::n_state; iacc++) {
        #pragma HLS UNROLL
        h_newstate[iacc] = h_state[iacc];
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void codesign_circulant_lstm_stack(data_T data[CONFIG_T::n_sequence * CONFIG_T::n_in],
                                   res_T res[CONFIG_T::n_sequence_out * CONFIG_T::n_state],
                                   const typename CONFIG_T::weight_t param[CONFIG_T::n_gate_blocks * CONFIG_T::n_in_blocks *
                                                                           CONFIG_T::block],
                                   const typename CONFIG_T::recurrent_weight_t
                                       param_r[CONFIG_T::n_gate_blocks * CONFIG_T::n_state_blocks * CONFIG_T::block],
                                   const typename CONFIG_T::bias_t param_b[CONFIG_T::n_state * 4]) {
    res_T h_newstate[CONFIG_T::n_state];
    data_T data_in[CONFIG_T::n_in];
    bool reset_state = true;
    #pragma HLS ARRAY_PARTITION variable=h_newstate complete

    for (int iloop = 0; iloop < CONFIG_T::n_sequence; iloop++) {
        for (int j = 0; j < CONFIG_T::n_in; j++) {
            #pragma HLS UNROLL
            data_in[j] = data[j + iloop * CONFIG_T::n_in];
        }
        codesign_circulant_lstm_static<data_T, res_T, CONFIG_T>(reset_state, data_in, h_newstate, param, param_r, param_b);
        if (CONFIG_T::n_sequence_out > 1)
            for (int i = 0; i < CONFIG_T::n_state; i++) {
                #pragma HLS UNROLL
                res[CONFIG_T::n_state * iloop + i] = h_newstate[i];
            }
        reset_state = false;
    }
    if (CONFIG_T::n_sequence_out == 1)
        for (int i = 0; i < CONFIG_T::n_state; i++) {
            #pragma HLS UNROLL
            res[i] = h_newstate[i];
        }
}

} // namespace nnet

#endif
