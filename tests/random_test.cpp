// Counter-based streams: pure functions of their key, independent across keys, uniform.
#include "zeta/random.hpp"

#include <Random123/philox.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace zeta {
namespace {

TEST(Streams, SameKeyGivesSameNumbersWhateverTheLength) {
  std::vector<float> long_run(1001);
  std::vector<float> short_run(7);
  const StreamKey key{.seed = 42, .stream = Stream::kHidden, .index = 9, .step = 3, .sub = 1};
  FillUniform(key, long_run);
  FillUniform(key, short_run);
  for (std::size_t i = 0; i < short_run.size(); ++i) EXPECT_EQ(short_run[i], long_run[i]);
}

TEST(Streams, EveryKeyFieldChangesTheNumbers) {
  const StreamKey base{.seed = 1, .stream = Stream::kHidden, .index = 2, .step = 3, .sub = 4};
  std::vector<uint32_t> reference(8);
  FillBits(base, reference);
  std::vector<StreamKey> variants(5, base);
  variants[0].seed = 2;
  variants[1].stream = Stream::kVisible;
  variants[2].index = 3;
  variants[3].step = 4;
  variants[4].sub = 5;
  for (const auto& key : variants) {
    std::vector<uint32_t> other(8);
    FillBits(key, other);
    EXPECT_NE(other, reference);
  }
}

TEST(Uniform, MomentsMatchTheUniformDistribution) {
  std::vector<float> u(200000);
  FillUniform({.seed = 5, .stream = Stream::kVisible}, u);
  double sum = 0.0;
  double sum_sq = 0.0;
  for (float x : u) {
    ASSERT_GE(x, 0.0F);
    ASSERT_LT(x, 1.0F);
    sum += x;
    sum_sq += static_cast<double>(x) * x;
  }
  const double mean = sum / static_cast<double>(u.size());
  const double var = sum_sq / static_cast<double>(u.size()) - mean * mean;
  // Standard error of the mean: sqrt(1/12 / 2e5) = 6.5e-4; 5 of them.
  EXPECT_NEAR(mean, 0.5, 3.3e-3);
  EXPECT_NEAR(var, 1.0 / 12.0, 2e-3);
}

TEST(Normal, MomentsMatchTheStandardNormal) {
  std::vector<float> z(200001);  // odd length exercises the last half pair
  FillNormal({.seed = 8, .stream = Stream::kWeightInit}, z);
  double sum = 0.0;
  double sum_sq = 0.0;
  for (float x : z) {
    sum += x;
    sum_sq += static_cast<double>(x) * x;
  }
  const double n = static_cast<double>(z.size());
  // Standard errors: 1/sqrt(n) = 2.2e-3 for the mean, sqrt(2/n) = 3.2e-3 for the variance.
  EXPECT_NEAR(sum / n, 0.0, 0.011);
  EXPECT_NEAR(sum_sq / n, 1.0, 0.016);
}

TEST(Bernoulli, FrequencyMatchesProbability) {
  const std::vector<float> p(100000, 0.3F);
  std::vector<float> draws(p.size());
  SampleBernoulli({.seed = 3, .stream = Stream::kHidden}, p, draws);
  double ones = 0.0;
  for (float x : draws) {
    ASSERT_TRUE(x == 0.0F || x == 1.0F);
    ones += x;
  }
  // Standard error sqrt(0.21 / 1e5) = 1.45e-3; 5 of them.
  EXPECT_NEAR(ones / static_cast<double>(p.size()), 0.3, 7.5e-3);
  // Probabilities 0 and 1 are never and always on.
  const std::vector<float> edges = {0.0F, 1.0F};
  std::vector<float> out(2);
  for (uint64_t i = 0; i < 1000; ++i) {
    SampleBernoulli({.seed = 3, .stream = Stream::kHidden, .index = i}, edges, out);
    ASSERT_EQ(out[0], 0.0F);
    ASSERT_EQ(out[1], 1.0F);
  }
}

TEST(Streams, AreRandom123PhiloxOnTheDocumentedCounterLayout) {
  // Words of the block generator (16 counters at a time where vectorised) against Random123's
  // scalar Philox4x32-10: key (seed low, seed high), counter (block, index, step,
  // stream << 16 | sub); 203 words cover whole and partial vectors and blocks.
  const StreamKey key{
      .seed = 0x123456789ULL, .stream = Stream::kVisible, .index = 77, .step = 5, .sub = 2};
  std::vector<uint32_t> words(203);
  FillBits(key, words);
  const r123::Philox4x32::key_type philox_key = {{0x23456789U, 0x1U}};
  for (uint32_t block = 0; block * 4 < words.size(); ++block) {
    const r123::Philox4x32::ctr_type counter = {{block, 77, 5, (3U << 16) | 2U}};
    const auto expected = r123::Philox4x32()(counter, philox_key);
    for (uint32_t lane = 0; lane < 4 && block * 4 + lane < words.size(); ++lane) {
      ASSERT_EQ(words[block * 4 + lane], expected[lane]) << "word " << block * 4 + lane;
    }
  }
  std::vector<float> p(203);
  std::vector<float> u(203);
  std::vector<float> draws(203);
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<float>(i) / 203.0F;
  FillUniform(key, u);
  SampleBernoulli(key, p, draws);
  for (std::size_t i = 0; i < p.size(); ++i) {
    ASSERT_EQ(u[i], static_cast<float>(words[i] >> 8) * 0x1.0p-24F);
    ASSERT_EQ(draws[i], u[i] < p[i] ? 1.0F : 0.0F);
  }
}

TEST(BoundedInt, CoversTheRangeEvenly) {
  std::vector<uint32_t> words(70000);
  FillBits({.seed = 4, .stream = Stream::kPermutation}, words);
  std::vector<int> counts(7, 0);
  for (uint32_t w : words) ++counts[BoundedInt(w, 7)];
  // 10,000 expected per bin, standard deviation about 93.
  for (int c : counts) EXPECT_NEAR(c, 10000, 500);
}

}  // namespace
}  // namespace zeta
