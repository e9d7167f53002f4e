// Quantized gate and state activations for hls4ml's LSTM/GRU kernels, equal to QKeras' quantizers.
//
// hls4ml 1.3.0 maps quantized_tanh / quantized_sigmoid to its float tanh / sigmoid lookup tables (1024 entries
// over a fixed range, index truncated) and rejects the hard ones. These classes plug into the same slots
// (CONFIG_T::activation / activation_recr) and produce exactly the values QKeras' quantizers produce:
// CONFIG_T::quant_t is the quantizer's output grid, e.g. quantized_sigmoid(8) = ap_ufixed<8,0,AP_RND_CONV,AP_SAT>
// (round half to even, clip to 1 - 2^-8) and quantized_tanh(8) = ap_fixed<8,1,AP_RND_CONV,AP_SAT>.
//
// - codesign_tanh / codesign_sigmoid (smooth): the output level is the number of level boundaries
//   f^-1(v + lsb/2) that the input reaches. Boundaries are rounded up onto the input's grid, so
//   `x >= boundary` is exact; a tie needs f(x) to hit a dyadic midpoint, which tanh/sigmoid of a dyadic x
//   never does. 2^bits - 1 boundaries, found by a bits-step binary search: no approximation table.
// - codesign_hard_tanh / codesign_hard_sigmoid: clip(x, -1, 1) and clip(x/2 + 1/2, 0, 1) are a shift and a
//   clamp in fixed point, then one conversion to quant_t rounds half to even and saturates, as QKeras does.
#ifndef CODESIGN_ACTIVATIONS_H_
#define CODESIGN_ACTIVATIONS_H_

#include "nnet_recr_activations.h"
#include "nnet_recurrent.h"
#include <cmath>

namespace nnet {

namespace activation {

template <class T> struct codesign_signed;
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct codesign_signed<ap_fixed<W, I, Q, O, N>> {
    static const bool value = true;
};
template <int W, int I, ap_q_mode Q, ap_o_mode O, int N> struct codesign_signed<ap_ufixed<W, I, Q, O, N>> {
    static const bool value = false;
};

template <class data_T, class q_T> struct codesign_grid {
    static const int data_frac = data_T::width - data_T::iwidth;
    static const int q_frac = q_T::width - q_T::iwidth;
    static const int levels = 1 << q_T::width;
    static long long q_raw_min() { return codesign_signed<q_T>::value ? -(1LL << (q_T::width - 1)) : 0; }

    // The smallest value on data_T's grid that is >= t, clamped to data_T's range.
    static data_T ceil_to_data(double t) {
        double lsb = std::ldexp(1.0, -data_frac);
        double hi = std::ldexp(1.0, data_T::iwidth - (codesign_signed<data_T>::value ? 1 : 0)) - lsb;
        double lo = codesign_signed<data_T>::value ? -std::ldexp(1.0, data_T::iwidth - 1) : 0.0;
        double v = std::ceil(t / lsb) * lsb;
        if (v > hi)
            v = hi;
        if (v < lo)
            v = lo;
        return data_T(v);
    }

    // Output level = q_raw_min + number of boundaries <= x (boundaries ascending).
    static q_T level(data_T x, const data_T boundary[levels - 1]) {
        int lo = 0, hi = levels - 1; // answer in [lo, hi]
        for (int step = 0; step < q_T::width; step++) {
            #pragma HLS UNROLL
            if (lo < hi) {
                int mid = (lo + hi) / 2;
                if (x >= boundary[mid])
                    lo = mid + 1;
                else
                    hi = mid;
            }
        }
        return q_T(std::ldexp(double(q_raw_min() + lo), -q_frac));
    }
};

template <class data_T, class res_T, typename CONFIG_T> class codesign_tanh {
  public:
    typedef typename CONFIG_T::quant_t q_T;
    typedef codesign_grid<data_T, q_T> grid;
    static void activation(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
#ifdef __HLS_SYN__
        bool initialized = false;
        data_T boundary[grid::levels - 1];
#else
        static bool initialized = false;
        static data_T boundary[grid::levels - 1];
#endif
        if (!initialized) {
            for (int k = 0; k < grid::levels - 1; k++) {
                double mid = std::ldexp(double(grid::q_raw_min() + k) + 0.5, -grid::q_frac);
                boundary[k] = grid::ceil_to_data(std::atanh(mid));
            }
            initialized = true;
        }
        for (int ii = 0; ii < CONFIG_T::n_in; ii++) {
            #pragma HLS UNROLL
            res[ii] = (res_T)grid::level(data[ii], boundary);
        }
    }
};

template <class data_T, class res_T, typename CONFIG_T> class codesign_sigmoid {
  public:
    typedef typename CONFIG_T::quant_t q_T;
    typedef codesign_grid<data_T, q_T> grid;
    static void activation(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
#ifdef __HLS_SYN__
        bool initialized = false;
        data_T boundary[grid::levels - 1];
#else
        static bool initialized = false;
        static data_T boundary[grid::levels - 1];
#endif
        if (!initialized) {
            for (int k = 0; k < grid::levels - 1; k++) {
                double mid = std::ldexp(double(grid::q_raw_min() + k) + 0.5, -grid::q_frac);
                boundary[k] = grid::ceil_to_data(std::log(mid / (1.0 - mid)));
            }
            initialized = true;
        }
        for (int ii = 0; ii < CONFIG_T::n_in; ii++) {
            #pragma HLS UNROLL
            res[ii] = (res_T)grid::level(data[ii], boundary);
        }
    }
};

template <class data_T, class res_T, typename CONFIG_T> class codesign_hard_sigmoid {
  public:
    typedef typename CONFIG_T::quant_t q_T;
    // one more fractional bit holds x/2 exactly; one more integer bit holds x/2 + 1/2
    typedef ap_fixed<data_T::width + 2, data_T::iwidth + 1> wide_t;
    static void activation(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
        for (int ii = 0; ii < CONFIG_T::n_in; ii++) {
            #pragma HLS UNROLL
            wide_t y = data[ii];
            y = y * ap_ufixed<1, 0>(0.5);
            y += wide_t(0.5);
            if (y > 1)
                y = 1;
            else if (y < 0)
                y = 0;
            res[ii] = (res_T)q_T(y);
        }
    }
};

template <class data_T, class res_T, typename CONFIG_T> class codesign_hard_tanh {
  public:
    typedef typename CONFIG_T::quant_t q_T;
    typedef ap_fixed<data_T::width + 2, data_T::iwidth + 1> wide_t;
    static void activation(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_in]) {
        for (int ii = 0; ii < CONFIG_T::n_in; ii++) {
            #pragma HLS UNROLL
            wide_t y = data[ii];
            if (y > 1)
                y = 1;
            else if (y < -1)
                y = -1;
            res[ii] = (res_T)q_T(y);
        }
    }
};

} // namespace activation

