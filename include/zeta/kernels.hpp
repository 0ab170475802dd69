// Vectorised kernels of the Gibbs hot path: products of 0/1 matrices with float matrices
// that add only the rows a 1 selects, and a logistic sigmoid with the same bits for every
// entry. Each output row depends on its input row alone, in a fixed order, so results do not
// depend on the batch size, the rank layout or the thread count.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <span>

#include "zeta/model.hpp"

namespace zeta {

// True when every entry of x is exactly 0 or 1.
[[nodiscard]] bool IsBinary(const MatrixRef& x);

// What a product does to beta (x m + bias) before it is stored.
enum class Epilogue { kLinear, kSigmoid };

// out = f(beta (x m + bias)) row by row (f the identity or the sigmoid), for x [rows, k] with
// entries 0 or 1, m [k, n] and bias [n]. Row r of x m is the sum of the rows of m that row r
// of x selects, added in increasing order, or, when more than half of its entries are 1, the
// column sums of m minus the rows it leaves out: its cost is min(ones, zeros) × n additions
// instead of 2 k n flops. Returns false, leaving *out untouched, when x has an entry other
// than 0 or 1.
[[nodiscard]] bool BinaryProduct(const MatrixRef& x, const MatrixRef& m,
                                 const Eigen::Ref<const Eigen::VectorXf>& bias, float beta,
                                 Epilogue epilogue, Matrix* out);

// The same for the transposed factor, out = f(beta (x mtᵀ + bias)) with mt [n, k]: mt is
// transposed into a workspace first (k n copies, a small share of the product).
[[nodiscard]] bool BinaryProductTransposed(const MatrixRef& x, const MatrixRef& mt,
                                           const Eigen::Ref<const Eigen::VectorXf>& bias,
                                           float beta, Epilogue epilogue, Matrix* out);

// out = aᵀ p − bᵀ q for a, b [rows, k] with entries 0 or 1 and p, q [rows, n]: row i of out
// is the sum of the rows of p at which column i of a holds a 1, minus the same for b and q.
// When p and q lie on a grid 2^-f and every partial sum stays below 2^(24-f) in magnitude,
// each sum is exact in float and so independent of order and layout. Returns false, leaving
// *out untouched, when a or b has an entry other than 0 or 1 (or the shapes differ).
[[nodiscard]] bool BinaryWeightStatistics(const MatrixRef& a, const MatrixRef& p,
                                          const MatrixRef& b, const MatrixRef& q,
                                          Eigen::Ref<Matrix> out);

// The same straight into fixed point: out[i n + j] = (aᵀp − bᵀq)[i, j] · 2^fraction_bits,
// exact when p and q lie on the 2^-fraction_bits grid as above (the trainer's gradient, ready
// for the exact sum over ranks without a float copy). Returns nullopt, leaving out untouched,
// when a or b has an entry other than 0 or 1; otherwise whether every value was finite and
// below 2^30 in magnitude (those that were not are stored as 0), as ToFixedPoint.
[[nodiscard]] std::optional<bool> BinaryWeightStatisticsFixed(const MatrixRef& a,
                                                              const MatrixRef& p,
                                                              const MatrixRef& b,
                                                              const MatrixRef& q, int fraction_bits,
                                                              std::span<int32_t> out);

// x <- sigmoid(beta (x + bias)) row by row for x [rows, n] and bias [n]; every entry goes
// through the same instructions whatever its position, so rows do not depend on each other.
void BiasSigmoidRows(const Eigen::Ref<const Eigen::VectorXf>& bias, float beta, Matrix* x);

// The threads the kernels split their rows over (set by SetComputeThreads).
void SetKernelThreads(int threads);

}  // namespace zeta
