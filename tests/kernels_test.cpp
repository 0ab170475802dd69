// The hot-path kernels against double-precision references: the sparse product with its
// sigmoid, the exact weight statistics, the sigmoid over its whole range, and the
// independence of every row from its batch and from the thread count.
#include "zeta/kernels.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "zeta/model.hpp"
#include "zeta/random.hpp"

namespace zeta {
namespace {

// Shapes that are not multiples of the kernels' 16-lane vectors or 128-column blocks.
constexpr int kRows = 37;
constexpr int kVisible = 67;
constexpr int kHidden = 150;

Matrix Uniform(int rows, int cols, uint64_t seed) {
  Matrix m(rows, cols);
  FillUniform({.seed = seed, .stream = Stream::kSample},
              {m.data(), static_cast<std::size_t>(m.size())});
  return m;
}

Matrix Bits(int rows, int cols, double ones, uint64_t seed) {
  Matrix m = Uniform(rows, cols, seed);
  return (m.array() < static_cast<float>(ones)).cast<float>();
}

Matrix Normal(int rows, int cols, float scale, uint64_t seed) {
  Matrix m(rows, cols);
  FillNormal({.seed = seed, .stream = Stream::kWeightInit},
             {m.data(), static_cast<std::size_t>(m.size())});
  return m * scale;
}

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

TEST(BinaryProduct, MatchesTheDenseConditionalInDouble) {
  const Matrix x = Bits(kRows, kVisible, 0.3, 1);
  const Matrix m = Normal(kVisible, kHidden, 1.0F, 2);
  const Eigen::VectorXf bias = Normal(kHidden, 1, 1.0F, 3);
  const float beta = 0.7F;
  Matrix out;
  ASSERT_TRUE(BinaryProduct(x, m, bias, beta, Epilogue::kSigmoid, &out));
  ASSERT_EQ(out.rows(), kRows);
  ASSERT_EQ(out.cols(), kHidden);
  const Eigen::MatrixXd exact = x.cast<double>() * m.cast<double>();
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kHidden; ++c) {
      const double want = Sigmoid(beta * (exact(r, c) + bias[c]));
      // About 20 float additions of terms near 1 (error below 20 × 2^-24 × 4 in the
      // argument), a sigmoid slope at most 1/4, and a few ulp of the sigmoid itself.
      EXPECT_NEAR(out(r, c), want, 2e-6) << "row " << r << " column " << c;
    }
  }
}

TEST(BinaryProduct, DenseRowsAndTheTransposedFactorGiveTheSameProduct) {
  // Rows with more ones than zeros are summed as column sums minus the rows left out.
  const Matrix x = Bits(kRows, kVisible, 0.8, 16);
  const Matrix m = Normal(kVisible, kHidden, 1.0F, 17);
  const Eigen::VectorXf bias = Normal(kHidden, 1, 1.0F, 18);
  Matrix linear;
  ASSERT_TRUE(BinaryProduct(x, m, bias, 1.0F, Epilogue::kLinear, &linear));
  const Eigen::MatrixXd exact =
      (x.cast<double>() * m.cast<double>()).rowwise() + bias.cast<double>().transpose();
  // Column sums of 67 terms of size 1 minus about 13 of them: each float partial sum is
  // rounded to 2^-24 of at most 16, so the error stays far below 1e-4.
  EXPECT_LT((linear.cast<double>() - exact).cwiseAbs().maxCoeff(), 1e-4);
  const Matrix mt = m.transpose();
  Matrix transposed;
  ASSERT_TRUE(BinaryProductTransposed(x, mt, bias, 1.0F, Epilogue::kLinear, &transposed));
  EXPECT_TRUE((transposed.array() == linear.array()).all());
}

TEST(BinaryProduct, RowsDoNotDependOnTheBatchOrTheThreads) {
  Matrix x = Bits(kRows, kVisible, 0.3, 4);
  x.bottomRows(10) = Bits(10, kVisible, 0.9, 19);  // listed by their zeros
  const Matrix m = Normal(kVisible, kHidden, 1.0F, 5);
  const Eigen::VectorXf bias = Normal(kHidden, 1, 1.0F, 6);
  Matrix whole;
  ASSERT_TRUE(BinaryProduct(x, m, bias, 1.0F, Epilogue::kSigmoid, &whole));
  for (const auto& [first, count] : {std::pair{0, 1}, {5, 8}, {36, 1}, {10, 27}}) {
    Matrix part;
    ASSERT_TRUE(
        BinaryProduct(x.middleRows(first, count), m, bias, 1.0F, Epilogue::kSigmoid, &part));
    EXPECT_TRUE((part.array() == whole.middleRows(first, count).array()).all())
        << count << " rows from row " << first;
  }
  // Large enough for the kernels to use both threads.
  const Matrix big_x = Bits(400, 300, 0.3, 7);
  const Matrix big_m = Normal(300, 200, 1.0F, 8);
  const Eigen::VectorXf big_bias = Normal(200, 1, 1.0F, 9);
  Matrix one;
  Matrix two;
  SetKernelThreads(1);
  ASSERT_TRUE(BinaryProduct(big_x, big_m, big_bias, 1.0F, Epilogue::kSigmoid, &one));
  SetKernelThreads(2);
  ASSERT_TRUE(BinaryProduct(big_x, big_m, big_bias, 1.0F, Epilogue::kSigmoid, &two));
  SetKernelThreads(1);
  EXPECT_TRUE((one.array() == two.array()).all());
}

