// The binary-binary RBM, E(v,h) = -b·v - c·h - vᵀWh, and its conditionals and free energy
// in numerically stable form. Batches are row-major matrices with one sample per row.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <span>
#include <vector>

#include "zeta/random.hpp"

namespace zeta {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using MatrixRef = Eigen::Ref<const Matrix>;

// Parameters W [nv, nh] (row-major), b [nv] and c [nh], in that order in one contiguous
// buffer, so that a sum over ranks or a checkpoint handles them as one span.
class Rbm {
 public:
  Rbm() = default;
  Rbm(int visible, int hidden);

  [[nodiscard]] int visible() const { return nv_; }
  [[nodiscard]] int hidden() const { return nh_; }

  [[nodiscard]] Eigen::Map<Matrix> weights() { return {params_.data(), nv_, nh_}; }
  [[nodiscard]] Eigen::Map<const Matrix> weights() const { return {params_.data(), nv_, nh_}; }
  [[nodiscard]] Eigen::Map<Eigen::VectorXf> visible_bias() {
    return {params_.data() + Offset(kVisibleBias), nv_};
  }
  [[nodiscard]] Eigen::Map<const Eigen::VectorXf> visible_bias() const {
    return {params_.data() + Offset(kVisibleBias), nv_};
  }
  [[nodiscard]] Eigen::Map<Eigen::VectorXf> hidden_bias() {
    return {params_.data() + Offset(kHiddenBias), nh_};
  }
  [[nodiscard]] Eigen::Map<const Eigen::VectorXf> hidden_bias() const {
    return {params_.data() + Offset(kHiddenBias), nh_};
  }
  [[nodiscard]] std::span<float> parameters() { return params_; }
  [[nodiscard]] std::span<const float> parameters() const { return params_; }

  // True when every parameter is finite.
  [[nodiscard]] bool AllFinite() const;

 private:
  enum Block { kVisibleBias, kHiddenBias };
  [[nodiscard]] std::size_t Offset(Block block) const {
    const auto weights = static_cast<std::size_t>(nv_) * nh_;
    return block == kVisibleBias ? weights : weights + nv_;
  }

  int nv_ = 0;
  int nh_ = 0;
  std::vector<float> params_;
};

// softplus(x) = log(1 + e^x), exact for large |x| and never overflowing.
[[nodiscard]] double Softplus(double x);
// log sigmoid(x) = -softplus(-x).
[[nodiscard]] double LogSigmoid(double x);

// p(h_j = 1 | v) = sigmoid(beta (c_j + (vW)_j)) for every row of v, into *p.
//
// 0/1 rows (data, samples, chains) take the sparse kernels of zeta/kernels.hpp, where every
// row is computed on its own, whatever the batch, layout or thread count. For other rows,
// `block_rows` > 0 computes the product in separate GEMMs of that many rows (the row count
// must be a multiple of it). A BLAS picks its kernel by the matrix shape (OpenBLAS has
// separate small-matrix kernels), so a row's bits can depend on how many rows share its
// GEMM; fixed blocks make every row's result independent of the batch it sits in.
void HiddenProbabilities(const Rbm& rbm, const MatrixRef& v, Matrix* p, float beta = 1.0F,
                         int block_rows = 0);

// p(v_i = 1 | h) = sigmoid(b_i + (hWᵀ)_i) for every row of h, into *p; `block_rows` as above.
void VisibleProbabilities(const Rbm& rbm, const MatrixRef& h, Matrix* p, int block_rows = 0);

// F(v) = -b·v - Σ_j softplus(c_j + (vW)_j), so that p(v) = exp(-F(v)) / Z; one per row,
// accumulated in double.
[[nodiscard]] Eigen::VectorXd FreeEnergy(const Rbm& rbm, const MatrixRef& v);

// E(v, h) = -b·v - c·h - vᵀWh for one visible and one hidden state.
[[nodiscard]] double Energy(const Rbm& rbm, std::span<const float> v, std::span<const float> h);

// Visible biases of the base-rate model: logit of the pixel means smoothed as
// (count + 1) / (rows + 2), so a pixel that is always 0 or always 1 gets a finite bias.
[[nodiscard]] Eigen::VectorXf BaseRateBias(std::span<const int64_t> ones_per_pixel, int64_t rows);

// The standard initialisation: W ~ N(0, 0.01²) from the seed's weight stream, hidden
// biases 0, visible biases the base rate of the training data.
void InitializeRbm(uint64_t seed, std::span<const int64_t> ones_per_pixel, int64_t rows, Rbm* rbm);

// Converts 0/1 bytes (rows of a data set) into a float batch.
void BytesToBatch(std::span<const uint8_t> bytes, int cols, Matrix* batch);

// Draws a 0/1 sample for every entry of p; row r uses stream index first_index + r.
void SampleRows(const Matrix& p, uint64_t seed, Stream stream, uint64_t first_index, uint64_t step,
                uint32_t sub, Matrix* out);

// Sets the threads of this rank's hot-path kernels (which split rows, so results do not
// change), of the BLAS under Eigen and of Eigen's own products.
void SetComputeThreads(int threads);

}  // namespace zeta
