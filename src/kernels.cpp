// Vectorised 0/1-matrix products and the sigmoid of the Gibbs hot path: AVX-512 when the
// compiler targets it, plain loops with the same order of additions otherwise.
#include "zeta/kernels.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "zeta/error.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#define ZETA_AVX512 1
#endif

namespace zeta {
namespace {

int kernel_threads = 1;

// Room past the end of an index list: the vector path stores 16 indices at a time.
constexpr std::size_t kVectorSlack = 16;

// Rows of a 0/1 matrix as lists of columns: row r owns index[start[r] .. start[r + 1]), in
// increasing order; the columns that hold a 1, or those that hold a 0 when complement[r].
struct ActiveSets {
  std::vector<uint32_t> index;
  std::vector<uint32_t> start;
  std::vector<uint8_t> complement;
  std::vector<uint32_t> cursor;  // workspace of Transpose
  bool any_complement = false;
};

// Workspace reused by every call on this thread: no allocation once sized.
struct Workspace {
  ActiveSets rows;
  ActiveSets b_rows;
  ActiveSets columns;
  Matrix transposed;
  Matrix stacked;
  Eigen::VectorXf column_sums;
};

Workspace& Scratch() {
  thread_local Workspace workspace;
  return workspace;
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

inline __mmask16 FirstLanes(Eigen::Index count) {
  return count >= kLanes ? __mmask16{0xFFFF}
         : count <= 0    ? __mmask16{0}
                         : static_cast<__mmask16>((1U << count) - 1);
}
#endif

// Appends to out the columns of row[0, cols) equal to `value` (0 or 1); returns how many,
// or -1 when the row holds something other than 0 and 1.
int64_t Compress(const float* row, uint32_t cols, float value, uint32_t* out) {
  uint32_t n = 0;
#ifdef ZETA_AVX512
  const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  for (uint32_t c = 0; c < cols; c += kLanes) {
    const __mmask16 valid = FirstLanes(cols - c);
    const __m512 v = _mm512_maskz_loadu_ps(valid, row + c);
    const __mmask16 one = _mm512_mask_cmp_ps_mask(valid, v, _mm512_set1_ps(1.0F), _CMP_EQ_OQ);
    const __mmask16 zero = _mm512_mask_cmp_ps_mask(valid, v, _mm512_setzero_ps(), _CMP_EQ_OQ);
    if (static_cast<__mmask16>(one | zero) != valid) return -1;
    const __mmask16 take = value == 1.0F ? one : zero;
    // Register compress, then a plain store: compress-to-memory is slow on some CPUs.
    const __m512i columns = _mm512_add_epi32(lane, _mm512_set1_epi32(static_cast<int>(c)));
    _mm512_storeu_si512(out + n, _mm512_maskz_compress_epi32(take, columns));
    n += static_cast<uint32_t>(__builtin_popcount(take));
  }
#else
  for (uint32_t c = 0; c < cols; ++c) {
    if (row[c] != 0.0F && row[c] != 1.0F) return -1;
    if (row[c] == value) out[n++] = c;
  }
#endif
  return n;
}

// Fills *sets from the rows of x, listing the zeros of a row with more ones than zeros when
// `complement` allows it; false when an entry is neither 0 nor 1.
bool BuildRows(const MatrixRef& x, bool complement, ActiveSets* sets) {
  const auto rows = static_cast<std::size_t>(x.rows());
  const auto cols = static_cast<uint32_t>(x.cols());
  sets->start.resize(rows + 1);
  sets->complement.assign(rows, 0);
  sets->any_complement = false;
  sets->index.resize(rows * cols + kVectorSlack);
  uint32_t n = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    sets->start[r] = n;
    const float* row = x.data() + static_cast<Eigen::Index>(r) * x.outerStride();
    int64_t found = Compress(row, cols, 1.0F, sets->index.data() + n);
    if (found < 0) return false;
    if (complement && 2 * found > cols) {
      found = Compress(row, cols, 0.0F, sets->index.data() + n);
      sets->complement[r] = 1;
      sets->any_complement = true;
    }
    n += static_cast<uint32_t>(found);
  }
  sets->start[rows] = n;
  return true;
}

// Column lists of the matrix [a; b] from the (direct) row lists of a and b, a counting sort:
// column c owns the rows of a, then the rows of b offset by a's row count, that hold a 1 in
// it, in increasing order.
void TransposeStacked(const ActiveSets& a, std::size_t a_rows, const ActiveSets& b,
                      std::size_t b_rows, uint32_t cols, ActiveSets* out) {
  const uint32_t a_ones = a.start[a_rows];
  const uint32_t b_ones = b.start[b_rows];
  out->start.assign(cols + 1, 0);
  for (uint32_t i = 0; i < a_ones; ++i) ++out->start[a.index[i] + 1];
  for (uint32_t i = 0; i < b_ones; ++i) ++out->start[b.index[i] + 1];
  for (uint32_t c = 0; c < cols; ++c) out->start[c + 1] += out->start[c];
  out->cursor.assign(out->start.begin(), out->start.end() - 1);
  out->index.resize(a_ones + b_ones + kVectorSlack);
  for (std::size_t r = 0; r < a_rows; ++r) {
    for (uint32_t i = a.start[r]; i < a.start[r + 1]; ++i) {
      out->index[out->cursor[a.index[i]]++] = static_cast<uint32_t>(r);
    }
  }
  for (std::size_t r = 0; r < b_rows; ++r) {
    for (uint32_t i = b.start[r]; i < b.start[r + 1]; ++i) {
      out->index[out->cursor[b.index[i]]++] = static_cast<uint32_t>(a_rows + r);
    }
  }
}

#ifdef ZETA_AVX512
// out[c, r] = in[r, c] for an 8 × 8 tile: unpack pairs, shuffle quads, swap 128-bit halves.
inline void Transpose8(const float* in, Eigen::Index in_stride, float* out,
                       Eigen::Index out_stride) {
  __m256 r[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(in + i * in_stride);
  __m256 t[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  __m256 q[8];
  for (int i = 0; i < 2; ++i) {
    q[4 * i] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    q[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
    q[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    q[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    _mm256_storeu_ps(out + i * out_stride, _mm256_permute2f128_ps(q[i], q[i + 4], 0x20));
    _mm256_storeu_ps(out + (i + 4) * out_stride, _mm256_permute2f128_ps(q[i], q[i + 4], 0x31));
  }
}
#endif

// *out = mᵀ: 8 × 8 tiles in groups that stay in L1, groups of rows split over the threads,
// then the edge rows and columns one by one.
void TransposeInto(const MatrixRef& m, Matrix* out) {
  const Eigen::Index rows = m.rows();
  const Eigen::Index cols = m.cols();
  out->resize(cols, rows);
  const float* in = m.data();
  const Eigen::Index in_stride = m.outerStride();
  float* dst = out->data();
#ifdef ZETA_AVX512
  constexpr Eigen::Index kTile = 8;
  constexpr Eigen::Index kGroup = 32;
  const Eigen::Index whole_rows = rows / kTile * kTile;
  const Eigen::Index whole_cols = cols / kTile * kTile;
  const Eigen::Index groups = (whole_rows + kGroup - 1) / kGroup;
#pragma omp parallel num_threads(ThreadsFor(static_cast <double>(m.size())))
  {
    const auto [first, last] = ThreadShare(groups);
    for (Eigen::Index r0 = first * kGroup; r0 < std::min(last * kGroup, whole_rows); r0 += kGroup) {
      for (Eigen::Index c0 = 0; c0 < whole_cols; c0 += kGroup) {
        for (Eigen::Index r = r0; r < std::min(r0 + kGroup, whole_rows); r += kTile) {
          for (Eigen::Index c = c0; c < std::min(c0 + kGroup, whole_cols); c += kTile) {
            Transpose8(in + r * in_stride + c, in_stride, dst + c * rows + r, rows);
          }
        }
      }
    }
  }
#else
  const Eigen::Index whole_rows = 0;
  const Eigen::Index whole_cols = 0;
#endif
  for (Eigen::Index r = 0; r < rows; ++r) {
    for (Eigen::Index c = r < whole_rows ? whole_cols : 0; c < cols; ++c) {
      dst[c * rows + r] = in[r * in_stride + c];
    }
  }
}

// Column sums of m in increasing row order (the base of complemented rows), columns split
// over the threads.
void ColumnSums(const MatrixRef& m, Eigen::VectorXf* sums) {
  sums->setZero(m.cols());
#pragma omp parallel num_threads(ThreadsFor(static_cast <double>(m.size())))
  {
    const auto [first, last] = ThreadShare(m.cols());
    auto part = sums->segment(first, last - first);
    for (Eigen::Index r = 0; r < m.rows(); ++r)
      part += m.row(r).segment(first, last - first).transpose();
  }
}

// A product of 0/1 rows (as lists) with m, and what to do with it.
struct ProductArgs {
  const ActiveSets* sets;
  const MatrixRef* m;
  const float* column_sums;
  const float* bias;
  float beta;
  Epilogue epilogue;
  Matrix* out;
};

// Where the weight statistics go: floats, or fixed point 2^-bits (scale = 2^bits) with a
// count of the values that were not finite or reached 2^30.
struct StatisticsOut {
  float* real = nullptr;
  int32_t* fixed = nullptr;
  Eigen::Index stride = 0;
  float scale = 1.0F;
};

// Largest fixed-point magnitude accepted, as in ToFixedPoint's 32-bit form.
constexpr float kFixedLimit = 0x1p30F;

#ifdef ZETA_AVX512

// sigmoid(x) = 1 / (1 + e^-x). e^t for t = -x clamped to [-100, 100] (beyond, the result is
// 0 or 1 in float anyway) as 2^n e^r with n = round(t / ln 2), r = t - n ln 2 in two parts
// (|r| <= ln 2 / 2), e^r by its Taylor polynomial of degree 7 (truncation below 6e-9
// relative) and 2^n applied by scalef, which overflows to inf cleanly. NaN stays NaN.
inline __m512 Sigmoid16(__m512 x) {
  const __m512 lowest = _mm512_set1_ps(-100.0F);
  const __m512 highest = _mm512_set1_ps(100.0F);
  const __m512 t =
      _mm512_min_ps(highest, _mm512_max_ps(lowest, _mm512_sub_ps(_mm512_setzero_ps(), x)));
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

// acc[u] += m[row, 16u ..] for every row in [begin, end): a sum of selected rows of one
// column block of kU vectors, the last one masked to the `last` lanes inside the matrix.
// The rows come from L2 at scattered places, so the row kAhead places on is prefetched
// (reading its index is safe: index lists end with kVectorSlack spare entries).
constexpr int kAhead = 8;
static_assert(kAhead <= static_cast<int>(kVectorSlack));

template <int kU>
inline void AddRows(const float* m, Eigen::Index stride, const uint32_t* begin, const uint32_t* end,
                    __mmask16 last, __m512 (&acc)[kU]) {
  for (const uint32_t* i = begin; i != end; ++i) {
    const float* row = m + static_cast<Eigen::Index>(*i) * stride;
    const char* ahead =
        reinterpret_cast<const char*>(m + static_cast<Eigen::Index>(i[kAhead]) * stride);
    for (int u = 0; u < kU; ++u) _mm_prefetch(ahead + u * 64, _MM_HINT_T0);
    for (int u = 0; u + 1 < kU; ++u)
      acc[u] = _mm512_add_ps(acc[u], _mm512_loadu_ps(row + u * kLanes));
    acc[kU - 1] = _mm512_add_ps(acc[kU - 1], _mm512_maskz_loadu_ps(last, row + (kU - 1) * kLanes));
  }
}

// The same with two sets of accumulators taking alternate rows, for short lists whose single
// chain of additions would wait on the add latency; acc holds their sum at the end.
template <int kU>
inline void AddRowsTwoWay(const float* m, Eigen::Index stride, const uint32_t* begin,
                          const uint32_t* end, __mmask16 last, __m512 (&acc)[kU]) {
  __m512 odd[kU];
  for (auto& x : odd) x = _mm512_setzero_ps();
  const uint32_t* i = begin;
  for (; i + 2 <= end; i += 2) {
    const float* row0 = m + static_cast<Eigen::Index>(i[0]) * stride;
    const float* row1 = m + static_cast<Eigen::Index>(i[1]) * stride;
    for (int u = 0; u + 1 < kU; ++u) {
      acc[u] = _mm512_add_ps(acc[u], _mm512_loadu_ps(row0 + u * kLanes));
      odd[u] = _mm512_add_ps(odd[u], _mm512_loadu_ps(row1 + u * kLanes));
    }
    acc[kU - 1] = _mm512_add_ps(acc[kU - 1], _mm512_maskz_loadu_ps(last, row0 + (kU - 1) * kLanes));
    odd[kU - 1] = _mm512_add_ps(odd[kU - 1], _mm512_maskz_loadu_ps(last, row1 + (kU - 1) * kLanes));
  }
  if (i != end) AddRows<kU>(m, stride, i, end, last, acc);
  for (int u = 0; u < kU; ++u) acc[u] = _mm512_add_ps(acc[u], odd[u]);
}

// Lanes of vector u of a block of kU vectors: all but the last are whole.
template <int kU>
inline __mmask16 LaneMask(int u, __mmask16 last) {
  return u + 1 < kU ? __mmask16{0xFFFF} : last;
}

// Calls body.template operator()<kU>(c0, last) for each column block: blocks of kWide
// vectors, then one block of the vectors left (1 to kWide), its last vector masked.
template <int kWide, class Body>
void ForEachColumnBlock(Eigen::Index cols, Body&& body) {
  constexpr Eigen::Index kBlock = Eigen::Index{kWide} * kLanes;
  Eigen::Index c0 = 0;
  for (; c0 + kBlock <= cols; c0 += kBlock) body.template operator()<kWide>(c0, __mmask16{0xFFFF});
  const Eigen::Index left = cols - c0;
  if (left == 0) return;
  const __mmask16 last = FirstLanes(left - (left - 1) / kLanes * kLanes);
  const auto vectors = static_cast<int>((left + kLanes - 1) / kLanes);
  [&]<int... kU>(std::integer_sequence<int, kU...>) {
    ((vectors == kU + 1 ? body.template operator()<kU + 1>(c0, last) : void()), ...);
  }
  (std::make_integer_sequence<int, kWide>{});
}

// Columns per block of the product: 8 vectors keep a block of m (k × 128 floats) in L2
// while every row of x passes over it.
constexpr int kProductVectors = 8;

void Product(const ProductArgs& a, Eigen::Index first_row, Eigen::Index last_row) {
  const ActiveSets& sets = *a.sets;
  const __m512 scale = _mm512_set1_ps(a.beta);
  ForEachColumnBlock<kProductVectors>(a.m->cols(), [&]<int kU>(Eigen::Index c0, __mmask16 last) {
    for (Eigen::Index r = first_row; r < last_row; ++r) {
      __m512 acc[kU];
      for (auto& x : acc) x = _mm512_setzero_ps();
      AddRows<kU>(a.m->data() + c0, a.m->outerStride(), sets.index.data() + sets.start[r],
                  sets.index.data() + sets.start[r + 1], last, acc);
      // Store the sums first and finish them from L1: with the epilogue on the registers,
      // GCC spills the accumulators inside the loop above.
      float* dst = a.out->data() + r * a.out->cols() + c0;
#pragma GCC unroll 16
      for (int u = 0; u < kU; ++u)
        _mm512_mask_storeu_ps(dst + u * kLanes, LaneMask<kU>(u, last), acc[u]);
      const bool complement = sets.complement[static_cast<std::size_t>(r)] != 0;
      for (int u = 0; u < kU; ++u) {
        const __mmask16 lanes = LaneMask<kU>(u, last);
        __m512 sum = _mm512_maskz_loadu_ps(lanes, dst + u * kLanes);
        if (complement) {
          sum = _mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, a.column_sums + c0 + u * kLanes), sum);
        }
        const __m512 b = _mm512_maskz_loadu_ps(lanes, a.bias + c0 + u * kLanes);
        __m512 x = _mm512_mul_ps(_mm512_add_ps(sum, b), scale);
        if (a.epilogue == Epilogue::kSigmoid) x = Sigmoid16(x);
        _mm512_mask_storeu_ps(dst + u * kLanes, lanes, x);
      }
    }
  });
}

// Columns per block of the statistics: 4 vectors keep a block of [p; -q] (2 rows × 64
// floats) in L1 and L2 while every column of [a; b] passes over it.
constexpr int kStatisticsVectors = 2;

// Rows [first, last) of out for one column block: few live values, so that the compiler
// keeps every pointer in a register. Returns how many values failed the fixed-point range.
template <int kU>
[[gnu::noinline]] int StatisticsBlock(const float* stacked, Eigen::Index stride,
                                      const uint32_t* index, const uint32_t* start,
                                      Eigen::Index first, Eigen::Index last, __mmask16 edge,
                                      Eigen::Index c0, const StatisticsOut& out) {
  const __m512 scale = _mm512_set1_ps(out.scale);
  const __m512 limit = _mm512_set1_ps(kFixedLimit);
  int bad = 0;
  for (Eigen::Index i = first; i < last; ++i) {
    __m512 acc[kU];
    for (auto& x : acc) x = _mm512_setzero_ps();
    AddRowsTwoWay<kU>(stacked, stride, index + start[i], index + start[i + 1], edge, acc);
    const Eigen::Index at = i * out.stride + c0;
    for (int u = 0; u < kU; ++u) {
      const __mmask16 lanes = LaneMask<kU>(u, edge);
      if (out.fixed == nullptr) {
        _mm512_mask_storeu_ps(out.real + at + u * kLanes, lanes, acc[u]);
        continue;
      }
      // Exact: a grid value times 2^bits is an integer below 2^30, which float holds.
      const __m512 x = _mm512_mul_ps(acc[u], scale);
      const __mmask16 fits = _mm512_mask_cmp_ps_mask(lanes, _mm512_abs_ps(x), limit, _CMP_LT_OQ);
      bad += __builtin_popcount(static_cast<unsigned>(lanes & ~fits));
      _mm512_mask_storeu_epi32(out.fixed + at + u * kLanes, lanes,
                               _mm512_maskz_cvtps_epi32(fits, x));
    }
  }
  return bad;
}

int Statistics(const ActiveSets& columns, const Matrix& stacked, Eigen::Index first,
               Eigen::Index last_column, const StatisticsOut& out) {
  int bad = 0;
  ForEachColumnBlock<kStatisticsVectors>(
      stacked.cols(), [&]<int kU>(Eigen::Index c0, __mmask16 edge) {
        bad += StatisticsBlock<kU>(stacked.data() + c0, stacked.cols(), columns.index.data(),
                                   columns.start.data(), first, last_column, edge, c0, out);
      });
  return bad;
}

void SigmoidRow(const float* bias, float beta, Eigen::Index cols, float* row) {
  for (Eigen::Index c = 0; c < cols; c += kLanes) {
    const __mmask16 valid = FirstLanes(cols - c);
    const __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(valid, row + c),
                                   _mm512_maskz_loadu_ps(valid, bias + c));
    _mm512_mask_storeu_ps(row + c, valid, Sigmoid16(_mm512_mul_ps(v, _mm512_set1_ps(beta))));
  }
}

#else  // portable loops, same order of additions

inline float Sigmoid(float x) { return 1.0F / (1.0F + std::exp(-x)); }

void Product(const ProductArgs& a, Eigen::Index first_row, Eigen::Index last_row) {
  const Eigen::Index cols = a.m->cols();
  const ActiveSets& sets = *a.sets;
  for (Eigen::Index r = first_row; r < last_row; ++r) {
    float* dst = a.out->data() + r * cols;
    std::fill(dst, dst + cols, 0.0F);
    for (uint32_t i = sets.start[r]; i < sets.start[r + 1]; ++i) {
      const float* row =
          a.m->data() + static_cast<Eigen::Index>(sets.index[i]) * a.m->outerStride();
      for (Eigen::Index c = 0; c < cols; ++c) dst[c] += row[c];
    }
    const bool complement = sets.complement[static_cast<std::size_t>(r)] != 0;
    for (Eigen::Index c = 0; c < cols; ++c) {
      const float sum = complement ? a.column_sums[c] - dst[c] : dst[c];
      const float x = (sum + a.bias[c]) * a.beta;
      dst[c] = a.epilogue == Epilogue::kSigmoid ? Sigmoid(x) : x;
    }
  }
}

int Statistics(const ActiveSets& columns, const Matrix& stacked, Eigen::Index first,
               Eigen::Index last_column, const StatisticsOut& out) {
  const Eigen::Index cols = stacked.cols();
  thread_local std::vector<float> sum;
  sum.resize(static_cast<std::size_t>(cols));
  int bad = 0;
  for (Eigen::Index i = first; i < last_column; ++i) {
    std::fill(sum.begin(), sum.end(), 0.0F);
    for (uint32_t j = columns.start[i]; j < columns.start[i + 1]; ++j) {
      const float* row = stacked.data() + static_cast<Eigen::Index>(columns.index[j]) * cols;
      for (Eigen::Index c = 0; c < cols; ++c) sum[static_cast<std::size_t>(c)] += row[c];
    }
    for (Eigen::Index c = 0; c < cols; ++c) {
      const float x = sum[static_cast<std::size_t>(c)];
      if (out.fixed == nullptr) {
        out.real[i * out.stride + c] = x;
        continue;
      }
      const float scaled = x * out.scale;
      const bool fits = std::abs(scaled) < kFixedLimit;
      bad += fits ? 0 : 1;
      out.fixed[i * out.stride + c] = fits ? static_cast<int32_t>(scaled) : 0;
    }
  }
  return bad;
}

void SigmoidRow(const float* bias, float beta, Eigen::Index cols, float* row) {
  for (Eigen::Index c = 0; c < cols; ++c) row[c] = Sigmoid((row[c] + bias[c]) * beta);
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

namespace {

// The product of rows already in scratch.rows with m, split over the threads.
void RunProduct(const Workspace& scratch, const MatrixRef& m,
                const Eigen::Ref<const Eigen::VectorXf>& bias, float beta, Epilogue epilogue,
                Matrix* out) {
  const ActiveSets& sets = scratch.rows;
  const auto rows = static_cast<Eigen::Index>(sets.complement.size());
  out->resize(rows, m.cols());
  const ProductArgs args{.sets = &sets,
                         .m = &m,
                         .column_sums = scratch.column_sums.data(),
                         .bias = bias.data(),
                         .beta = beta,
                         .epilogue = epilogue,
                         .out = out};
  const double work = static_cast<double>(sets.start.back()) * static_cast<double>(m.cols());
#pragma omp parallel num_threads(ThreadsFor(work))
  {
    const auto [first, last] = ThreadShare(rows);
    Product(args, first, last);
  }
}

}  // namespace

bool BinaryProduct(const MatrixRef& x, const MatrixRef& m,
                   const Eigen::Ref<const Eigen::VectorXf>& bias, float beta, Epilogue epilogue,
                   Matrix* out) {
  ZETA_CHECK(x.cols() == m.rows() && bias.size() == m.cols(),
             "product shapes must agree: x [rows, k], m [k, n], bias [n]");
  Workspace& scratch = Scratch();
  if (!BuildRows(x, /*complement=*/true, &scratch.rows)) return false;
  if (scratch.rows.any_complement) ColumnSums(m, &scratch.column_sums);
  RunProduct(scratch, m, bias, beta, epilogue, out);
  return true;
}

bool BinaryProductTransposed(const MatrixRef& x, const MatrixRef& mt,
                             const Eigen::Ref<const Eigen::VectorXf>& bias, float beta,
                             Epilogue epilogue, Matrix* out) {
  ZETA_CHECK(x.cols() == mt.cols() && bias.size() == mt.rows(),
             "product shapes must agree: x [rows, k], mt [n, k], bias [n]");
  Workspace& scratch = Scratch();
  if (!BuildRows(x, /*complement=*/true, &scratch.rows)) return false;
  TransposeInto(mt, &scratch.transposed);
  if (scratch.rows.any_complement) ColumnSums(scratch.transposed, &scratch.column_sums);
  RunProduct(scratch, scratch.transposed, bias, beta, epilogue, out);
  return true;
}

namespace {

// aᵀp − bᵀq = [a; b]ᵀ [p; −q]: one list per column of [a; b], twice as long as either.
// Returns -1 when a or b is not 0/1, else the count of values out of the fixed-point range.
int RunStatistics(const MatrixRef& a, const MatrixRef& p, const MatrixRef& b, const MatrixRef& q,
                  const StatisticsOut& out) {
  ZETA_CHECK(
      a.rows() == p.rows() && b.rows() == q.rows() && a.cols() == b.cols() && p.cols() == q.cols(),
      "statistics shapes must agree: a, b [rows, k], p, q [rows, n]");
  Workspace& scratch = Scratch();
  const auto k = static_cast<uint32_t>(a.cols());
  if (!BuildRows(a, /*complement=*/false, &scratch.rows) ||
      !BuildRows(b, /*complement=*/false, &scratch.b_rows)) {
    return -1;
  }
  TransposeStacked(scratch.rows, static_cast<std::size_t>(a.rows()), scratch.b_rows,
                   static_cast<std::size_t>(b.rows()), k, &scratch.columns);
  scratch.stacked.resize(p.rows() + q.rows(), p.cols());
  scratch.stacked.topRows(p.rows()) = p;
  scratch.stacked.bottomRows(q.rows()) = -q;
  const double work = static_cast<double>(scratch.columns.start[k]) * static_cast<double>(p.cols());
  int bad = 0;
#pragma omp parallel num_threads(ThreadsFor(work)) reduction(+ : bad)
  {
    const auto [first, last] = ThreadShare(a.cols());
    bad += Statistics(scratch.columns, scratch.stacked, first, last, out);
  }
  return bad;
}

}  // namespace

bool BinaryWeightStatistics(const MatrixRef& a, const MatrixRef& p, const MatrixRef& b,
                            const MatrixRef& q, Eigen::Ref<Matrix> out) {
  ZETA_CHECK(out.rows() == a.cols() && out.cols() == p.cols(),
             "statistics output must be [k, n] for a [rows, k] and p [rows, n]");
  return RunStatistics(a, p, b, q, {.real = out.data(), .stride = out.outerStride()}) >= 0;
}

std::optional<bool> BinaryWeightStatisticsFixed(const MatrixRef& a, const MatrixRef& p,
                                                const MatrixRef& b, const MatrixRef& q,
                                                int fraction_bits, std::span<int32_t> out) {
  ZETA_CHECK(out.size() == static_cast<std::size_t>(a.cols() * p.cols()),
             "fixed-point statistics need k × n values");
  const int bad = RunStatistics(
      a, p, b, q,
      {.fixed = out.data(), .stride = p.cols(), .scale = std::ldexp(1.0F, fraction_bits)});
  if (bad < 0) return std::nullopt;
  return bad == 0;
}

void BiasSigmoidRows(const Eigen::Ref<const Eigen::VectorXf>& bias, float beta, Matrix* x) {
  ZETA_CHECK(bias.size() == x->cols(), "bias size must equal the columns");
  const Eigen::Index cols = x->cols();
#pragma omp parallel num_threads(ThreadsFor(static_cast <double>(x->size()) * 8))
  {
    const auto [first, last] = ThreadShare(x->rows());
    for (Eigen::Index r = first; r < last; ++r)
      SigmoidRow(bias.data(), beta, cols, x->data() + r * cols);
  }
}

}  // namespace zeta
