// The RBM's energy, free energy and conditionals against exact enumeration of a tiny model.
#include "zeta/model.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "zeta/random.hpp"

namespace zeta {
namespace {

constexpr int kVisible = 6;
constexpr int kHidden = 4;

// A tiny RBM with weights large enough that the conditionals are far from 1/2.
Rbm TinyRbm(uint64_t seed, float scale = 1.0F) {
  Rbm rbm(kVisible, kHidden);
  std::vector<float> noise(rbm.parameters().size());
  FillNormal({.seed = seed, .stream = Stream::kWeightInit}, noise);
  for (std::size_t i = 0; i < noise.size(); ++i) rbm.parameters()[i] = scale * noise[i];
  return rbm;
}

// Bits of `state` as a float vector of length n.
std::vector<float> Bits(uint32_t state, int n) {
  std::vector<float> out(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = (state >> i) & 1U ? 1.0F : 0.0F;
  return out;
}

Matrix AllVisibleStates() {
  Matrix v(1 << kVisible, kVisible);
  for (int s = 0; s < (1 << kVisible); ++s) {
    const auto bits = Bits(static_cast<uint32_t>(s), kVisible);
    for (int i = 0; i < kVisible; ++i) v(s, i) = bits[static_cast<std::size_t>(i)];
  }
  return v;
}

TEST(FreeEnergy, EqualsMinusLogSumOverHiddenStates) {
  const Rbm rbm = TinyRbm(3);
  const Matrix v = AllVisibleStates();
  const Eigen::VectorXd f = FreeEnergy(rbm, v);
  for (int s = 0; s < v.rows(); ++s) {
    const auto vs = Bits(static_cast<uint32_t>(s), kVisible);
    double sum = 0.0;
    for (uint32_t h = 0; h < (1U << kHidden); ++h)
      sum += std::exp(-Energy(rbm, vs, Bits(h, kHidden)));
    // Float parameters, double accumulation: agreement to float rounding of the sums.
    EXPECT_NEAR(f[s], -std::log(sum), 1e-5) << "visible state " << s;
  }
}

TEST(Conditionals, MatchEnumeration) {
  const Rbm rbm = TinyRbm(5);
  const Matrix v = AllVisibleStates();
  Matrix ph;
  HiddenProbabilities(rbm, v, &ph);
  for (int s = 0; s < v.rows(); ++s) {
    const auto vs = Bits(static_cast<uint32_t>(s), kVisible);
    std::vector<double> on(kHidden, 0.0);
    double total = 0.0;
    for (uint32_t h = 0; h < (1U << kHidden); ++h) {
      const double w = std::exp(-Energy(rbm, vs, Bits(h, kHidden)));
      total += w;
      for (int j = 0; j < kHidden; ++j) on[static_cast<std::size_t>(j)] += ((h >> j) & 1U) * w;
    }
    for (int j = 0; j < kHidden; ++j) {
      EXPECT_NEAR(ph(s, j), on[static_cast<std::size_t>(j)] / total, 1e-6);
    }
  }
  // p(v|h) by enumeration over v for every hidden state.
  Matrix h(1 << kHidden, kHidden);
  for (int s = 0; s < h.rows(); ++s) {
    const auto bits = Bits(static_cast<uint32_t>(s), kHidden);
    for (int j = 0; j < kHidden; ++j) h(s, j) = bits[static_cast<std::size_t>(j)];
  }
  Matrix pv;
  VisibleProbabilities(rbm, h, &pv);
  for (int s = 0; s < h.rows(); ++s) {
    const auto hs = Bits(static_cast<uint32_t>(s), kHidden);
    std::vector<double> on(kVisible, 0.0);
    double total = 0.0;
    for (uint32_t vv = 0; vv < (1U << kVisible); ++vv) {
      const double w = std::exp(-Energy(rbm, Bits(vv, kVisible), hs));
      total += w;
      for (int i = 0; i < kVisible; ++i) on[static_cast<std::size_t>(i)] += ((vv >> i) & 1U) * w;
    }
    for (int i = 0; i < kVisible; ++i) {
      EXPECT_NEAR(pv(s, i), on[static_cast<std::size_t>(i)] / total, 1e-6);
    }
  }
}

TEST(StableForm, ExtremePreActivationsGiveFiniteExactValues) {
  // One visible and two hidden units with pre-activations of +1000 and -1000.
  Rbm rbm(1, 2);
  rbm.weights()(0, 0) = 1000.0F;
  rbm.weights()(0, 1) = -1000.0F;
  rbm.visible_bias()[0] = 0.0F;
  Matrix v(1, 1);
  v(0, 0) = 1.0F;
  Matrix ph;
  HiddenProbabilities(rbm, v, &ph);
  EXPECT_EQ(ph(0, 0), 1.0F);
  EXPECT_EQ(ph(0, 1), 0.0F);
  // F(v) = -softplus(1000) - softplus(-1000) = -1000 - e^-1000.
  const Eigen::VectorXd f = FreeEnergy(rbm, v);
  EXPECT_TRUE(std::isfinite(f[0]));
  EXPECT_DOUBLE_EQ(f[0], -1000.0);
  EXPECT_DOUBLE_EQ(Softplus(1000.0), 1000.0);
  EXPECT_DOUBLE_EQ(Softplus(-1000.0), 0.0);
  EXPECT_NEAR(Softplus(-30.0), std::exp(-30.0), 1e-20);
  EXPECT_DOUBLE_EQ(LogSigmoid(-1000.0), -1000.0);
  Matrix h(1, 2);
  h << 1.0F, 0.0F;
  Matrix pv;
  VisibleProbabilities(rbm, h, &pv);
  EXPECT_EQ(pv(0, 0), 1.0F);
}

TEST(BaseRateBias, ConstantPixelsGetFiniteBiases) {
  const std::vector<int64_t> ones = {0, 100, 50};
  const Eigen::VectorXf b = BaseRateBias(ones, 100);
  EXPECT_TRUE(b.allFinite());
  EXPECT_NEAR(b[0], std::log(1.0 / 101.0), 1e-5);  // logit(1/102)
  EXPECT_NEAR(b[1], std::log(101.0), 1e-5);
  EXPECT_NEAR(b[2], 0.0, 1e-6);
}

TEST(Initialization, WeightsHaveTheConfiguredScale) {
  Rbm rbm(200, 100);
  const std::vector<int64_t> ones(200, 30);
  InitializeRbm(9, ones, 100, &rbm);
  const auto w = rbm.weights();
  const double mean = w.cast<double>().mean();
  const double sd = std::sqrt((w.cast<double>().array() - mean).square().mean());
  // 20,000 draws: the sample sd of N(0, 0.01^2) is within 2% of 0.01 with overwhelming odds.
  EXPECT_NEAR(sd, 0.01, 2e-4);
  EXPECT_NEAR(mean, 0.0, 5e-4);
  EXPECT_TRUE(rbm.hidden_bias().isZero());
  EXPECT_NEAR(rbm.visible_bias()[0], std::log(31.0 / 71.0), 1e-5);
}

// The negative phase of the CD/PCD gradient is the model expectation <v h^T>. A long block
// Gibbs chain of the library's own sampling steps must converge to its exact value.
TEST(GradientStatistics, LongChainsConvergeToExactModelExpectation) {
  const Rbm rbm = TinyRbm(11, 0.8F);
  // Exact <v_i p(h_j = 1 | v)> = <v_i h_j> under the model, by enumeration.
  const Matrix all = AllVisibleStates();
  const Eigen::VectorXd f = FreeEnergy(rbm, all);
  Matrix ph_all;
  HiddenProbabilities(rbm, all, &ph_all);
  const double f_min = f.minCoeff();
  Eigen::VectorXd weight = (-(f.array() - f_min)).exp();
  weight /= weight.sum();
  const MatrixD exact =
      all.cast<double>().transpose() * weight.asDiagonal() * ph_all.cast<double>();

  constexpr int kChains = 2000;
  constexpr int kBurnIn = 50;
  constexpr int kSweeps = 250;
  Matrix v(kChains, kVisible);
  v.setZero();
  Matrix ph, h, pv;
  MatrixD estimate = MatrixD::Zero(kVisible, kHidden);
  for (int t = 0; t < kBurnIn + kSweeps; ++t) {
    HiddenProbabilities(rbm, v, &ph);
    if (t >= kBurnIn) estimate += v.cast<double>().transpose() * ph.cast<double>();
    SampleRows(ph, 1, Stream::kHidden, 0, static_cast<uint64_t>(t), 0, &h);
    VisibleProbabilities(rbm, h, &pv);
    SampleRows(pv, 1, Stream::kVisible, 0, static_cast<uint64_t>(t), 0, &v);
  }
  estimate /= static_cast<double>(kChains) * kSweeps;
  // 500,000 correlated draws of a [0, 1] quantity: standard error well below 0.003; a
  // wrong conditional or sampler is off by more than 0.01.
  EXPECT_LT((estimate - exact).cwiseAbs().maxCoeff(), 0.01) << "estimate\n"
                                                            << estimate << "\nexact\n"
                                                            << exact;
}

}  // namespace
}  // namespace zeta
