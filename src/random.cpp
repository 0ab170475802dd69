// Philox4x32-10 streams laid out as (seed | stream, sub | index, step | element block).
#include "zeta/random.hpp"

#include <Random123/philox.h>

#include <cmath>
#include <numbers>

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

}  // namespace

void FillUniform(const StreamKey& key, std::span<float> out) {
  ForEachWord(key, out.size(), [&](std::size_t i, uint32_t w) { out[i] = ToUnit(w); });
}

void FillBits(const StreamKey& key, std::span<uint32_t> out) {
  ForEachWord(key, out.size(), [&](std::size_t i, uint32_t w) { out[i] = w; });
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
  ForEachWord(key, p.size(),
              [&](std::size_t i, uint32_t w) { out[i] = ToUnit(w) < p[i] ? 1.0F : 0.0F; });
}

}  // namespace zeta
