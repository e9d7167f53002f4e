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
// bit. A x_j is computed once per input block and shared by all row blocks; the products of x W_x and h W_h
// accumulate together in the transform domain and C is applied once per row block; each multiplier serves
// reuse_factor (x W_x) or recurrent_reuse_factor (h W_h) blocks. A and C run as addition programs (the
// recursive butterflies: 20 and 34 additions at b = 8). Weights of at most 4 bits multiply directly instead
// (b^2 small LUT multipliers beat R wider ones; config fast_input / fast_recurrent). The cell is
// codesign_lstm_cell's (hls/codesign_activations.h): exact quantized activations, tanh of the exact c_t, c
// and h rounded into the state type for the next step as QKeras' state quantizer does.
#ifndef CODESIGN_CIRCULANT_H_
#define CODESIGN_CIRCULANT_H_

#include "codesign_activations.h"

namespace nnet {

// acc[i][.] += the transform-domain products of row block i of W x, W block-circulant from `vectors`.
// FAST (emitted by codesign/hls/circulant_kernel.py) holds the forward/inverse addition programs and
// transform-domain types wide enough for this model's weights and input types: every step is exact.
// X_T / V_T: the transform-domain types of x and of this matrix's defining vectors.
template <class data_T, class weight_T, class X_T, class V_T, class FAST, int N_IN, int N_COL_BLOCKS,
          int N_ROW_BLOCKS, unsigned REUSE>
void codesign_circulant_accumulate(const data_T x[N_IN],
                                   const weight_T vectors[N_ROW_BLOCKS * N_COL_BLOCKS * FAST::block],
                                   typename FAST::acc_t acc[N_ROW_BLOCKS][FAST::rank]) {
    #pragma HLS INLINE
    const int B = FAST::block, R = FAST::rank;
    X_T x_fast[N_COL_BLOCKS][FAST::rank];
    #pragma HLS ARRAY_PARTITION variable=x_fast complete dim=0
    for (int j = 0; j < N_COL_BLOCKS; j++) { // A x_j: additions only, shared by every row block
        #pragma HLS UNROLL
        X_T x_block[FAST::block];
        #pragma HLS ARRAY_PARTITION variable=x_block complete
        for (int c = 0; c < B; c++) {
            #pragma HLS UNROLL
            const int col = j * B + c;
            x_block[c] = col < N_IN ? X_T(x[col]) : X_T(0); // the input's zero padding
        }
        FAST::template forward<X_T>(x_block, x_fast[j]);
    }
    // R multiplies per block, not B * B; each multiplier serves REUSE blocks' products (block
    // k = cycle * per_cycle + lane), as hls4ml's reuse factor does for dense layers.
    const unsigned n_blocks = N_ROW_BLOCKS * N_COL_BLOCKS;
    const unsigned per_cycle = DIV_ROUNDUP(n_blocks, REUSE);
    const unsigned multipliers = per_cycle * FAST::rank;
    #pragma HLS ALLOCATION operation instances=mul limit=multipliers
    for (unsigned cycle = 0; cycle < REUSE; cycle++) {
        #pragma HLS PIPELINE II=1 rewind
        for (unsigned lane = 0; lane < per_cycle; lane++) {
            #pragma HLS UNROLL
            const unsigned k = cycle * per_cycle + lane;
            if (k < n_blocks) {
                V_T v_block[FAST::block], v_fast[FAST::rank]; // B v: folded when the weights are constants
                #pragma HLS ARRAY_PARTITION variable=v_block complete
                #pragma HLS ARRAY_PARTITION variable=v_fast complete
                for (int c = 0; c < B; c++) {
                    #pragma HLS UNROLL
                    v_block[c] = vectors[k * B + c];
                }
                FAST::template forward<V_T>(v_block, v_fast);
                const unsigned i = k / N_COL_BLOCKS, j = k % N_COL_BLOCKS;
                for (int r = 0; r < R; r++) {
                    #pragma HLS UNROLL
                    acc[i][r] += x_fast[j][r] * v_fast[r];
                }
            }
        }
    }
}

// y += W x by direct block products (B * B multiplies per block, the input's padding skipped): for
// weights narrow enough that a product is a small LUT multiplier, cheaper than the fast product's wider
// transform-domain operands (circulant_kernel.use_fast_product decides). Each multiplier serves REUSE
// products of the expanded matrix.
template <class data_T, class weight_T, class accum_T, int N_IN, int N_COL_BLOCKS, int N_ROW_BLOCKS, int B,
          unsigned REUSE>
void codesign_circulant_direct(const data_T x[N_IN], const weight_T vectors[N_ROW_BLOCKS * N_COL_BLOCKS * B],
                               accum_T y[N_ROW_BLOCKS * B]) {
    #pragma HLS INLINE
    const unsigned n_products = N_ROW_BLOCKS * B * N_IN;
    const unsigned per_cycle = DIV_ROUNDUP(n_products, REUSE);
    #pragma HLS ALLOCATION operation instances=mul limit=per_cycle
    for (unsigned cycle = 0; cycle < REUSE; cycle++) {
        #pragma HLS PIPELINE II=1 rewind
        for (unsigned lane = 0; lane < per_cycle; lane++) {
            #pragma HLS UNROLL
            const unsigned k = cycle * per_cycle + lane; // row * N_IN + col of the expanded matrix
            if (k < n_products) {
                const unsigned row = k / N_IN, col = k % N_IN;
                const unsigned i = row / B, r = row % B, j = col / B, c = col % B;
                y[row] += vectors[(i * N_COL_BLOCKS + j) * B + (r - c + B) % B] * x[col];
            }
        }
    }
}

// y = the accumulated products back from the transform domain, plus the bias: one inverse per row block.
template <class accum_T, class bias_T, class FAST, int N_ROW_BLOCKS>
void codesign_circulant_finish(typename FAST::acc_t acc[N_ROW_BLOCKS][FAST::rank], const bias_T bias[],
                               accum_T y[N_ROW_BLOCKS * FAST::block]) {
    #pragma HLS INLINE
    for (int i = 0; i < N_ROW_BLOCKS; i++) {
        #pragma HLS UNROLL
        typename FAST::acc_t u[FAST::block]; // = B times the block row's product, exactly
        #pragma HLS ARRAY_PARTITION variable=u complete
        FAST::inverse(acc[i], u);
        for (int q = 0; q < FAST::block; q++) {
            #pragma HLS UNROLL
            accum_T out = u[q] >> FAST::log2_block; // the shifted-out bits are zero: exact
            y[i * FAST::block + q] = out + bias[i * FAST::block + q];
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
    typedef typename CONFIG_T::state_t state_T; // h_{t-1}, c_{t-1} as the state quantizer leaves them
    static state_T h_state[CONFIG_T::n_state];
    static state_T s_state[CONFIG_T::n_state];
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
    // Fast products (x W_x and h W_h alike) accumulate together in the transform domain: one inverse per row
    // block; direct ones add into tmpres / tmpres_state afterwards. CONFIG_T says which is which.
    typedef typename CONFIG_T::fast fast;
    typename fast::acc_t acc[CONFIG_T::n_gate_blocks][fast::rank];
    #pragma HLS ARRAY_PARTITION variable=acc complete dim=0
    for (int i = 0; i < CONFIG_T::n_gate_blocks; i++) {
        #pragma HLS UNROLL
        for (int r = 0; r < fast::rank; r++) {
            #pragma HLS UNROLL
            acc[i][r] = 0;
        }
    }
    if (CONFIG_T::fast_input)
        codesign_circulant_accumulate<data_T, typename CONFIG_T::weight_t, typename fast::in_x_t,
                                      typename fast::in_v_t, fast, CONFIG_T::n_in, CONFIG_T::n_in_blocks,
                                      CONFIG_T::n_gate_blocks, CONFIG_T::reuse_factor>(data, param, acc);
    if (CONFIG_T::fast_recurrent)
        codesign_circulant_accumulate<state_T, typename CONFIG_T::recurrent_weight_t, typename fast::rec_x_t,
                                      typename fast::rec_v_t, fast, CONFIG_T::n_state, CONFIG_T::n_state_blocks,
                                      CONFIG_T::n_gate_blocks, CONFIG_T::recurrent_reuse_factor>(h_state, param_r,
                                                                                                 acc);
    codesign_circulant_finish<typename CONFIG_T::accum_t, typename CONFIG_T::bias_t, fast, CONFIG_T::n_gate_blocks>(
        acc, param_b, tmpres);
    for (int i = 0; i < CONFIG_T::n_state * 4; i++) {
        #pragma HLS UNROLL
        tmpres_state[i] = 0;
    }
    if (!CONFIG_T::fast_input)
        codesign_circulant_direct<data_T, typename CONFIG_T::weight_t, typename CONFIG_T::accum_t, CONFIG_T::n_in,
                                  CONFIG_T::n_in_blocks, CONFIG_T::n_gate_blocks, CONFIG_T::block,
                                  CONFIG_T::reuse_factor>(data, param, tmpres);
    if (!CONFIG_T::fast_recurrent)
        codesign_circulant_direct<state_T, typename CONFIG_T::recurrent_weight_t, typename CONFIG_T::accum_t,
                                  CONFIG_T::n_state, CONFIG_T::n_state_blocks, CONFIG_T::n_gate_blocks,
                                  CONFIG_T::block, CONFIG_T::recurrent_reuse_factor>(h_state, param_r, tmpres_state);
    codesign_lstm_cell<res_T, CONFIG_T>(tmpres, tmpres_state, s_state, h_state, h_newstate);
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
