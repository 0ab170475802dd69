// Counter-based random numbers (Random123 Philox4x32-10): every number is a pure function
// of (seed, stream, index, step, sub, element), so no result depends on how work is laid
// out over ranks or on how often a run was restarted.
#pragma once

#include <cstdint>
#include <span>

namespace zeta {

// What a random number is for; each purpose draws from its own stream.
enum class Stream : uint32_t {
  kChainInit = 1,    // initial state of persistent chains; index = global chain id
  kHidden = 2,       // hidden-unit samples in training; index = global sample/chain id
  kVisible = 3,      // visible-unit samples in training
  kPermutation = 4,  // the order of a shard's rows in an epoch; index = shard
  kBinarize = 5,     // stochastic binarization on import; index = row
  kAisStart = 6,     // AIS initial states; index = global chain id
  kAisHidden = 7,    // AIS transitions; step = temperature index
  kAisVisible = 8,
  kPseudoLikelihood = 9,  // which bit to flip per sample in the PLL estimate
  kSample = 10,           // zeta sample
  kWeightInit = 11,       // initial weights; index = visible unit
};

// Addresses one run of random numbers. `sub` separates draws that share a step (the k
// Gibbs sweeps of CD-k); index, step and sub are limited to 32, 32 and 16 bits.
struct StreamKey {
  uint64_t seed = 0;
  Stream stream = Stream::kHidden;
  uint64_t index = 0;
  uint64_t step = 0;
  uint32_t sub = 0;
};

// Fills `out` with uniform floats in [0, 1), element i of the run addressed by `key`.
// Each float has 24 random bits, so it is exact and never equals 1.
void FillUniform(const StreamKey& key, std::span<float> out);

// Fills `out` with raw 32-bit random words of the run addressed by `key`.
void FillBits(const StreamKey& key, std::span<uint32_t> out);

// Fills `out` with standard normal samples (Box-Muller on the same stream layout).
void FillNormal(const StreamKey& key, std::span<float> out);

// out[i] = 1 if u_i < p[i] else 0, with u the uniforms of `key`: a Bernoulli(p) draw.
void SampleBernoulli(const StreamKey& key, std::span<const float> p, std::span<float> out);

// A uniform integer in [0, n) from one 32-bit word (multiply-shift; bias below n / 2^32).
inline uint32_t BoundedInt(uint32_t word, uint32_t n) {
  return static_cast<uint32_t>((static_cast<uint64_t>(word) * n) >> 32);
}

}  // namespace zeta