TEST(BinaryProduct, RefusesEntriesOtherThanZeroAndOne) {
  Matrix x = Bits(kRows, kVisible, 0.3, 10);
  x(20, 33) = 0.5F;
  const Matrix m = Normal(kVisible, kHidden, 1.0F, 11);
  const Eigen::VectorXf bias = Eigen::VectorXf::Zero(kHidden);
  Matrix out = Matrix::Constant(2, 3, 7.0F);
  EXPECT_FALSE(BinaryProduct(x, m, bias, 1.0F, Epilogue::kSigmoid, &out));
  EXPECT_EQ(out.rows(), 2);  // untouched
  EXPECT_FALSE(IsBinary(x));
  x(20, 33) = 1.0F;
  EXPECT_TRUE(IsBinary(x));

  // The model's conditional falls back to the dense product for such rows.
  Rbm rbm(kVisible, kHidden);
  rbm.weights() = m;
  x(20, 33) = 0.5F;
  Matrix p;
  HiddenProbabilities(rbm, x, &p);
  const Eigen::MatrixXd exact = x.cast<double>() * m.cast<double>();
  // A dense float product of 67 terms: error far below 1e-5 in the argument.
  EXPECT_NEAR(p(20, 0), Sigmoid(exact(20, 0)), 2e-6);
}

TEST(WeightStatistics, AreTheExactSumsOnTheGrid) {
  const int rows = 100;
  const Matrix a = Bits(rows, kVisible, 0.3, 12);
  const Matrix b = Bits(rows, kVisible, 0.4, 13);
  // The trainer's grid for batch 100: 2^-16 (24 bits less log2 of twice the rows).
  const float grid = 65536.0F;
  const Matrix p = (Uniform(rows, kHidden, 14).array() * grid).round() / grid;
  const Matrix q = (Uniform(rows, kHidden, 15).array() * grid).round() / grid;
  Matrix out(kVisible, kHidden);
  ASSERT_TRUE(BinaryWeightStatistics(a, p, b, q, out));
  const Eigen::MatrixXd exact = a.cast<double>().transpose() * p.cast<double>() -
                                b.cast<double>().transpose() * q.cast<double>();
  EXPECT_TRUE((out.cast<double>().array() == exact.array()).all());
  Matrix dense = a.transpose() * p;
  dense -= b.transpose() * q;
  EXPECT_TRUE((out.array() == dense.array()).all());

  Matrix c = a;
  c(3, 4) = 2.0F;
  EXPECT_FALSE(BinaryWeightStatistics(c, p, b, q, out));

  // The fixed-point form holds the same sums times 2^16, exactly.
  std::vector<int32_t> fixed(static_cast<std::size_t>(kVisible) * kHidden);
  const auto fine = BinaryWeightStatisticsFixed(a, p, b, q, 16, fixed);
  ASSERT_TRUE(fine.has_value());
  EXPECT_TRUE(*fine);
  for (int i = 0; i < kVisible; ++i) {
    for (int j = 0; j < kHidden; ++j) {
      ASSERT_EQ(fixed[static_cast<std::size_t>(i) * kHidden + j], std::ldexp(exact(i, j), 16));
    }
  }
  EXPECT_FALSE(BinaryWeightStatisticsFixed(c, p, b, q, 16, fixed).has_value());
  Matrix broken = p;
  broken(0, 0) = std::numeric_limits<float>::quiet_NaN();
  const auto flagged = BinaryWeightStatisticsFixed(a, broken, b, q, 16, fixed);
  ASSERT_TRUE(flagged.has_value());
  EXPECT_FALSE(*flagged);
}

TEST(Sigmoid, AccurateOverItsRangeAndSaturatesCleanly) {
  const int n = 60001;
  Matrix x(1, n);
  for (int i = 0; i < n; ++i) x(0, i) = -30.0F + 60.0F * static_cast<float>(i) / (n - 1);
  const Eigen::VectorXf zero = Eigen::VectorXf::Zero(n);
  Matrix p = x;
  BiasSigmoidRows(zero, 1.0F, &p);
  double worst = 0.0;
  for (int i = 0; i < n; ++i) {
    const double want = Sigmoid(x(0, i));
    worst = std::max(worst, std::abs(p(0, i) - want) / want);
  }
  // A few float ulp (2^-24 = 6e-8 each): the polynomial, 2^n scaling and the division.
  EXPECT_LT(worst, 4e-7);

  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> extremes = {-inf, -1e30F, -100.0F, 0.0F, 100.0F, 1e30F, inf};
  const std::vector<float> want = {0.0F, 0.0F, 0.0F, 0.5F, 1.0F, 1.0F, 1.0F};
  Matrix e(1, 8);
  for (std::size_t i = 0; i < extremes.size(); ++i)
    e(0, static_cast<Eigen::Index>(i)) = extremes[i];
  e(0, 7) = std::numeric_limits<float>::quiet_NaN();
  BiasSigmoidRows(Eigen::VectorXf::Zero(8), 1.0F, &e);
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(e(0, static_cast<Eigen::Index>(i)), want[i]) << "sigmoid(" << extremes[i] << ")";
  }
  EXPECT_TRUE(std::isnan(e(0, 7)));
}

}  // namespace
}  // namespace zeta
