// Exact log Z against brute force over all (v, h), AIS and reverse AIS against exact log Z,
// and the same bits on any number of ranks (run under mpirun with 1, 2 and 3 ranks).
#include "zeta/partition.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

#include "zeta/data.hpp"
#include "zeta/error.hpp"
#include "zeta/model.hpp"
#include "zeta/parallel.hpp"
#include "zeta/random.hpp"

namespace zeta {
namespace {

// A random RBM with W, b and c drawn from N(0, scale²).
Rbm RandomRbm(int visible, int hidden, uint64_t seed, float scale) {
  Rbm rbm(visible, hidden);
  std::vector<float> noise(rbm.parameters().size());
  FillNormal({.seed = seed, .stream = Stream::kWeightInit, .index = 99}, noise);
  for (std::size_t i = 0; i < noise.size(); ++i) rbm.parameters()[i] = scale * noise[i];
  return rbm;
}

// log Z = log Σ_{v,h} exp(-E(v,h)) by brute force over every pair, in double. For tests only.
double BruteForceLogZ(const Rbm& rbm) {
  const int nv = rbm.visible();
  const int nh = rbm.hidden();
  const MatrixD w = rbm.weights().cast<double>();
  const Eigen::VectorXd b = rbm.visible_bias().cast<double>();
  const Eigen::VectorXd c = rbm.hidden_bias().cast<double>();
  std::vector<double> minus_energy;
  minus_energy.reserve(std::size_t{1} << (nv + nh));
  Eigen::VectorXd v(nv);
  Eigen::VectorXd h(nh);
  for (uint32_t vs = 0; vs < (1U << nv); ++vs) {
    for (int i = 0; i < nv; ++i) v[i] = (vs >> i) & 1U;
    const Eigen::VectorXd vw = w.transpose() * v;
    const double bv = b.dot(v);
    for (uint32_t hs = 0; hs < (1U << nh); ++hs) {
      for (int j = 0; j < nh; ++j) h[j] = (hs >> j) & 1U;
      minus_energy.push_back(bv + c.dot(h) + vw.dot(h));
    }
  }
  const double top = *std::max_element(minus_energy.begin(), minus_energy.end());
  double sum = 0.0;
  for (double x : minus_energy) sum += std::exp(x - top);
  return top + std::log(sum);
}

// log Z of a model with W = 0: the units are independent, Σ_i softplus(b_i) + Σ_j softplus(c_j).
double IndependentLogZ(const Rbm& rbm) {
  double log_z = 0.0;
  for (int i = 0; i < rbm.visible(); ++i) log_z += Softplus(rbm.visible_bias()[i]);
  for (int j = 0; j < rbm.hidden(); ++j) log_z += Softplus(rbm.hidden_bias()[j]);
  return log_z;
}

// Exact samples of a small model (hidden layer of at most ~16 units): h from its marginal
// p(h) ∝ exp(c·h + Σ_i softplus(b_i + (Wh)_i)) by inverse CDF, then v ~ p(v | h).
Matrix ExactSamples(const Rbm& rbm, int64_t count, uint64_t seed) {
  const int nh = rbm.hidden();
  const int nv = rbm.visible();
  const auto states = std::size_t{1} << nh;
  std::vector<double> log_p(states);
  for (std::size_t s = 0; s < states; ++s) {
    double t = 0.0;
    for (int j = 0; j < nh; ++j) t += ((s >> j) & 1U) ? rbm.hidden_bias()[j] : 0.0;
    for (int i = 0; i < nv; ++i) {
      double x = rbm.visible_bias()[i];
      for (int j = 0; j < nh; ++j) x += ((s >> j) & 1U) ? rbm.weights()(i, j) : 0.0;
      t += Softplus(x);
    }
    log_p[s] = t;
  }
  const double top = *std::max_element(log_p.begin(), log_p.end());
  std::vector<double> cdf(states);
  double total = 0.0;
  for (std::size_t s = 0; s < states; ++s) cdf[s] = total += std::exp(log_p[s] - top);
  Matrix h = Matrix::Zero(count, nh);
  for (int64_t n = 0; n < count; ++n) {
    float u = 0.0F;
    FillUniform({.seed = seed, .stream = Stream::kSample, .index = static_cast<uint64_t>(n)},
                std::span<float>(&u, 1));
    const auto at = std::upper_bound(cdf.begin(), cdf.end(), u * total) - cdf.begin();
    const auto s = std::min<std::size_t>(static_cast<std::size_t>(at), states - 1);
    for (int j = 0; j < nh; ++j) h(n, j) = ((s >> j) & 1U) ? 1.0F : 0.0F;
  }
  Matrix pv;
  VisibleProbabilities(rbm, h, &pv);
  Matrix v;
  SampleRows(pv, seed, Stream::kSample, 0, 1, 0, &v);
  return v;
}

// Runs `work` on the first `ranks` ranks of `world` (a sub-communicator; the other ranks
// form their own and do the same work, whose result is ignored).
template <class Work>
auto OnRanks(const Communicator& world, int ranks, Work&& work) {
  const Communicator sub(world, world.rank() < ranks ? 0 : 1);
  return work(sub);
}

TEST(ExactLogPartition, EqualsBruteForceOverAllPairs) {
  const Communicator comm;
  struct Case {
    int visible, hidden;
    float scale;
  };
  // Both enumerated layers, sizes below and above the 2^6-state blocks, large weights.
  for (const Case& k : {Case{6, 4, 1.0F}, Case{4, 7, 1.5F}, Case{9, 11, 2.0F}, Case{12, 8, 3.0F},
                        Case{1, 3, 1.0F}, Case{3, 1, 4.0F}}) {
    for (uint64_t seed : {1, 2}) {
      const Rbm rbm = RandomRbm(k.visible, k.hidden, seed, k.scale);
      const double exact = ExactLogPartition(comm, rbm).log_z;
      const double brute = BruteForceLogZ(rbm);
      // Both sum the same double terms in different orders and forms (softplus via a
      // product of factors); 1e-10 relative is far above their ~1e-14 rounding.
      EXPECT_NEAR(exact, brute, 1e-10 * std::max(1.0, std::abs(brute)))
          << k.visible << "x" << k.hidden << " seed " << seed;
    }
  }
}

TEST(ExactLogPartition, MatchesIndependentUnitsOnALargerModel) {
  const Communicator comm;
  Rbm rbm = RandomRbm(100, 18, 7, 2.0F);
  rbm.weights().setZero();
  const ExactResult exact = ExactLogPartition(comm, rbm);
  EXPECT_TRUE(exact.plan.hidden);
  EXPECT_EQ(exact.plan.units, 18);
  // 2^18 terms of ~100 summed in double: rounding stays near 1e-13 relative.
  EXPECT_NEAR(exact.log_z, IndependentLogZ(rbm), 1e-11 * IndependentLogZ(rbm));
}

TEST(ExactLogPartition, SameBitsOnAnyRankCount) {
  const Communicator world;
  const Rbm rbm = RandomRbm(30, 15, 3, 1.0F);
  const double all = ExactLogPartition(world, rbm).log_z;
  for (int ranks = 1; ranks < world.size(); ++ranks) {
    const double part = OnRanks(
        world, ranks, [&](const Communicator& c) { return ExactLogPartition(c, rbm).log_z; });
    EXPECT_EQ(part, all) << ranks << " of " << world.size() << " ranks";
  }
}

TEST(ExactLogPartition, RefusesTooManyUnitsNamingTheCost) {
  const Communicator comm;
  const Rbm rbm(784, 500);
  try {
    (void)ExactLogPartition(comm, rbm);
    FAIL() << "a 784x500 model was enumerated";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), kExitUsage);
    EXPECT_TRUE(e.collective());
    const std::string message = e.what();
    EXPECT_NE(message.find("2^500"), std::string::npos) << message;
    EXPECT_NE(message.find("years"), std::string::npos) << message;
    EXPECT_NE(message.find("--max-exact-units"), std::string::npos) << message;
  }
}

