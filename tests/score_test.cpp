// Free-energy scores against exact log p of a tiny RBM (enumeration), over real ranks and a
// real data file; the AUROC against cases whose answer is known; log Z files; score files.
#include "zeta/score.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

#include "zeta/data.hpp"
#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"
#include "zeta/parallel.hpp"
#include "zeta/partition.hpp"
#include "zeta/pictures.hpp"
#include "zeta/random.hpp"

namespace zeta {
namespace {

namespace fs = std::filesystem;

constexpr int kVisible = 8;
constexpr int kHidden = 5;

Rbm TinyRbm(uint64_t seed) {
  Rbm rbm(kVisible, kHidden);
  std::vector<float> noise(rbm.parameters().size());
  FillNormal({.seed = seed, .stream = Stream::kWeightInit}, noise);
  for (std::size_t i = 0; i < noise.size(); ++i) rbm.parameters()[i] = noise[i];
  return rbm;
}

std::vector<float> Bits(uint32_t state, int n) {
  std::vector<float> out(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = (state >> i) & 1U ? 1.0F : 0.0F;
  return out;
}

double LogSumExp(const std::vector<double>& x) {
  const double top = *std::max_element(x.begin(), x.end());
  double sum = 0;
  for (double v : x) sum += std::exp(v - top);
  return top + std::log(sum);
}

// A folder shared by every rank (rank 0 names it), removed at the end.
class SharedFolder {
 public:
  explicit SharedFolder(const Communicator& comm) : comm_(comm) {
    path_ =
        (fs::temp_directory_path() / ("zeta_score_test_" + std::to_string(::getpid()))).string();
    comm_.Broadcast(&path_);
    if (comm_.root()) fs::create_directories(path_);
    comm_.Barrier();
  }
  ~SharedFolder() {
    comm_.Barrier();
    if (comm_.root()) fs::remove_all(path_);
  }
  SharedFolder(const SharedFolder&) = delete;
  SharedFolder& operator=(const SharedFolder&) = delete;
  [[nodiscard]] std::string Path(const std::string& name) const { return path_ + "/" + name; }

 private:
  const Communicator& comm_;
  std::string path_;
};

// Every visible state of the tiny RBM as the rows of a data split (state s in row s).
void WriteAllStates(const std::string& path) {
  RawImages images;
  images.rows = 1 << kVisible;
  images.cols = kVisible;
  for (uint32_t s = 0; s < (1U << kVisible); ++s) {
    for (float bit : Bits(s, kVisible)) images.pixels.push_back(bit > 0 ? 255 : 0);
    images.labels.push_back(static_cast<uint8_t>(s % 3));
  }
  WriteDataFile(path, {{"test", images}}, {}, "all states");
}

TEST(FreeEnergyScores, RankRowsAsExactLogProbabilityDoes) {
  const Communicator comm;
  const SharedFolder folder(comm);
  if (comm.root()) WriteAllStates(folder.Path("states.h5"));
  comm.Barrier();
  const Rbm rbm = TinyRbm(21);
  const SplitInfo info = ReadSplitInfo(folder.Path("states.h5"), "test");
  // 37 rows a chunk: ranks get uneven shares and chunks end in the middle of a share.
  const std::vector<double> f = ScoreRows(comm, rbm, info, 37, false);
  ASSERT_EQ(f.size(), 256U);

  // Truth by enumeration of every joint state: log p(v) = log sum_h e^-E(v,h) - log Z.
  std::vector<double> unnormalized(256);
  std::vector<double> joint;
  for (uint32_t v = 0; v < 256; ++v) {
    std::vector<double> terms;
    for (uint32_t h = 0; h < (1U << kHidden); ++h) {
      terms.push_back(-Energy(rbm, Bits(v, kVisible), Bits(h, kHidden)));
      joint.push_back(terms.back());
    }
    unnormalized[v] = LogSumExp(terms);
  }
  const double log_z = LogSumExp(joint);
  std::vector<double> log_p(256);
  for (std::size_t v = 0; v < 256; ++v) log_p[v] = unnormalized[v] - log_z;

  std::vector<std::size_t> by_f(256);
  std::iota(by_f.begin(), by_f.end(), std::size_t{0});
  std::vector<std::size_t> by_p = by_f;
  std::sort(by_f.begin(), by_f.end(), [&](auto a, auto b) { return f[a] < f[b]; });
  std::sort(by_p.begin(), by_p.end(), [&](auto a, auto b) { return log_p[a] > log_p[b]; });
  // The ranking is only well defined when neighbouring log p differ by more than the float
  // rounding of F (below 1e-5 here); check that this model has no such near-ties.
  double closest = INFINITY;
  for (std::size_t i = 1; i < 256; ++i)
    closest = std::min(closest, log_p[by_p[i - 1]] - log_p[by_p[i]]);
  ASSERT_GT(closest, 2e-5) << "pick another seed: two states are nearly tied";
  EXPECT_EQ(by_f, by_p);
  for (std::size_t v = 0; v < 256; ++v) {
    // Float parameters and products, double accumulation: agreement to 1e-5 nats.
    EXPECT_NEAR(-f[v] - log_z, log_p[v], 1e-5) << "state " << v;
  }
}

TEST(FreeEnergyScores, AreTheSameOnEveryRankCount) {
  const Communicator comm;
  const SharedFolder folder(comm);
  if (comm.root()) WriteAllStates(folder.Path("states.h5"));
  comm.Barrier();
  const Rbm rbm = TinyRbm(4);
  const SplitInfo info = ReadSplitInfo(folder.Path("states.h5"), "test");
  const std::vector<double> gathered = ScoreRows(comm, rbm, info, 37, false);
  // The same chunks scored by this rank alone, in row order: bit for bit the same.
  std::vector<double> alone;
  for (int64_t first = 0; first < info.rows; first += 37) {
    const int64_t count = std::min<int64_t>(37, info.rows - first);
    Matrix batch;
    BytesToBatch(ReadVisibleRows(info, first, count), kVisible, &batch);
    const Eigen::VectorXd f = FreeEnergy(rbm, batch);
    alone.insert(alone.end(), f.data(), f.data() + f.size());
  }
  EXPECT_EQ(gathered, alone);
}

TEST(FreeEnergyScores, RefuseADataFileOfAnotherWidth) {
  const Communicator comm;
  const SharedFolder folder(comm);
  if (comm.root()) WriteAllStates(folder.Path("states.h5"));
  comm.Barrier();
  const SplitInfo info = ReadSplitInfo(folder.Path("states.h5"), "test");
  try {
    (void)ScoreRows(comm, Rbm(9, 2), info, 100, false);
    FAIL() << "a model of 9 visible units must not score 8 columns";
  } catch (const Error& e) {
    EXPECT_TRUE(e.collective());
    EXPECT_NE(std::string(e.what()).find("has 8 columns, the model has 9"), std::string::npos)
        << e.what();
  }
}

TEST(Auroc, KnownCases) {
  const std::vector<uint8_t> positive = {1, 1, 0, 0};
  EXPECT_DOUBLE_EQ(Auroc(std::vector<double>{3, 4, 1, 2}, positive), 1.0);  // separated
  EXPECT_DOUBLE_EQ(Auroc(std::vector<double>{1, 2, 3, 4}, positive), 0.0);  // reversed
  EXPECT_DOUBLE_EQ(Auroc(std::vector<double>{5, 5, 5, 5}, positive), 0.5);  // all ties
  // By hand: positives {0.8, 0.4, 0.4}, negatives {0.4, 0.1}. Of the 6 pairs, 0.8 beats
  // both, each 0.4 ties one and beats one: (2 + 1.5 + 1.5) / 6.
  EXPECT_DOUBLE_EQ(
      Auroc(std::vector<double>{0.8, 0.4, 0.4, 0.4, 0.1}, std::vector<uint8_t>{1, 1, 1, 0, 0}),
      5.0 / 6.0);
}

TEST(Auroc, EqualsTheCountOverAllPairs) {
  // Many ties: integer scores in [0, 6).
  std::vector<uint32_t> words(801);
  FillBits({.seed = 5, .stream = Stream::kSample}, words);
  std::vector<double> scores;
  std::vector<uint8_t> positive;
  for (std::size_t i = 0; i < 400; ++i) {
    scores.push_back(BoundedInt(words[i], 6));
    positive.push_back(words[400 + i] & 1U);
  }
  double wins = 0;
  double pairs = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    for (std::size_t j = 0; j < scores.size(); ++j) {
      if (!positive[i] || positive[j]) continue;
      wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
      pairs += 1;
    }
  }
  // Both are exact ratios of integers below 2^53: equal up to the last division.
  EXPECT_DOUBLE_EQ(Auroc(scores, positive), wins / pairs);
}

TEST(Auroc, OfTwoGaussiansIsPhiOfTheirDistanceOverRootTwo) {
  // Anomalies ~ N(1, 1), normal rows ~ N(0, 1): AUROC = P(X - Y > 0) = Phi(1 / sqrt 2).
  constexpr std::size_t kEach = 20000;
  std::vector<float> noise(2 * kEach);
  FillNormal({.seed = 8, .stream = Stream::kSample}, noise);
  std::vector<double> scores(2 * kEach);
  std::vector<uint8_t> positive(2 * kEach, 0);
  for (std::size_t i = 0; i < 2 * kEach; ++i) {
    positive[i] = i < kEach ? 1 : 0;
    scores[i] = noise[i] + (i < kEach ? 1.0 : 0.0);
  }
  const double expected = 0.5 * std::erfc(-0.5);  // Phi(1/sqrt2) = erfc(-1/2) / 2 = 0.76025
  // The standard error of the estimate is about 0.003 with 20,000 of each: 5 of them.
  EXPECT_NEAR(Auroc(scores, positive), expected, 0.015);
}

TEST(Auroc, NeedsBothClassesAndFiniteScores) {
  EXPECT_THROW((void)Auroc(std::vector<double>{1, 2}, std::vector<uint8_t>{1, 1}), Error);
  EXPECT_THROW((void)Auroc(std::vector<double>{1, 2}, std::vector<uint8_t>{0, 0}), Error);
  EXPECT_THROW((void)Auroc(std::vector<double>{1, NAN}, std::vector<uint8_t>{0, 1}), Error);
}

TEST(MeanByClass, AveragesEachLabel) {
  const auto classes =
      MeanByClass(std::vector<double>{1, 2, 3, 10}, std::vector<uint8_t>{4, 0, 4, 0});
  ASSERT_EQ(classes.size(), 2U);
  EXPECT_EQ(classes[0].label, 0);
  EXPECT_EQ(classes[0].count, 2);
  EXPECT_DOUBLE_EQ(classes[0].mean, 6.0);
  EXPECT_EQ(classes[1].label, 4);
  EXPECT_DOUBLE_EQ(classes[1].mean, 2.0);
}

TEST(LogPartitionFiles, PreferExactThenAisAndBelongToTheModel) {
  const Communicator comm;
  const SharedFolder folder(comm);
  if (!comm.root()) return;
  const Rbm rbm = TinyRbm(2);
  LogPartitionReport report;
  report.model = "tiny.h5";
  report.model_checksum = ModelChecksum(rbm);
  report.visible = kVisible;
  report.hidden = kHidden;
  report.base_bias = Eigen::VectorXf::Zero(kVisible);
  report.base_rate = "uniform";
  AisResult ais;
  ais.log_z = 101.5;
  ais.log_z_low = 101.0;
  ais.log_z_high = 101.75;
  report.ais = ais;
  WriteLogPartitionFile(folder.Path("ais.logz.h5"), report);
  const LogPartition from_ais = ReadLogPartition(folder.Path("ais.logz.h5"), rbm);
  EXPECT_EQ(from_ais.method, "ais");
  EXPECT_DOUBLE_EQ(from_ais.value, 101.5);
  EXPECT_DOUBLE_EQ(from_ais.low, 101.0);
  EXPECT_DOUBLE_EQ(from_ais.high, 101.75);

  report.exact = ExactResult{.log_z = 100.25, .plan = PlanExact(rbm), .seconds = 0.0};
  WriteLogPartitionFile(folder.Path("both.logz.h5"), report);
  const LogPartition from_exact = ReadLogPartition(folder.Path("both.logz.h5"), rbm);
  EXPECT_EQ(from_exact.method, "exact");
  EXPECT_DOUBLE_EQ(from_exact.value, 100.25);
  EXPECT_DOUBLE_EQ(from_exact.low, 100.25);

  // Another model's results are refused, naming both checksums.
  try {
    (void)ReadLogPartition(folder.Path("both.logz.h5"), TinyRbm(3));
    FAIL() << "log Z of another model must be refused";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("computed for a model with checksum " + ModelChecksum(rbm)),
        std::string::npos)
        << e.what();
  }

