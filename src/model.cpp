// RBM parameters, conditionals and free energy.
#include "zeta/model.hpp"

#include <cmath>

#include "zeta/error.hpp"
#include "zeta/kernels.hpp"

namespace zeta {
namespace {

// Stable element-wise softplus on an array: max(x, 0) + log1p(exp(-|x|)).
template <class Array>
auto SoftplusArray(const Array& x) {
  return x.max(0) + (-x.abs()).exp().log1p();
}

}  // namespace

Rbm::Rbm(int visible, int hidden) : nv_(visible), nh_(hidden) {
  ZETA_CHECK(visible > 0 && hidden > 0, "an RBM needs at least one unit in each layer");
  params_.assign(static_cast<std::size_t>(nv_) * nh_ + nv_ + nh_, 0.0F);
}

bool Rbm::AllFinite() const {
  // x - x is 0 for a finite x and NaN for inf or NaN; the loop vectorises, isfinite does not.
  int bad = 0;
  for (float x : params_) bad |= (x - x == 0.0F) ? 0 : 1;
  return bad == 0;
}

double Softplus(double x) { return std::max(x, 0.0) + std::log1p(std::exp(-std::abs(x))); }

double LogSigmoid(double x) { return -Softplus(-x); }

namespace {

// out = in * factor, one GEMM per block of `block_rows` rows (all rows when 0).
template <class Factor>
void BlockedProduct(const MatrixRef& in, const Factor& factor, int block_rows, Matrix* out) {
  const Eigen::Index rows = in.rows();
  const Eigen::Index block = block_rows > 0 ? block_rows : std::max<Eigen::Index>(rows, 1);
  ZETA_CHECK(rows % block == 0, "the rows must be a whole number of blocks");
  for (Eigen::Index first = 0; first < rows; first += block) {
    out->middleRows(first, block).noalias() = in.middleRows(first, block) * factor;
  }
}

}  // namespace

void HiddenProbabilities(const Rbm& rbm, const MatrixRef& v, Matrix* p, float beta,
                         int block_rows) {
  ZETA_CHECK(v.cols() == rbm.visible(), "batch width must equal the visible units");
  // 0/1 states (data, samples, chains) take the sparse product; its rows are independent
  // of each other by construction.
  if (BinaryProduct(v, rbm.weights(), rbm.hidden_bias(), beta, Epilogue::kSigmoid, p)) return;
  p->resize(v.rows(), rbm.hidden());
  BlockedProduct(v, rbm.weights(), block_rows, p);
  BiasSigmoidRows(rbm.hidden_bias(), beta, p);
}

void VisibleProbabilities(const Rbm& rbm, const MatrixRef& h, Matrix* p, int block_rows) {
  ZETA_CHECK(h.cols() == rbm.hidden(), "batch width must equal the hidden units");
  if (BinaryProductTransposed(h, rbm.weights(), rbm.visible_bias(), 1.0F, Epilogue::kSigmoid, p)) {
    return;
  }
  p->resize(h.rows(), rbm.visible());
  BlockedProduct(h, rbm.weights().transpose(), block_rows, p);
  BiasSigmoidRows(rbm.visible_bias(), 1.0F, p);
}

Eigen::VectorXd FreeEnergy(const Rbm& rbm, const MatrixRef& v) {
  ZETA_CHECK(v.cols() == rbm.visible(), "batch width must equal the visible units");
  Matrix x = v * rbm.weights();
  x.rowwise() += rbm.hidden_bias().transpose();
  const Eigen::VectorXd hidden_term =
      SoftplusArray(x.array()).matrix().cast<double>().rowwise().sum();
  const Eigen::VectorXd visible_term = (v * rbm.visible_bias()).cast<double>();
  return -visible_term - hidden_term;
}

double Energy(const Rbm& rbm, std::span<const float> v, std::span<const float> h) {
  ZETA_CHECK(
      static_cast<int>(v.size()) == rbm.visible() && static_cast<int>(h.size()) == rbm.hidden(),
      "state sizes must match the model");
  const Eigen::Map<const Eigen::VectorXf> vv(v.data(), rbm.visible());
  const Eigen::Map<const Eigen::VectorXf> hh(h.data(), rbm.hidden());
  const Eigen::VectorXd vd = vv.cast<double>();
  const Eigen::VectorXd hd = hh.cast<double>();
  return -vd.dot(rbm.visible_bias().cast<double>()) - hd.dot(rbm.hidden_bias().cast<double>()) -
         vd.dot(rbm.weights().cast<double>() * hd);
}

Eigen::VectorXf BaseRateBias(std::span<const int64_t> ones_per_pixel, int64_t rows) {
  Eigen::VectorXf bias(static_cast<Eigen::Index>(ones_per_pixel.size()));
  for (std::size_t i = 0; i < ones_per_pixel.size(); ++i) {
    const double p =
        (static_cast<double>(ones_per_pixel[i]) + 1.0) / (static_cast<double>(rows) + 2.0);
    bias[static_cast<Eigen::Index>(i)] = static_cast<float>(std::log(p) - std::log1p(-p));
  }
  return bias;
}

void InitializeRbm(uint64_t seed, std::span<const int64_t> ones_per_pixel, int64_t rows, Rbm* rbm) {
  ZETA_CHECK(static_cast<int>(ones_per_pixel.size()) == rbm->visible(),
             "pixel counts must cover every visible unit");
  auto w = rbm->weights();
  for (int i = 0; i < rbm->visible(); ++i) {
    std::span<float> row(w.data() + static_cast<std::size_t>(i) * rbm->hidden(),
                         static_cast<std::size_t>(rbm->hidden()));
    FillNormal({.seed = seed, .stream = Stream::kWeightInit, .index = static_cast<uint64_t>(i)},
               row);
  }
  w *= 0.01F;
  rbm->hidden_bias().setZero();
  rbm->visible_bias() = BaseRateBias(ones_per_pixel, rows);
}

void BytesToBatch(std::span<const uint8_t> bytes, int cols, Matrix* batch) {
  ZETA_CHECK(cols > 0 && bytes.size() % static_cast<std::size_t>(cols) == 0,
             "byte rows must be whole");
  const auto rows = static_cast<Eigen::Index>(bytes.size() / static_cast<std::size_t>(cols));
  batch->resize(rows, cols);
  float* out = batch->data();
  for (std::size_t i = 0; i < bytes.size(); ++i) out[i] = static_cast<float>(bytes[i]);
}

void SampleRows(const Matrix& p, uint64_t seed, Stream stream, uint64_t first_index, uint64_t step,
                uint32_t sub, Matrix* out) {
  out->resize(p.rows(), p.cols());
  const auto cols = static_cast<std::size_t>(p.cols());
  for (Eigen::Index r = 0; r < p.rows(); ++r) {
    const StreamKey key{.seed = seed,
                        .stream = stream,
                        .index = first_index + static_cast<uint64_t>(r),
                        .step = step,
                        .sub = sub};
    SampleBernoulli(key, {p.data() + r * p.cols(), cols}, {out->data() + r * p.cols(), cols});
  }
}

}  // namespace zeta