TEST(InverseTemperatures, ClassicLadderAndEvenSteps) {
  const auto classic = InverseTemperatures(0);
  ASSERT_EQ(classic.size(), static_cast<std::size_t>(kClassicLadderSteps + 1));
  EXPECT_EQ(classic.front(), 0.0);
  EXPECT_EQ(classic.back(), 1.0);
  EXPECT_EQ(classic[500], 0.5);
  EXPECT_EQ(classic[4500], 0.9);
  for (std::size_t k = 1; k < classic.size(); ++k) ASSERT_LT(classic[k - 1], classic[k]) << k;
  EXPECT_NEAR(classic[501] - classic[500], 1e-4, 1e-12);
  EXPECT_NEAR(classic[14500] - classic[14499], 1e-5, 1e-12);
  const auto even = InverseTemperatures(4);
  EXPECT_EQ(even, (std::vector<double>{0.0, 0.25, 0.5, 0.75, 1.0}));
}

TEST(SummarizeLogWeights, MatchesHandComputedMoments) {
  // Weights 1 and 3: mean 2, sample std sqrt(2), σ̂ = sqrt(2) / sqrt(2) = 1, ESS 16 / 10.
  const std::vector<double> log_w = {std::log(1.0), std::log(3.0)};
  const WeightSummary s = SummarizeLogWeights(log_w);
  EXPECT_NEAR(s.log_mean, std::log(2.0), 1e-15);
  EXPECT_NEAR(s.log_high, std::log(5.0), 1e-15);
  EXPECT_EQ(s.log_low, -std::numeric_limits<double>::infinity());
  EXPECT_NEAR(s.relative_sd, 0.5, 1e-15);
  EXPECT_NEAR(s.ess, 1.6, 1e-15);
  // Huge log weights do not overflow: only differences matter.
  const WeightSummary big = SummarizeLogWeights(std::vector<double>{1000.0, 1000.0, 1000.0});
  EXPECT_NEAR(big.log_mean, 1000.0, 1e-12);
  EXPECT_NEAR(big.ess, 3.0, 1e-12);
  EXPECT_EQ(big.relative_sd, 0.0);
}