// One LSTM step after the two matrix products (tmpres = W_x x + b, tmpres_state = W_h h + b_r, Keras gate
// order i f c o), shared by the dense/block-sparse and the circulant kernels. QKeras applies tanh to the exact
// c_t, outputs the exact h_t = o tanh(c_t), and applies its state quantizer to h and c only when the next step
// reads them. So c_t and tanh(c_t) stay in accum_t, h_out (res_T: the layer's output, the next layer's input)
// is exact, and only the copies kept for the next step, h_state and s_state, are rounded to state_t (the state
// quantizer's type). hls4ml's lstm_static keeps one h in res_T, which rounds the output too.
template <class res_T, typename CONFIG_T>
void codesign_lstm_cell(typename CONFIG_T::accum_t tmpres[CONFIG_T::n_state * 4],
                        typename CONFIG_T::accum_t tmpres_state[CONFIG_T::n_state * 4],
                        typename CONFIG_T::state_t s_state[CONFIG_T::n_state],
                        typename CONFIG_T::state_t h_state[CONFIG_T::n_state], res_T h_out[CONFIG_T::n_state]) {
    typename CONFIG_T::accum_t tmpres_ifo[CONFIG_T::n_state * 3];
    typename CONFIG_T::accum_t tmpres_c[CONFIG_T::n_state];
    typename CONFIG_T::accum_t inputacc_ifo[CONFIG_T::n_state * 3];
    typename CONFIG_T::accum_t inputacc_c[CONFIG_T::n_state];
    typename CONFIG_T::accum_t c_exact[CONFIG_T::n_state];
    typename CONFIG_T::accum_t s_actstate[CONFIG_T::n_state];
    #pragma HLS ARRAY_PARTITION variable=tmpres_ifo complete
    #pragma HLS ARRAY_PARTITION variable=tmpres_c complete
    #pragma HLS ARRAY_PARTITION variable=inputacc_ifo complete
    #pragma HLS ARRAY_PARTITION variable=inputacc_c complete
    #pragma HLS ARRAY_PARTITION variable=c_exact complete
    #pragma HLS ARRAY_PARTITION variable=s_actstate complete

    for (int iacc = 0; iacc < 3 * CONFIG_T::n_state; iacc++) {
        #pragma HLS UNROLL
        int index = iacc < 2 * CONFIG_T::n_state ? iacc : iacc + CONFIG_T::n_state; // i, f, o (Keras order i f c o)
        inputacc_ifo[iacc] = tmpres[index] + tmpres_state[index];
    }
    for (int iacc = 0; iacc < CONFIG_T::n_state; iacc++) {
        #pragma HLS UNROLL
        inputacc_c[iacc] = tmpres[iacc + 2 * CONFIG_T::n_state] + tmpres_state[iacc + 2 * CONFIG_T::n_state];
    }
    CONFIG_T::template activation_recr<typename CONFIG_T::accum_t, typename CONFIG_T::accum_t,
                                       typename CONFIG_T::ACT_CONFIG_LSTM>::activation(inputacc_ifo, tmpres_ifo);
    CONFIG_T::template activation<typename CONFIG_T::accum_t, typename CONFIG_T::accum_t,
                                  typename CONFIG_T::ACT_CONFIG_T>::activation(inputacc_c, tmpres_c);
    for (int iacc = 0; iacc < CONFIG_T::n_state; iacc++) {
        #pragma HLS UNROLL
        c_exact[iacc] = tmpres_c[iacc] * tmpres_ifo[iacc] + s_state[iacc] * tmpres_ifo[iacc + CONFIG_T::n_state];
        s_state[iacc] = c_exact[iacc]; // the state quantizer, applied where QKeras applies it: when c is next read
    }
    CONFIG_T::template activation<typename CONFIG_T::accum_t, typename CONFIG_T::accum_t,
                                  typename CONFIG_T::ACT_CONFIG_T>::activation(c_exact, s_actstate);
    for (int iacc = 0; iacc < CONFIG_T::n_state; iacc++) {
        #pragma HLS UNROLL
        h_out[iacc] = tmpres_ifo[iacc + 2 * CONFIG_T::n_state] * s_actstate[iacc];
        h_state[iacc] = h_out[iacc]; // likewise for h
    }
}

