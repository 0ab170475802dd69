// Vectorised 0/1-matrix products and the sigmoid of the Gibbs hot path: AVX-512 when the
// compiler targets it, plain loops with the same order of additions otherwise.
#include "zeta/kernels.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "zeta/error.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#define ZETA_AVX512 1
#endif

namespace zeta {
namespace {

int kernel_threads = 1;

// Rows of a 0/1 matrix as lists of the columns that hold a 1: row r owns
// index[start[r] .. start[r + 1]), in increasing order.
struct ActiveSets {
  std::vector<uint32_t> index;
  std::vector<uint32_t> start;
  std::vector<uint32_t> cursor;  // workspace of Transpose
};

// Workspace reused by every call on this thread: no allocation once sized.
ActiveSets& Workspace(int which) {
  thread_local ActiveSets sets[3];
  return sets[which];
}

// Fills *sets with the ones of every row of x; false when an entry is neither 0 nor 1.
bool BuildRows(const MatrixRef& x, ActiveSets* sets) {
  const auto rows = static_cast<std::size_t>(x.rows());
  const auto cols = static_cast<uint32_t>(x.cols());
  sets->start.resize(rows + 1);
  sets->index.resize(rows * cols + 16);  // slack: the vector path stores 16 at a time
  uint32_t* out = sets->index.data();
  uint32_t n = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    sets->start[r] = n;
    const float* row = x.data() + static_cast<Eigen::Index>(r) * x.outerStride();
#ifdef ZETA_AVX512
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (uint32_t c = 0; c < cols; c += 16) {
      const uint32_t left = cols - c;
      const __mmask16 valid = left >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1U << left) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(valid, row + c);
      const __mmask16 one = _mm512_mask_cmp_ps_mask(valid, v, _mm512_set1_ps(1.0F), _CMP_EQ_OQ);
      const __mmask16 zero = _mm512_mask_cmp_ps_mask(valid, v, _mm512_setzero_ps(), _CMP_EQ_OQ);
      if (static_cast<__mmask16>(one | zero) != valid) return false;
      // Register compress, then a plain store: compress-to-memory is slow on some CPUs.
      const __m512i columns = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int>(c)));
      _mm512_storeu_si512(out + n, _mm512_maskz_compress_epi32(one, columns));
      n += static_cast<uint32_t>(__builtin_popcount(one));
    }
#else
    for (uint32_t c = 0; c < cols; ++c) {
      if (row[c] == 1.0F) {
        out[n++] = c;
      } else if (row[c] != 0.0F) {
        return false;
      }
    }
#endif
  }
  sets->start[rows] = n;
  return true;
}

// Column lists from row lists (a counting sort): column c owns the rows that hold a 1 in it,
// in increasing order.
void Transpose(const ActiveSets& rows, std::size_t row_count, uint32_t cols, ActiveSets* out) {
  const uint32_t ones = rows.start[row_count];
  out->start.assign(cols + 1, 0);
  for (uint32_t i = 0; i < ones; ++i) ++out->start[rows.index[i] + 1];
  for (uint32_t c = 0; c < cols; ++c) out->start[c + 1] += out->start[c];
  out->cursor.assign(out->start.begin(), out->start.end() - 1);
  out->index.resize(ones + 16);
  for (std::size_t r = 0; r < row_count; ++r) {
    for (uint32_t i = rows.start[r]; i < rows.start[r + 1]; ++i) {
      out->index[out->cursor[rows.index[i]]++] = static_cast<uint32_t>(r);
    }
  }
}

// Rows [first, last) of a range of `count` split into near-equal parts, one per thread.
std::pair<Eigen::Index, Eigen::Index> ThreadShare(Eigen::Index count) {
  const auto parts = static_cast<Eigen::Index>(omp_get_num_threads());
  const auto part = static_cast<Eigen::Index>(omp_get_thread_num());
  return {count * part / parts, count * (part + 1) / parts};
}

// Threads for `work` additions: small problems stay on one thread.
int ThreadsFor(double work) { return work < 2e5 ? 1 : kernel_threads; }

#ifdef ZETA_AVX512

constexpr int kLanes = 16;