TEST(Ais, IsExactOnEveryChainForIndependentUnits) {
  // With W = 0 and the start model's biases equal to b, every log weight telescopes to
  // Σ_j softplus(c_j) - nh log 2, so log Ẑ is log Z up to rounding of 14,500 increments.
  const Communicator comm;
  Rbm rbm = RandomRbm(30, 10, 5, 2.0F);
  rbm.weights().setZero();
  const AisResult ais = ForwardAis(comm, rbm, rbm.visible_bias(), {.chains = 7, .seed = 3});
  EXPECT_NEAR(ais.log_z, IndependentLogZ(rbm), 1e-9);
  EXPECT_NEAR(ais.ess, 7.0, 1e-9);
  const Matrix start = Matrix::Zero(ChainsOfRank(comm, 7).size(), 30);
  const AisResult reverse =
      ReverseAis(comm, rbm, rbm.visible_bias(), start, {.chains = 7, .seed = 3});
  EXPECT_NEAR(reverse.log_z, IndependentLogZ(rbm), 1e-9);
}

TEST(Ais, SameBitsOnAnyRankCount) {
  const Communicator world;
  const Rbm rbm = RandomRbm(20, 12, 11, 2.0F);
  const Eigen::VectorXf base = Eigen::VectorXf::Constant(20, -0.5F);
  const Matrix data = ExactSamples(rbm, 10, 4);
  for (int64_t chains : {3, 10}) {
    const AisOptions options{.chains = chains, .steps = 300, .seed = 17};
    const AisResult all = ForwardAis(world, rbm, base, options);
    const auto reverse_of = [&](const Communicator& c) {
      const Range mine = ChainsOfRank(c, chains);
      return ReverseAis(c, rbm, base, data.middleRows(mine.first, mine.size()), options);
    };
    const AisResult all_reverse = reverse_of(world);
    ASSERT_EQ(all.log_weights.size(), static_cast<std::size_t>(chains));
    for (int ranks = 1; ranks < world.size(); ++ranks) {
      const AisResult part = OnRanks(
          world, ranks, [&](const Communicator& c) { return ForwardAis(c, rbm, base, options); });
      EXPECT_EQ(part.log_weights, all.log_weights) << chains << " chains on " << ranks;
      EXPECT_EQ(part.log_z, all.log_z);
      EXPECT_EQ(part.log_z_low, all.log_z_low);
      EXPECT_EQ(part.ess, all.ess);
      const AisResult part_reverse = OnRanks(world, ranks, reverse_of);
      EXPECT_EQ(part_reverse.log_weights, all_reverse.log_weights) << chains << " on " << ranks;
    }
  }
}

// Random 20x12 models with large weights: W, b, c ~ N(0, 2²) give sharply multimodal
// distributions, far from the base-rate start model.
constexpr float kLargeScale = 2.0F;