template <class data_T, class res_T, typename CONFIG_T>
void codesign_lstm_static(bool reset_state, data_T data[CONFIG_T::n_in], res_T h_newstate[CONFIG_T::n_state],
                          typename CONFIG_T::weight_t param[CONFIG_T::n_state * 4 * CONFIG_T::n_in],
                          typename CONFIG_T::recurrent_weight_t param_r[CONFIG_T::n_state * 4 * CONFIG_T::n_state],
                          typename CONFIG_T::bias_t param_b[CONFIG_T::n_state * 4],
                          typename CONFIG_T::recurrent_bias_t param_br[CONFIG_T::n_state * 4]) {
    static typename CONFIG_T::state_t h_state[CONFIG_T::n_state];
    static typename CONFIG_T::state_t s_state[CONFIG_T::n_state];
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
    nnet::dense<data_T, typename CONFIG_T::accum_t, typename CONFIG_T::mult_config1>(data, tmpres, param, param_b);
    nnet::dense<typename CONFIG_T::state_t, typename CONFIG_T::accum_t, typename CONFIG_T::mult_config2>(
        h_state, tmpres_state, param_r, param_br);
    codesign_lstm_cell<res_T, CONFIG_T>(tmpres, tmpres_state, s_state, h_state, h_newstate);
}