// sigmoid(x) = 1 / (1 + e^-x). e^t for t = -x clamped to [-100, 100] (beyond, the result is
// 0 or 1 in float anyway) as 2^n e^r with n = round(t / ln 2), r = t - n ln 2 in two parts
// (|r| <= ln 2 / 2), e^r by its Taylor polynomial of degree 7 (truncation below 6e-9
// relative) and 2^n applied by scalef, which overflows to inf cleanly. NaN stays NaN.
inline __m512 Sigmoid16(__m512 x) {
  const __m512 lowest = _mm512_set1_ps(-100.0F);
  const __m512 highest = _mm512_set1_ps(100.0F);
  const __m512 t = _mm512_min_ps(highest, _mm512_max_ps(lowest, _mm512_sub_ps(_mm512_setzero_ps(), x)));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(t, _mm512_set1_ps(1.44269504088896341F)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125F), t);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-6F), r);
  __m512 poly = _mm512_set1_ps(1.0F / 5040.0F);
  poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(1.0F / 720.0F));
  poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(1.0F / 120.0F));
  poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(1.0F / 24.0F));
  poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(1.0F / 6.0F));
  poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(0.5F));
  poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(1.0F));
  poly = _mm512_fmadd_ps(poly, r, _mm512_set1_ps(1.0F));
  const __m512 e = _mm512_scalef_ps(poly, n);
  return _mm512_div_ps(_mm512_set1_ps(1.0F), _mm512_add_ps(_mm512_set1_ps(1.0F), e));
}

// Lanes of the kU vectors of a column block that lie inside the matrix.
template <int kU>
void BlockMasks(Eigen::Index first, Eigen::Index cols, __mmask16 (&masks)[kU]) {
  for (int u = 0; u < kU; ++u) {
    const Eigen::Index left = cols - first - Eigen::Index{u} * kLanes;
    masks[u] = left >= kLanes ? __mmask16{0xFFFF}
               : left <= 0    ? __mmask16{0}
                              : static_cast<__mmask16>((1U << left) - 1);
  }
}

// acc[u] += m[row, first + 16u ..] for every row in [begin, end): a sum of selected rows of
// one column block, full vectors or masked at the matrix edge.
template <int kU, bool kEdge>
inline void AddRows(const float* m, Eigen::Index stride, const uint32_t* begin,
                    const uint32_t* end, const __mmask16 (&masks)[kU], __m512 (&acc)[kU]) {
  for (const uint32_t* i = begin; i != end; ++i) {
    const float* row = m + static_cast<Eigen::Index>(*i) * stride;
    for (int u = 0; u < kU; ++u) {
      const __m512 x = kEdge ? _mm512_maskz_loadu_ps(masks[u], row + u * kLanes)
                             : _mm512_loadu_ps(row + u * kLanes);
      acc[u] = _mm512_add_ps(acc[u], x);
    }
  }
}

template <int kU, bool kEdge>
void ProductBlock(const ActiveSets& sets, Eigen::Index first_row, Eigen::Index last_row,
                  const MatrixRef& m, const float* bias, float beta, Eigen::Index c0,
                  Matrix* out) {
  __mmask16 masks[kU];
  BlockMasks<kU>(c0, m.cols(), masks);
  const __m512 scale = _mm512_set1_ps(beta);
  for (Eigen::Index r = first_row; r < last_row; ++r) {
    __m512 acc[kU];
    for (auto& a : acc) a = _mm512_setzero_ps();
    AddRows<kU, kEdge>(m.data() + c0, m.outerStride(), sets.index.data() + sets.start[r],
                       sets.index.data() + sets.start[r + 1], masks, acc);
    float* dst = out->data() + r * out->cols() + c0;
    for (int u = 0; u < kU; ++u) {
      const __m512 b = _mm512_maskz_loadu_ps(masks[u], bias + c0 + u * kLanes);
      const __m512 x = _mm512_mul_ps(_mm512_add_ps(acc[u], b), scale);
      _mm512_mask_storeu_ps(dst + u * kLanes, masks[u], Sigmoid16(x));
    }
  }
}

// Columns per block of the forward product: 8 vectors keep a block of m (k × 128 floats)
// in L2 while every row of x passes over it.
constexpr int kProductVectors = 8;

