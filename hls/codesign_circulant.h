// Block-circulant LSTM for hls4ml (codesign/hls/circulant.py): W_x and W_h are tiled into b x b circulant
// blocks and only the defining vectors are stored, one b-vector per block (C-LSTM, E-RNN):
//
//     W[i b + r, j b + c] = v[(i * n_col_blocks + j) * b + (r - c) mod b]      (row = gate output)
//
// so the weight arrays hold 4H/b * ceil(X/b) * b and 4H/b * H/b * b words instead of 4H X and 4H H.
// Each block product is computed directly, y_r += sum_c v[(r - c) mod b] x_c: b^2 exact multiply-adds into
// the exact accumulator type, no FFT (whose rounded twiddles would break bit-exactness; see the Python
// module). The input's zero padding to whole blocks is skipped, not stored or multiplied. The cell is
// codesign_lstm_static's (hls/codesign_activations.h): exact quantized activations, tanh of the exact c_t,
// c and h rounded into the state type for the next step as QKeras' state quantizer does.
#ifndef CODESIGN_CIRCULANT_H_
#define CODESIGN_CIRCULANT_H_

#include "codesign_activations.h"

namespace nnet {

// y[n_gate_blocks * b] = W x (+ bias when given), W block-circulant from `vectors`.
template <class data_T, class accum_T, class weight_T, class bias_T, int N_IN, int N_COL_BLOCKS, int N_ROW_BLOCKS,
          int B, bool WITH_BIAS>
void codesign_circulant_matvec(const data_T x[N_IN], accum_T y[N_ROW_BLOCKS * B],
                               const weight_T vectors[N_ROW_BLOCKS * N_COL_BLOCKS * B], const bias_T bias[]) {
    #pragma HLS INLINE
    for (int i = 0; i < N_ROW_BLOCKS; i++) {
        #pragma HLS UNROLL
        for (int r = 0; r < B; r++) {
            #pragma HLS UNROLL
            accum_T acc = 0;
            if (WITH_BIAS)
                acc = bias[i * B + r];
            for (int j = 0; j < N_COL_BLOCKS; j++) {
                #pragma HLS UNROLL
                for (int c = 0; c < B; c++) {
                    #pragma HLS UNROLL
                    const int col = j * B + c;
                    if (col < N_IN) // the input's zero padding is not multiplied
                        acc += vectors[(i * N_COL_BLOCKS + j) * B + (r - c + B) % B] * x[col];
                }
            }
            y[i * B + r] = acc;
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
                              typename CONFIG_T::bias_t, CONFIG_T::n_in, CONFIG_T::n_in_blocks,
                              CONFIG_T::n_gate_blocks, CONFIG_T::block, true>(data, tmpres, param, param_b);
    codesign_circulant_matvec<res_T, typename CONFIG_T::accum_t, typename CONFIG_T::recurrent_weight_t,
                              typename CONFIG_T::bias_t, CONFIG_T::n_state, CONFIG_T::n_state_blocks,
                              CONFIG_T::n_gate_blocks, CONFIG_T::block, false>(h_state, tmpres_state, param_r, param_b);
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