// A reset-before GRU's recurrent candidate term (r * h_{t-1}) U_h, exact in accum_t (hls4ml's gru_static has
// only the reset-after form). U_h is the last third of the recurrent weights' columns; hls4ml stores them
// (n_in, n_out) row-major, transposed under the Resource strategy.
template <typename CONFIG_T>
void codesign_gru_reset_before(typename CONFIG_T::accum_t r[CONFIG_T::n_state],
                               typename CONFIG_T::state_t h[CONFIG_T::n_state],
                               typename CONFIG_T::recurrent_weight_t param_zr[CONFIG_T::n_state * 3 * CONFIG_T::n_state],
                               typename CONFIG_T::accum_t out[CONFIG_T::n_state]) {
    typename CONFIG_T::accum_t rh[CONFIG_T::n_state];
    #pragma HLS ARRAY_PARTITION variable=rh complete
    const int n = CONFIG_T::n_state;
    for (int i = 0; i < n; i++) {
        #pragma HLS UNROLL
        rh[i] = r[i] * h[i];
    }
    for (int j = 0; j < n; j++) {
        #pragma HLS UNROLL
        typename CONFIG_T::accum_t acc = 0;
        for (int i = 0; i < n; i++) {
            #pragma HLS UNROLL
            int index = CONFIG_T::weights_transposed ? (2 * n + j) * n + i : i * 3 * n + 2 * n + j;
            acc += rh[i] * param_zr[index];
        }
        out[j] = acc;
    }
}

// One GRU step (Keras gate order z r h), as hls4ml's gru_static but with h_{t-1} kept in state_t (QKeras'
// state quantizer, which it applies to h_{t-1} before the mix too), the exact h_t = z h_{t-1} + (1 - z) hh
// output in res_T, and both reset placements: r * (h U_h + b_rh) (reset_after) or (r * h) U_h.
template <class data_T, class res_T, typename CONFIG_T>
void codesign_gru_static(bool reset_state, data_T data[CONFIG_T::n_in], res_T h_newstate[CONFIG_T::n_state],
                         typename CONFIG_T::weight_t param[CONFIG_T::n_state * 3 * CONFIG_T::n_in],
                         typename CONFIG_T::recurrent_weight_t param_zr[CONFIG_T::n_state * 3 * CONFIG_T::n_state],
                         typename CONFIG_T::bias_t param_b[CONFIG_T::n_state * 3],
                         typename CONFIG_T::recurrent_bias_t param_br[CONFIG_T::n_state * 3]) {
    static typename CONFIG_T::state_t h_state[CONFIG_T::n_state];
    typename CONFIG_T::accum_t tmpres[CONFIG_T::n_state * 3];
    typename CONFIG_T::accum_t tmpres_state_zr[CONFIG_T::n_state * 3];
    typename CONFIG_T::accum_t tmpres_state_h[CONFIG_T::n_state];
    typename CONFIG_T::accum_t tmpres_zr[CONFIG_T::n_state * 2];
    typename CONFIG_T::accum_t tmpres_h[CONFIG_T::n_state];
    typename CONFIG_T::accum_t inputacc_zr[CONFIG_T::n_state * 2];
    typename CONFIG_T::accum_t inputacc_h[CONFIG_T::n_state];
    #pragma HLS ARRAY_PARTITION variable=h_state complete
    #pragma HLS ARRAY_PARTITION variable=tmpres complete
    #pragma HLS ARRAY_PARTITION variable=tmpres_state_zr complete
    #pragma HLS ARRAY_PARTITION variable=tmpres_state_h complete
    #pragma HLS ARRAY_PARTITION variable=tmpres_zr complete
    #pragma HLS ARRAY_PARTITION variable=tmpres_h complete
    #pragma HLS ARRAY_PARTITION variable=inputacc_zr complete
    #pragma HLS ARRAY_PARTITION variable=inputacc_h complete

    if (reset_state) {
        for (int i = 0; i < CONFIG_T::n_state; i++) {
            #pragma HLS UNROLL
            h_state[i] = 0;
        }
    }
    nnet::dense<data_T, typename CONFIG_T::accum_t, typename CONFIG_T::mult_config1>(data, tmpres, param, param_b);
    nnet::dense<typename CONFIG_T::state_t, typename CONFIG_T::accum_t, typename CONFIG_T::mult_config2>(
        h_state, tmpres_state_zr, param_zr, param_br);
    for (int iacc = 0; iacc < 2 * CONFIG_T::n_state; iacc++) {
        #pragma HLS UNROLL
        inputacc_zr[iacc] = tmpres[iacc] + tmpres_state_zr[iacc];
    }
    CONFIG_T::template activation_recr<typename CONFIG_T::accum_t, typename CONFIG_T::accum_t,
                                       typename CONFIG_T::ACT_CONFIG_GRU>::activation(inputacc_zr, tmpres_zr);
    if (CONFIG_T::reset_after) {
        for (int iacc = 0; iacc < CONFIG_T::n_state; iacc++) {
            #pragma HLS UNROLL
            tmpres_state_h[iacc] =
                tmpres_zr[iacc + CONFIG_T::n_state] * tmpres_state_zr[iacc + 2 * CONFIG_T::n_state];
        }
    } else {
        codesign_gru_reset_before<CONFIG_T>(tmpres_zr + CONFIG_T::n_state, h_state, param_zr, tmpres_state_h);
    }
    for (int iacc = 0; iacc < CONFIG_T::n_state; iacc++) {
        #pragma HLS UNROLL
        inputacc_h[iacc] = tmpres[iacc + 2 * CONFIG_T::n_state] + tmpres_state_h[iacc];
    }
    CONFIG_T::template activation<typename CONFIG_T::accum_t, typename CONFIG_T::accum_t,
                                  typename CONFIG_T::ACT_CONFIG_T>::activation(inputacc_h, tmpres_h);
    for (int iacc = 0; iacc < CONFIG_T::n_state; iacc++) {
        #pragma HLS UNROLL
        h_newstate[iacc] = tmpres_h[iacc] * (1 - tmpres_zr[iacc]) + h_state[iacc] * tmpres_zr[iacc];
        h_state[iacc] = h_newstate[iacc]; // the state quantizer, applied when the next step reads h
    }
}