void Product(const ActiveSets& sets, Eigen::Index first_row, Eigen::Index last_row,
             const MatrixRef& m, const float* bias, float beta, Matrix* out) {
  constexpr Eigen::Index kBlock = kProductVectors * kLanes;
  for (Eigen::Index c0 = 0; c0 < m.cols(); c0 += kBlock) {
    if (c0 + kBlock <= m.cols()) {
      ProductBlock<kProductVectors, false>(sets, first_row, last_row, m, bias, beta, c0, out);
    } else {
      ProductBlock<kProductVectors, true>(sets, first_row, last_row, m, bias, beta, c0, out);
    }
  }
}

// Columns per block of the statistics: 4 vectors keep a block of p and of q (rows × 64
// floats each) near L1 while every column of a and b passes over it.
constexpr int kStatisticsVectors = 4;

template <int kU, bool kEdge>
void StatisticsBlock(const ActiveSets& a, const MatrixRef& p, const ActiveSets& b,
                     const MatrixRef& q, Eigen::Index first, Eigen::Index last, Eigen::Index c0,
                     Eigen::Ref<Matrix>* out) {
  __mmask16 masks[kU];
  BlockMasks<kU>(c0, p.cols(), masks);
  for (Eigen::Index i = first; i < last; ++i) {
    __m512 plus[kU];
    __m512 minus[kU];
    for (auto& x : plus) x = _mm512_setzero_ps();
    for (auto& x : minus) x = _mm512_setzero_ps();
    AddRows<kU, kEdge>(p.data() + c0, p.outerStride(), a.index.data() + a.start[i],
                       a.index.data() + a.start[i + 1], masks, plus);
    AddRows<kU, kEdge>(q.data() + c0, q.outerStride(), b.index.data() + b.start[i],
                       b.index.data() + b.start[i + 1], masks, minus);
    float* dst = out->data() + i * out->outerStride() + c0;
    for (int u = 0; u < kU; ++u) {
      _mm512_mask_storeu_ps(dst + u * kLanes, masks[u], _mm512_sub_ps(plus[u], minus[u]));
    }
  }
}

void Statistics(const ActiveSets& a, const MatrixRef& p, const ActiveSets& b, const MatrixRef& q,
                Eigen::Index first, Eigen::Index last, Eigen::Ref<Matrix>* out) {
  constexpr Eigen::Index kBlock = kStatisticsVectors * kLanes;
  for (Eigen::Index c0 = 0; c0 < p.cols(); c0 += kBlock) {
    if (c0 + kBlock <= p.cols()) {
      StatisticsBlock<kStatisticsVectors, false>(a, p, b, q, first, last, c0, out);
    } else {
      StatisticsBlock<kStatisticsVectors, true>(a, p, b, q, first, last, c0, out);
    }
  }
}

#else  // portable loops, same order of additions

inline float Sigmoid(float x) { return 1.0F / (1.0F + std::exp(-x)); }

void Product(const ActiveSets& sets, Eigen::Index first_row, Eigen::Index last_row,
             const MatrixRef& m, const float* bias, float beta, Matrix* out) {
  const Eigen::Index cols = m.cols();
  for (Eigen::Index r = first_row; r < last_row; ++r) {
    float* dst = out->data() + r * cols;
    std::fill(dst, dst + cols, 0.0F);
    for (uint32_t i = sets.start[r]; i < sets.start[r + 1]; ++i) {
      const float* row = m.data() + static_cast<Eigen::Index>(sets.index[i]) * m.outerStride();
      for (Eigen::Index c = 0; c < cols; ++c) dst[c] += row[c];
    }
    for (Eigen::Index c = 0; c < cols; ++c) dst[c] = Sigmoid((dst[c] + bias[c]) * beta);
  }
}

void Statistics(const ActiveSets& a, const MatrixRef& p, const ActiveSets& b, const MatrixRef& q,
                Eigen::Index first, Eigen::Index last, Eigen::Ref<Matrix>* out) {
  const Eigen::Index cols = p.cols();
  thread_local std::vector<float> minus;
  minus.resize(static_cast<std::size_t>(cols));
  for (Eigen::Index i = first; i < last; ++i) {
    float* dst = out->data() + i * out->outerStride();
    std::fill(dst, dst + cols, 0.0F);
    std::fill(minus.begin(), minus.end(), 0.0F);
    for (uint32_t j = a.start[i]; j < a.start[i + 1]; ++j) {
      const float* row = p.data() + static_cast<Eigen::Index>(a.index[j]) * p.outerStride();
      for (Eigen::Index c = 0; c < cols; ++c) dst[c] += row[c];
    }
    for (uint32_t j = b.start[i]; j < b.start[i + 1]; ++j) {
      const float* row = q.data() + static_cast<Eigen::Index>(b.index[j]) * q.outerStride();
      for (Eigen::Index c = 0; c < cols; ++c) minus[c] += row[c];
    }
    for (Eigen::Index c = 0; c < cols; ++c) dst[c] -= minus[static_cast<std::size_t>(c)];
  }
}