TEST(Ais, LandsWithinThreeSigmaOrATenthOfANatOfExact) {
  const Communicator comm;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const Rbm rbm = RandomRbm(20, 12, seed, kLargeScale);
    const double exact = ExactLogPartition(comm, rbm).log_z;
    const Eigen::VectorXf base = Eigen::VectorXf::Zero(20);
    const AisResult ais = ForwardAis(comm, rbm, base, {.chains = 100, .seed = seed});
    const bool within_bar = ais.log_z_low <= exact && exact <= ais.log_z_high;
    EXPECT_TRUE(within_bar || std::abs(ais.log_z - exact) <= 0.1)
        << "seed " << seed << ": exact " << exact << ", AIS " << ais.log_z << " [" << ais.log_z_low
        << ", " << ais.log_z_high << "]";
  }
}

TEST(Ais, ErrorShrinksAsTemperaturesAreAdded) {
  const Communicator comm;
  const std::vector<int64_t> ladders = {10, 100, 1000, 10000};
  std::vector<double> rms(ladders.size(), 0.0);
  constexpr int kSeeds = 6;
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const Rbm rbm = RandomRbm(20, 12, 100 + seed, kLargeScale);
    const double exact = ExactLogPartition(comm, rbm).log_z;
    for (std::size_t l = 0; l < ladders.size(); ++l) {
      const AisResult ais = ForwardAis(comm, rbm, Eigen::VectorXf::Zero(20),
                                       {.chains = 50, .steps = ladders[l], .seed = seed});
      rms[l] += (ais.log_z - exact) * (ais.log_z - exact) / kSeeds;
    }
  }
  for (double& r : rms) r = std::sqrt(r);
  // Each tenfold longer ladder must cut the RMS error by a clear margin (a factor 1.5; the
  // measured factors are larger), and the longest must be accurate.
  for (std::size_t l = 1; l < ladders.size(); ++l) {
    EXPECT_LT(rms[l] * 1.5, rms[l - 1]) << ladders[l] << " vs " << ladders[l - 1] << " steps";
  }
  EXPECT_LT(rms.back(), 0.1);
}

TEST(ReverseAis, LiesAboveExactWhereForwardLiesBelowOnAverage) {
  // By Jensen's inequality E[log w] <= log E[w], so each chain's own estimate is biased
  // down in forward AIS (log Z_A + log w_c) and up in reverse AIS (log Z_A - log w_c), and
  // the log-mean-exp over M chains keeps these signs with a bias shrinking like 1/M. On a
  // short ladder (30 steps) the per-chain averages over 200 chains sit 5-10 standard
  // errors from exact on each side, and the averages of 160 five-chain estimates about
  // 0.27 nats below and 0.30 above, so this checks the bracket beyond the noise.
  const Communicator comm;
  constexpr int64_t kChains = 200;
  constexpr int64_t kGroup = 5;
  double forward_groups = 0.0;
  double reverse_groups = 0.0;
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const Rbm rbm = RandomRbm(20, 12, 200 + seed, kLargeScale);
    const double exact = ExactLogPartition(comm, rbm).log_z;
    const Eigen::VectorXf base = Eigen::VectorXf::Zero(20);
    const AisOptions options{.chains = kChains, .steps = 30, .seed = seed};
    const AisResult forward = ForwardAis(comm, rbm, base, options);
    const Matrix samples = ExactSamples(rbm, kChains, seed);
    const Range mine = ChainsOfRank(comm, kChains);
    const AisResult reverse =
        ReverseAis(comm, rbm, base, samples.middleRows(mine.first, mine.size()), options);
    double below = 0.0;
    double above = 0.0;
    for (int64_t c = 0; c < kChains; ++c) {
      const auto i = static_cast<std::size_t>(c);
      below += (forward.log_z0 + forward.log_weights[i] - exact) / kChains;
      above += (reverse.log_z0 - reverse.log_weights[i] - exact) / kChains;
    }
    EXPECT_LT(below, 0.0) << "seed " << seed;
    EXPECT_GT(above, 0.0) << "seed " << seed;
    // Estimates from groups of 5 chains (log-mean-exp within each group).
    for (int64_t g = 0; g < kChains; g += kGroup) {
      const auto at = static_cast<std::size_t>(g);
      const auto f = std::span<const double>(forward.log_weights).subspan(at, kGroup);
      const auto r = std::span<const double>(reverse.log_weights).subspan(at, kGroup);
      forward_groups += forward.log_z0 + SummarizeLogWeights(f).log_mean - exact;
      reverse_groups += reverse.log_z0 - SummarizeLogWeights(r).log_mean - exact;
    }
  }
  if (comm.root()) {
    std::cout << "mean error of 5-chain estimates: forward " << forward_groups / 160 << ", reverse "
              << reverse_groups / 160 << "\n";
  }
  EXPECT_LT(forward_groups, 0.0);
  EXPECT_GT(reverse_groups, 0.0);
}