// One step of each cell, with its gate count, so one sequence loop serves both.
template <class data_T, class res_T, typename CONFIG_T> struct codesign_lstm_step {
    static const int gates = 4;
    static void apply(bool reset_state, data_T data[CONFIG_T::n_in], res_T h[CONFIG_T::n_state],
                      typename CONFIG_T::weight_t param[CONFIG_T::n_state * 4 * CONFIG_T::n_in],
                      typename CONFIG_T::recurrent_weight_t param_r[CONFIG_T::n_state * 4 * CONFIG_T::n_state],
                      typename CONFIG_T::bias_t param_b[CONFIG_T::n_state * 4],
                      typename CONFIG_T::recurrent_bias_t param_br[CONFIG_T::n_state * 4]) {
        codesign_lstm_static<data_T, res_T, CONFIG_T>(reset_state, data, h, param, param_r, param_b, param_br);
    }
};

template <class data_T, class res_T, typename CONFIG_T> struct codesign_gru_step {
    static const int gates = 3;
    static void apply(bool reset_state, data_T data[CONFIG_T::n_in], res_T h[CONFIG_T::n_state],
                      typename CONFIG_T::weight_t param[CONFIG_T::n_state * 3 * CONFIG_T::n_in],
                      typename CONFIG_T::recurrent_weight_t param_r[CONFIG_T::n_state * 3 * CONFIG_T::n_state],
                      typename CONFIG_T::bias_t param_b[CONFIG_T::n_state * 3],
                      typename CONFIG_T::recurrent_bias_t param_br[CONFIG_T::n_state * 3]) {
        codesign_gru_static<data_T, res_T, CONFIG_T>(reset_state, data, h, param, param_r, param_b, param_br);
    }
};

