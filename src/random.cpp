// Philox4x32-10 streams laid out as (seed | stream, sub | index, step | element block).
#include "zeta/random.hpp"

#include <Random123/philox.h>

#include <cmath>
#include <numbers>

#if defined(__AVX512F__)
#include <immintrin.h>
#define ZETA_AVX512 1
#endif

namespace zeta {
namespace {

using Philox = r123::Philox4x32;

// One generator call yields 4 words; element i of a run lives in block i / 4.
struct Run {
  Philox philox;
  Philox::key_type key;
  Philox::ctr_type ctr;

  explicit Run(const StreamKey& k) {
    key = {{static_cast<uint32_t>(k.seed), static_cast<uint32_t>(k.seed >> 32)}};
    ctr = {{0, static_cast<uint32_t>(k.index), static_cast<uint32_t>(k.step),
            (static_cast<uint32_t>(k.stream) << 16) | (k.sub & 0xFFFFU)}};
  }

  Philox::ctr_type Block(uint32_t block) {
    ctr[0] = block;
    return philox(ctr, key);
  }
};

// 24 random bits scaled to [0, 1): exact in float.
inline float ToUnit(uint32_t word) { return static_cast<float>(word >> 8) * 0x1.0p-24F; }

template <class Emit>
void ForEachWord(const StreamKey& key, std::size_t count, Emit&& emit) {
  Run run(key);
  std::size_t i = 0;
  for (uint32_t block = 0; i < count; ++block) {
    const auto words = run.Block(block);
    for (int lane = 0; lane < 4 && i < count; ++lane, ++i) {
      emit(i, words[lane]);
    }
  }
}

#ifdef ZETA_AVX512

// Philox4x32-10 on 16 counters at once, the same words as Random123's scalar code.
class Philox16 {
 public:
  explicit Philox16(const StreamKey& k)
      : index_(_mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(k.index)))),
        step_(_mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(k.step)))),
        tag_(_mm512_set1_epi32(
            static_cast<int>((static_cast<uint32_t>(k.stream) << 16) | (k.sub & 0xFFFFU)))),
        key0_(static_cast<uint32_t>(k.seed)),
        key1_(static_cast<uint32_t>(k.seed >> 32)) {}

  // Elements 64 j .. 64 j + 63 of the run (blocks 16 j .. 16 j + 15), 16 per vector in
  // element order.
  void Words(uint32_t j, __m512i (&out)[4]) const {
    // Lane l carries block 4 (l % 4) + l / 4, so that the 4 × 4 transposes below leave the
    // blocks in order.
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    __m512i c0 = _mm512_add_epi32(order, _mm512_set1_epi32(static_cast<int>(16 * j)));
    __m512i c1 = index_;
    __m512i c2 = step_;
    __m512i c3 = tag_;
    uint32_t k0 = key0_;
    uint32_t k1 = key1_;
    for (int round = 0; round < 10; ++round) {
      if (round > 0) {
        k0 += 0x9E3779B9U;
        k1 += 0xBB67AE85U;
      }
      __m512i hi0;
      __m512i lo0;
      __m512i hi1;
      __m512i lo1;
      MulHiLo(c0, 0xD2511F53U, &hi0, &lo0);
      MulHiLo(c2, 0xCD9E8D57U, &hi1, &lo1);
      // (c0, c1, c2, c3) <- (hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0); 0x96 is a three-way xor.
      c0 = _mm512_ternarylogic_epi32(hi1, c1, _mm512_set1_epi32(static_cast<int>(k0)), 0x96);
      c2 = _mm512_ternarylogic_epi32(hi0, c3, _mm512_set1_epi32(static_cast<int>(k1)), 0x96);
      c1 = lo1;
      c3 = lo0;
    }
    const __m512i t0 = _mm512_unpacklo_epi32(c0, c1);
    const __m512i t1 = _mm512_unpackhi_epi32(c0, c1);
    const __m512i t2 = _mm512_unpacklo_epi32(c2, c3);
    const __m512i t3 = _mm512_unpackhi_epi32(c2, c3);
    out[0] = _mm512_unpacklo_epi64(t0, t2);
    out[1] = _mm512_unpackhi_epi64(t0, t2);
    out[2] = _mm512_unpacklo_epi64(t1, t3);
    out[3] = _mm512_unpackhi_epi64(t1, t3);
  }

 private:
  // The 64-bit products a × m of 16 lanes, split into high and low words.
  static void MulHiLo(__m512i a, uint32_t m, __m512i* hi, __m512i* lo) {
    const __m512i factor = _mm512_set1_epi32(static_cast<int>(m));
    const __m512i even = _mm512_mul_epu32(a, factor);
    const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), factor);
    *lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
    *hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
  }

  __m512i index_;
  __m512i step_;
  __m512i tag_;
  uint32_t key0_;
  uint32_t key1_;
};