// A temporary folder named by rank 0 and shared by every rank, removed at the end.
class SharedFolder {
 public:
  explicit SharedFolder(const Communicator& comm) : comm_(comm) {
    if (comm.root()) {
      path_ = (std::filesystem::temp_directory_path() /
               ("zeta_partition_test_" + std::to_string(::getpid())))
                  .string();
      std::filesystem::create_directories(path_);
    }
    comm.Broadcast(&path_);
  }
  ~SharedFolder() {
    comm_.Barrier();
    if (comm_.root()) std::filesystem::remove_all(path_);
  }
  SharedFolder(const SharedFolder&) = delete;
  SharedFolder& operator=(const SharedFolder&) = delete;
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  const Communicator& comm_;
  std::string path_;
};

TEST(BaseRateFromSplit, CountsEveryRowOnceOverRanks) {
  const Communicator comm;
  const SharedFolder folder(comm);
  const std::string path = folder.path() + "/data.h5";
  // 37 rows of 5 pixels: pixel i is on in rows r with (r + i) % (i + 2) == 0.
  RawImages images;
  images.rows = 37;
  images.cols = 5;
  std::vector<int64_t> ones(5, 0);
  for (int r = 0; r < 37; ++r) {
    for (int i = 0; i < 5; ++i) {
      const bool on = (r + i) % (i + 2) == 0;
      images.pixels.push_back(on ? 255 : 0);
      ones[static_cast<std::size_t>(i)] += on ? 1 : 0;
    }
  }
  if (comm.root()) WriteDataFile(path, {{"train", images}}, {}, "test");
  comm.Barrier();
  const SplitInfo split = ReadSplitInfo(path, "train");
  const Eigen::VectorXf bias = BaseRateFromSplit(comm, split, /*chunk_rows=*/4);
  const Eigen::VectorXf expected = BaseRateBias(ones, 37);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(bias[i], expected[i]) << "pixel " << i;
}

TEST(LogPartitionFile, RoundTripsEveryEstimate) {
  const Communicator comm;
  const SharedFolder folder(comm);
  const Rbm rbm = RandomRbm(8, 6, 1, 1.0F);
  LogPartitionReport report;
  report.model = "model.h5";
  report.model_checksum = ModelChecksum(rbm);
  report.visible = 8;
  report.hidden = 6;
  report.ranks = comm.size();
  report.exact = ExactLogPartition(comm, rbm);
  report.base_bias = Eigen::VectorXf::Zero(8);
  report.base_rate = "uniform";
  report.heldout = "data.h5:/test";
  report.save_weights = true;
  report.ais = ForwardAis(comm, rbm, report.base_bias, {.chains = 5, .steps = 20});
  const Matrix start = Matrix::Ones(ChainsOfRank(comm, 5).size(), 8);
  report.reverse = ReverseAis(comm, rbm, report.base_bias, start, {.chains = 5, .steps = 20});
  const std::string path = folder.path() + "/model.logz.h5";
  if (comm.root()) WriteLogPartitionFile(path, report);
  comm.Barrier();
  const LogPartitionReport back = ReadLogPartitionFile(path);
  EXPECT_EQ(back.model_checksum, report.model_checksum);
  EXPECT_EQ(back.visible, 8);
  EXPECT_EQ(back.hidden, 6);
  ASSERT_TRUE(back.exact && back.ais && back.reverse);
  EXPECT_EQ(back.exact->log_z, report.exact->log_z);
  EXPECT_EQ(back.ais->log_z, report.ais->log_z);
  EXPECT_EQ(back.ais->log_z_low, report.ais->log_z_low);
  EXPECT_EQ(back.ais->steps, 20);
  EXPECT_EQ(back.reverse->log_z_high, report.reverse->log_z_high);
  EXPECT_EQ(back.heldout, "data.h5:/test");
  ASSERT_TRUE(back.gap().has_value());
  EXPECT_EQ(*back.gap(), *report.gap());
  // A model file is not a results file.
  if (comm.root()) {
    EXPECT_THROW((void)ReadLogPartitionFile(folder.path() + "/missing.h5"), Error);
  }
  // Another model has another checksum.
  EXPECT_NE(ModelChecksum(RandomRbm(8, 6, 2, 1.0F)), report.model_checksum);
}

}  // namespace
}  // namespace zeta
