// Block-sparse matrix-vector product for hls4ml's LSTM/GRU kernels: only the non-zero blocks are stored
// and multiplied.
//
// A recurrent layer's products x W_x and h W_h go through `nnet::dense<.., mult_config>`, which calls
// `mult_config::kernel<..>::dense`. For a block-pruned layer the project's config template points that
// `kernel` at BlockSparseDense below and gives the mult config the block structure as compile-time
// constants:
//
//   block_rows, block_cols   the block shape, in the layer's gate matrix W (rows = gate units = outputs,
//                            columns = inputs; W is the transpose of Keras' kernel)
//   n_blocks, n_weights      kept blocks, and n_blocks * block_rows * block_cols stored weights
//   block_row(b), block_col(b)  where kept block b sits, in block units (a ROM the tool folds into
//                            wiring when the loop is fully unrolled)
//   reuse_factor             each multiplier serves reuse_factor products; the matrix takes
//                            reuse_factor cycles (x W_x uses the layer's, h W_h the recurrent one)
//
// The weights array holds the kept blocks one after the other, each row-major:
//   weights[b * block_rows * block_cols + i * block_cols + j] = W[block_row(b) * block_rows + i]
//                                                               [block_col(b) * block_cols + j]
// so storage and multipliers are n_weights (x bits), not n_in * n_out: they fall with the block density.
// The accumulator is the layer's exact accum_t, so the order of the sums does not change the result.
#ifndef CODESIGN_BLOCK_SPARSE_H_
#define CODESIGN_BLOCK_SPARSE_H_

#include "nnet_common.h"
#include "nnet_dense.h"
#include "nnet_mult.h"

namespace nnet {

template <class data_T, class res_T, typename CONFIG_T>
void codesign_block_sparse_dense(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                                 typename CONFIG_T::weight_t weights[CONFIG_T::n_weights],
                                 typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
    const unsigned block_size = CONFIG_T::block_rows * CONFIG_T::block_cols;
    // multipliers working in parallel; product w = cycle * per_cycle + lane
    const unsigned per_cycle = DIV_ROUNDUP(CONFIG_T::n_weights, CONFIG_T::reuse_factor);
    typename CONFIG_T::accum_t acc[CONFIG_T::n_out];
    #pragma HLS ARRAY_PARTITION variable=acc complete
    // lane l reads weights l, l + per_cycle, ...: one bank per multiplier
    #pragma HLS ARRAY_RESHAPE variable=weights cyclic factor=per_cycle
    #pragma HLS ALLOCATION operation instances=mul limit=per_cycle

InitAccum:
    for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
        #pragma HLS UNROLL
        acc[i] = (typename CONFIG_T::accum_t)biases[i];
    }

ReuseLoop:
    for (unsigned cycle = 0; cycle < CONFIG_T::reuse_factor; cycle++) {
        #pragma HLS PIPELINE II=1 rewind
    BlockProducts:
        for (unsigned lane = 0; lane < per_cycle; lane++) {
            #pragma HLS UNROLL
            const unsigned w = cycle * per_cycle + lane;
            if (w < CONFIG_T::n_weights) {
                const unsigned b = w / block_size;
                const unsigned k = w % block_size;
                const unsigned out = CONFIG_T::block_row(b) * CONFIG_T::block_rows + k / CONFIG_T::block_cols;
                const unsigned in = CONFIG_T::block_col(b) * CONFIG_T::block_cols + k % CONFIG_T::block_cols;
                acc[out] += (typename CONFIG_T::accum_t)
                    CONFIG_T::template product<data_T, typename CONFIG_T::weight_t>::product(data[in], weights[w]);
            }
        }
    }

Result:
    for (unsigned i = 0; i < CONFIG_T::n_out; i++) {
        #pragma HLS UNROLL
        res[i] = (res_T)acc[i];
    }
}

// The `kernel` a block-sparse mult config names; nnet::dense (called by lstm_static / gru_static) dispatches
// to it. Its weights parameter is the packed block array; hls4ml's callers declare theirs n_in * n_out long,
// which in C++ is only a pointer: the kernel reads the first n_weights entries and nothing else.
template <class data_T, class res_T, typename CONFIG_T> class BlockSparseDense : public DenseKernel<data_T, res_T, CONFIG_T> {
  public:
    static void dense(data_T data[CONFIG_T::n_in], res_T res[CONFIG_T::n_out],
                      typename CONFIG_T::weight_t weights[CONFIG_T::n_weights],
                      typename CONFIG_T::bias_t biases[CONFIG_T::n_out]) {
        #pragma HLS INLINE
        codesign_block_sparse_dense<data_T, res_T, CONFIG_T>(data, res, weights, biases);
    }
};

} // namespace nnet

#endif