// hls4ml's lstm_stack / gru_stack sequence loop around the project's static kernels (hls4ml's lstm_stack also
// instantiates nnet::lstm, which does not compile when the state and accumulator types differ, as exact
// types always do). io_parallel:
template <template <class, class, typename> class Step, class data_T, class res_T, typename CONFIG_T>
void codesign_recurrent_stack(data_T data[CONFIG_T::n_sequence * CONFIG_T::n_in],
                              res_T res[CONFIG_T::n_sequence_out * CONFIG_T::n_state],
                              typename CONFIG_T::weight_t *param, typename CONFIG_T::recurrent_weight_t *param_r,
                              typename CONFIG_T::bias_t *param_b, typename CONFIG_T::recurrent_bias_t *param_br) {
    res_T h_newstate[CONFIG_T::n_state];
    data_T data_in[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=h_newstate complete
    for (int iloop = 0; iloop < CONFIG_T::n_sequence; iloop++) {
        for (int j = 0; j < CONFIG_T::n_in; j++) {
            #pragma HLS UNROLL
            data_in[j] = data[j + iloop * CONFIG_T::n_in];
        }
        Step<data_T, res_T, CONFIG_T>::apply(iloop == 0, data_in, h_newstate, param, param_r, param_b, param_br);
        if (CONFIG_T::n_sequence_out > 1 || iloop == CONFIG_T::n_sequence - 1) {
            int offset = CONFIG_T::n_sequence_out > 1 ? CONFIG_T::n_state * iloop : 0;
            for (int j = 0; j < CONFIG_T::n_state; j++) {
                #pragma HLS UNROLL
                res[offset + j] = h_newstate[j];
            }
        }
    }
}

// io_stream:
template <template <class, class, typename> class Step, class data_T, class res_T, typename CONFIG_T>
void codesign_recurrent_stack(hls::stream<data_T> &data_stream, hls::stream<res_T> &res_stream,
                              typename CONFIG_T::weight_t *param, typename CONFIG_T::recurrent_weight_t *param_r,
                              typename CONFIG_T::bias_t *param_b, typename CONFIG_T::recurrent_bias_t *param_br) {
    typedef typename data_T::value_type x_T;
    typedef typename res_T::value_type h_T;
    h_T h_newstate[CONFIG_T::n_state];
    x_T data_in[CONFIG_T::n_in];
    #pragma HLS ARRAY_PARTITION variable=h_newstate complete
    const int steps = CONFIG_T::n_sequence * CONFIG_T::n_in / data_T::size;
    for (int i_in = 0; i_in < steps; i_in++) {
        data_T data_pack = data_stream.read();
        for (int i_pack = 0; i_pack < data_T::size; i_pack++) {
            #pragma HLS UNROLL
            data_in[i_pack] = data_pack[i_pack];
        }
        Step<x_T, h_T, CONFIG_T>::apply(i_in == 0, data_in, h_newstate, param, param_r, param_b, param_br);
        if (CONFIG_T::n_sequence_out > 1 || i_in == steps - 1) {
            res_T res_pack;
            PRAGMA_DATA_PACK(res_pack)
            for (int i_pack = 0; i_pack < res_T::size; i_pack++) {
                #pragma HLS UNROLL
                res_pack[i_pack] = h_newstate[i_pack];
            }
            res_stream.write(res_pack);
        }
    }
}

// The names the function templates call (extensions.py), for io_parallel and io_stream.
template <class data_T, class res_T, typename CONFIG_T>
void codesign_lstm_stack(data_T data[CONFIG_T::n_sequence * CONFIG_T::n_in],
                         res_T res[CONFIG_T::n_sequence_out * CONFIG_T::n_state],
                         typename CONFIG_T::weight_t *param, typename CONFIG_T::recurrent_weight_t *param_r,
                         typename CONFIG_T::bias_t *param_b, typename CONFIG_T::recurrent_bias_t *param_br) {
    codesign_recurrent_stack<codesign_lstm_step, data_T, res_T, CONFIG_T>(data, res, param, param_r, param_b, param_br);
}

template <class data_T, class res_T, typename CONFIG_T>
void codesign_lstm_stack(hls::stream<data_T> &data, hls::stream<res_T> &res,
                         typename CONFIG_T::weight_t *param, typename CONFIG_T::recurrent_weight_t *param_r,
                         typename CONFIG_T::bias_t *param_b, typename CONFIG_T::recurrent_bias_t *param_br) {
    codesign_recurrent_stack<codesign_lstm_step, data_T, res_T, CONFIG_T>(data, res, param, param_r, param_b, param_br);
}

template <class data_T, class res_T, typename CONFIG_T>
void codesign_gru_stack(data_T data[CONFIG_T::n_sequence * CONFIG_T::n_in],
                        res_T res[CONFIG_T::n_sequence_out * CONFIG_T::n_state],
                        typename CONFIG_T::weight_t *param, typename CONFIG_T::recurrent_weight_t *param_r,
                        typename CONFIG_T::bias_t *param_b, typename CONFIG_T::recurrent_bias_t *param_br) {
    codesign_recurrent_stack<codesign_gru_step, data_T, res_T, CONFIG_T>(data, res, param, param_r, param_b, param_br);
}

template <class data_T, class res_T, typename CONFIG_T>
void codesign_gru_stack(hls::stream<data_T> &data, hls::stream<res_T> &res,
                        typename CONFIG_T::weight_t *param, typename CONFIG_T::recurrent_weight_t *param_r,
                        typename CONFIG_T::bias_t *param_b, typename CONFIG_T::recurrent_bias_t *param_br) {
    codesign_recurrent_stack<codesign_gru_step, data_T, res_T, CONFIG_T>(data, res, param, param_r, param_b, param_br);
}

} // namespace nnet

#endif
