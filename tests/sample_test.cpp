// Gibbs sampling for 'zeta sample': the chains reach the model's exact distribution, give the
// same samples on any number of ranks, and are written in the documented layout.
#include "zeta/sample.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "zeta/data.hpp"
#include "zeta/hdf5.hpp"
#include "zeta/parallel.hpp"
#include "zeta/random.hpp"

namespace zeta {
namespace {

namespace fs = std::filesystem;

constexpr int kVisible = 4;
constexpr int kHidden = 3;

Rbm TinyRbm(uint64_t seed) {
  Rbm rbm(kVisible, kHidden);
  std::vector<float> noise(rbm.parameters().size());
  FillNormal({.seed = seed, .stream = Stream::kWeightInit}, noise);
  for (std::size_t i = 0; i < noise.size(); ++i) rbm.parameters()[i] = noise[i];
  return rbm;
}

TEST(SnapshotSweeps, AreEvenlySpacedAndEndAtTheLastSweep) {
  EXPECT_EQ(SnapshotSweeps(10, 3), (std::vector<int64_t>{3, 7, 10}));
  EXPECT_EQ(SnapshotSweeps(4, 4), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_TRUE(SnapshotSweeps(5, 0).empty());
}

TEST(StartRow, SpreadsChainsOverTheSplit) {
  EXPECT_EQ(StartRow(0, 4, 100), 0);
  EXPECT_EQ(StartRow(3, 4, 100), 75);
  EXPECT_EQ(StartRow(5, 6, 3), 2);  // more chains than rows: rows repeat
}

TEST(Chains, VisitVisibleStatesWithTheirExactProbabilities) {
  const Rbm rbm = TinyRbm(17);
  // Exact p(v) = e^-F(v) / sum_v e^-F(v) over the 16 visible states.
  Matrix all(1 << kVisible, kVisible);
  for (int s = 0; s < all.rows(); ++s) {
    for (int i = 0; i < kVisible; ++i) all(s, i) = (s >> i) & 1 ? 1.0F : 0.0F;
  }
  const Eigen::VectorXd f = FreeEnergy(rbm, all);
  Eigen::VectorXd exact = (-(f.array() - f.minCoeff())).exp();
  exact /= exact.sum();

  SampleConfig config;
  config.chains = 4000;
  config.burn_in = 20;
  config.steps = 25;
  config.seed = 3;
  Matrix start = Matrix::Zero(config.chains, kVisible);
  const ChainSamples samples = RunChains(rbm, start, 0, config);
  ASSERT_EQ(samples.states.size(), static_cast<std::size_t>(25 * 4000 * kVisible));
  Eigen::VectorXd seen = Eigen::VectorXd::Zero(1 << kVisible);
  for (std::size_t n = 0; n < samples.states.size() / kVisible; ++n) {
    int s = 0;
    for (int i = 0; i < kVisible; ++i) s |= samples.states[n * kVisible + i] << i;
    seen[s] += 1;
  }
  seen /= seen.sum();
  // 100,000 draws, about 40,000 independent ones after the chains' correlation: the
  // standard error of each frequency is below 0.0025, and a wrong conditional or stream
  // layout moves some state by more than 0.01.
  EXPECT_LT((seen - exact).cwiseAbs().maxCoeff(), 0.01) << "seen\n" << seen << "\nexact\n" << exact;
}

// A folder shared by every rank (rank 0 names it), removed at the end.
std::string SharedFolder(const Communicator& comm) {
  std::string path =
      (fs::temp_directory_path() / ("zeta_sample_test_" + std::to_string(::getpid()))).string();
  comm.Broadcast(&path);
  if (comm.root()) fs::create_directories(path);
  comm.Barrier();
  return path;
}

TEST(SampleChains, GiveTheSameSamplesOnEveryRankCount) {
  const Communicator comm;
  const std::string folder = SharedFolder(comm);
  const std::string data = folder + "/d.h5";
  if (comm.root()) {
    RawImages images;
    images.rows = 7;
    images.cols = kVisible;
    for (int r = 0; r < 7 * kVisible; ++r) images.pixels.push_back(r % 3 == 0 ? 255 : 0);
    WriteDataFile(data, {{"train", images}}, {}, "test");
  }
  comm.Barrier();
  const Rbm rbm = TinyRbm(9);
  for (const char* start : {"random", "data"}) {
    SampleConfig config;
    config.chains = 11;  // uneven shares on 2 and 3 ranks
    config.burn_in = 6;
    config.steps = 3;
    config.snapshots = 4;
    config.start = start;
    config.data = data;
    const ChainSamples all = SampleChains(comm, rbm, config, false);

    // One rank alone, all chains from the same start states.
    Matrix states(config.chains, kVisible);
    if (config.start == "random") {
      const Matrix half = Matrix::Constant(config.chains, kVisible, 0.5F);
      SampleRows(half, config.seed, Stream::kSample, 0, 0, 2, &states);
    } else {
      const SplitInfo info = ReadSplitInfo(data, "train");
      for (int c = 0; c < config.chains; ++c) {
        const auto row = ReadVisibleRows(info, StartRow(c, config.chains, info.rows), 1);
        for (int i = 0; i < kVisible; ++i) states(c, i) = row[static_cast<std::size_t>(i)];
      }
    }
    const ChainSamples alone = RunChains(rbm, states, 0, config);
    if (!comm.root()) {
      EXPECT_EQ(all.means.size(), 0);  // only rank 0 holds the result
      continue;
    }
    EXPECT_EQ(all.states, alone.states) << start;
    EXPECT_EQ(all.means, alone.means) << start;
    ASSERT_EQ(all.snapshots.size(), 4U);
    for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(all.snapshots[k], alone.snapshots[k]);
    EXPECT_EQ(all.snapshot_sweeps, (std::vector<int64_t>{2, 5, 7, 9}));  // round(9 (k + 1) / 4)
    // The last snapshot is the final sweep's means.
    EXPECT_EQ(all.snapshots.back(), all.means);

    WriteSamples(folder + "/s.h5", all, config, "tiny");
    const auto file = h5::File::OpenRead(folder + "/s.h5");
    EXPECT_EQ(file.ShapeOf("/samples/visible"), (h5::Shape{3, 11, kVisible}));
    EXPECT_EQ(file.ShapeOf("/samples/snapshots"), (h5::Shape{4, 11, kVisible}));
    EXPECT_EQ(file.Read<uint8_t>("/samples/visible"), all.states);
    EXPECT_EQ(file.StringAttribute("/", "format"), "zeta-samples");
  }
  comm.Barrier();
  if (comm.root()) fs::remove_all(folder);
}

}  // namespace
}  // namespace zeta