#endif

}  // namespace

void SetKernelThreads(int threads) { kernel_threads = std::max(threads, 1); }

bool IsBinary(const MatrixRef& x) {
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    for (Eigen::Index c = 0; c < x.cols(); ++c) {
      const float v = x(r, c);
      if (v != 0.0F && v != 1.0F) return false;
    }
  }
  return true;
}

bool BinaryProductSigmoid(const MatrixRef& x, const MatrixRef& m,
                          const Eigen::Ref<const Eigen::VectorXf>& bias, float beta,
                          Matrix* out) {
  ZETA_CHECK(x.cols() == m.rows() && bias.size() == m.cols(),
             "product shapes must agree: x [rows, k], m [k, n], bias [n]");
  ActiveSets& sets = Workspace(0);
  if (!BuildRows(x, &sets)) return false;
  out->resize(x.rows(), m.cols());
  const Eigen::Index rows = x.rows();
  const double work = static_cast<double>(sets.start[static_cast<std::size_t>(rows)]) *
                      static_cast<double>(m.cols());
#pragma omp parallel num_threads(ThreadsFor(work))
  {
    const auto [first, last] = ThreadShare(rows);
    Product(sets, first, last, m, bias.data(), beta, out);
  }
  return true;
}

bool BinaryWeightStatistics(const MatrixRef& a, const MatrixRef& p, const MatrixRef& b,
                            const MatrixRef& q, Eigen::Ref<Matrix> out) {
  ZETA_CHECK(a.rows() == p.rows() && b.rows() == q.rows() && a.cols() == b.cols() &&
                 p.cols() == q.cols() && out.rows() == a.cols() && out.cols() == p.cols(),
             "statistics shapes must agree: a, b [rows, k], p, q [rows, n], out [k, n]");
  ActiveSets& rows = Workspace(0);
  ActiveSets& a_columns = Workspace(1);
  ActiveSets& b_columns = Workspace(2);
  const auto k = static_cast<uint32_t>(a.cols());
  if (!BuildRows(a, &rows)) return false;
  Transpose(rows, static_cast<std::size_t>(a.rows()), k, &a_columns);
  if (!BuildRows(b, &rows)) return false;
  Transpose(rows, static_cast<std::size_t>(b.rows()), k, &b_columns);
  const double work = static_cast<double>(a_columns.start[k] + b_columns.start[k]) *
                      static_cast<double>(p.cols());
#pragma omp parallel num_threads(ThreadsFor(work))
  {
    const auto [first, last] = ThreadShare(a.cols());
    Statistics(a_columns, p, b_columns, q, first, last, &out);
  }
  return true;
}

void BiasSigmoidRows(const Eigen::Ref<const Eigen::VectorXf>& bias, float beta, Matrix* x) {
  ZETA_CHECK(bias.size() == x->cols(), "bias size must equal the columns");
  const Eigen::Index rows = x->rows();
  const Eigen::Index cols = x->cols();
#pragma omp parallel num_threads(ThreadsFor(static_cast<double>(rows) * cols * 8))
  {
    const auto [first, last] = ThreadShare(rows);
    for (Eigen::Index r = first; r < last; ++r) {
      float* row = x->data() + r * cols;
#ifdef ZETA_AVX512
      for (Eigen::Index c = 0; c < cols; c += kLanes) {
        const Eigen::Index left = cols - c;
        const __mmask16 valid =
            left >= kLanes ? __mmask16{0xFFFF} : static_cast<__mmask16>((1U << left) - 1);
        const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(valid, row + c),
                                       _mm512_maskz_loadu_ps(valid, bias.data() + c));
        _mm512_mask_storeu_ps(row + c, valid, Sigmoid16(_mm512_mul_ps(v, _mm512_set1_ps(beta))));
      }
#else
      for (Eigen::Index c = 0; c < cols; ++c) row[c] = Sigmoid((row[c] + bias[c]) * beta);
#endif
    }
  }
}

}  // namespace zeta