// emit(first, valid, words) for each run of 16 elements; valid masks the run's tail.
template <class Emit>
void ForEachVector(const StreamKey& key, std::size_t count, Emit&& emit) {
  const Philox16 philox(key);
  for (std::size_t first = 0; first < count; first += 64) {
    __m512i words[4];
    philox.Words(static_cast<uint32_t>(first / 64), words);
    for (std::size_t v = 0; v < 4 && first + 16 * v < count; ++v) {
      const std::size_t left = count - first - 16 * v;
      const __mmask16 valid =
          left >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1U << left) - 1);
      emit(first + 16 * v, valid, words[v]);
    }
  }
}

// 24 random bits scaled to [0, 1), as ToUnit.
inline __m512 ToUnit16(__m512i words) {
  return _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_srli_epi32(words, 8)), _mm512_set1_ps(0x1.0p-24F));
}

#endif

}  // namespace

void FillUniform(const StreamKey& key, std::span<float> out) {
#ifdef ZETA_AVX512
  ForEachVector(key, out.size(), [&](std::size_t i, __mmask16 valid, __m512i w) {
    _mm512_mask_storeu_ps(out.data() + i, valid, ToUnit16(w));
  });
#else
  ForEachWord(key, out.size(), [&](std::size_t i, uint32_t w) { out[i] = ToUnit(w); });
#endif
}

void FillBits(const StreamKey& key, std::span<uint32_t> out) {
#ifdef ZETA_AVX512
  ForEachVector(key, out.size(), [&](std::size_t i, __mmask16 valid, __m512i w) {
    _mm512_mask_storeu_epi32(out.data() + i, valid, w);
  });
#else
  ForEachWord(key, out.size(), [&](std::size_t i, uint32_t w) { out[i] = w; });
#endif
}

void FillNormal(const StreamKey& key, std::span<float> out) {
  // Box-Muller on pairs of words; (w + 0.5) / 2^32 keeps the radius argument above 0.
  Run run(key);
  std::size_t i = 0;
  for (uint32_t block = 0; i < out.size(); ++block) {
    const auto words = run.Block(block);
    for (int pair = 0; pair < 2 && i < out.size(); ++pair) {
      const double u1 = (static_cast<double>(words[2 * pair]) + 0.5) * 0x1.0p-32;
      const double u2 = static_cast<double>(words[2 * pair + 1]) * 0x1.0p-32;
      const double radius = std::sqrt(-2.0 * std::log(u1));
      const double angle = 2.0 * std::numbers::pi * u2;
      out[i++] = static_cast<float>(radius * std::cos(angle));
      if (i < out.size()) out[i++] = static_cast<float>(radius * std::sin(angle));
    }
  }
}

void SampleBernoulli(const StreamKey& key, std::span<const float> p, std::span<float> out) {
#ifdef ZETA_AVX512
  ForEachVector(key, p.size(), [&](std::size_t i, __mmask16 valid, __m512i w) {
    const __m512 prob = _mm512_maskz_loadu_ps(valid, p.data() + i);
    const __mmask16 on = _mm512_mask_cmp_ps_mask(valid, ToUnit16(w), prob, _CMP_LT_OQ);
    _mm512_mask_storeu_ps(out.data() + i, valid, _mm512_maskz_mov_ps(on, _mm512_set1_ps(1.0F)));
  });
#else
  ForEachWord(key, p.size(),
              [&](std::size_t i, uint32_t w) { out[i] = ToUnit(w) < p[i] ? 1.0F : 0.0F; });
#endif
}

}  // namespace zeta