  std::ofstream(folder.Path("logz.txt")) << "  42.125\n";
  const LogPartition given = ReadLogPartition(folder.Path("logz.txt"), rbm);
  EXPECT_DOUBLE_EQ(given.value, 42.125);
  EXPECT_EQ(given.method, "given");
  std::ofstream(folder.Path("two.txt")) << "1 2\n";
  EXPECT_THROW((void)ReadLogPartition(folder.Path("two.txt"), rbm), Error);
  { auto file = h5::File::Create(folder.Path("other.h5")); }
  try {
    (void)ReadLogPartition(folder.Path("other.h5"), rbm);
    FAIL() << "an HDF5 file that is not a logz results file must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("other.h5: not a results file of 'zeta logz'"),
              std::string::npos)
        << e.what();
  }
}

TEST(ScoreFiles, CsvKeepsEveryBitAndHdf5HoldsTheColumns) {
  const Communicator comm;
  const SharedFolder folder(comm);
  if (!comm.root()) return;
  ScoreTable table;
  table.free_energy = {-1.0 / 3.0, 12345.678901234567, -0.0};
  table.log_z = LogPartition{2.5, 2.5, 2.5, "given", "--logz"};
  for (double f : table.free_energy) table.log_p.push_back(-f - 2.5);
  table.labels = {0, 7, 255};
  WriteScoresCsv(folder.Path("s.csv"), table);
  const CsvTable read = ReadCsvTable(folder.Path("s.csv"));
  EXPECT_EQ(read.columns, (std::vector<std::string>{"row", "free_energy", "log_p", "label"}));
  EXPECT_EQ(read.Column("free_energy"), table.free_energy);
  EXPECT_EQ(read.Column("log_p"), table.log_p);
  EXPECT_EQ(read.Column("label"), (std::vector<double>{0, 7, 255}));
  WriteScoresHdf5(folder.Path("s.h5"), table);
  const auto file = h5::File::OpenRead(folder.Path("s.h5"));
  EXPECT_EQ(file.Read<double>("/scores/free_energy"), table.free_energy);
  EXPECT_EQ(file.Read<uint8_t>("/scores/labels"), table.labels);
  EXPECT_DOUBLE_EQ(file.DoubleAttribute("/scores", "log_z"), 2.5);
}

}  // namespace
}  // namespace zeta
