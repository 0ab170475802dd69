// Sweeps: spec parsing, the order and names of the expansion, resolved configs, the sweep
// folder, and the table of results: unfinished and failed runs marked, evaluations read.
#include "zeta/sweep.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "zeta/error.hpp"
#include "zeta/likelihood.hpp"
#include "zeta/run.hpp"

namespace zeta {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed at the end.
class Folder {
 public:
  explicit Folder(const std::string& name)
      : path_(fs::temp_directory_path() /
              ("zeta_sweep_test_" + std::to_string(getpid()) + "_" + name)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~Folder() { fs::remove_all(path_); }
  Folder(const Folder&) = delete;
  Folder& operator=(const Folder&) = delete;
  [[nodiscard]] std::string operator/(const std::string& name) const {
    return (path_ / name).string();
  }

 private:
  fs::path path_;
};

void WriteFile(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string UsageMessage(const std::function<void()>& work) {
  try {
    work();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "(no UsageError)";
}

TEST(SweepSpec, KeepsKeysInFileOrderAndSplitsTrimmedLists) {
  const auto spec = ParseSweepSpec(
      "# a grid\ndata = fm.h5\nhidden = 64 ,128,  256   # three\n\nlearning_rate=0.01,0.1\n",
      "grid.ini");
  ASSERT_EQ(spec.keys.size(), 3U);
  EXPECT_EQ(spec.keys[0].key, "data");
  EXPECT_EQ(spec.keys[0].values, std::vector<std::string>({"fm.h5"}));
  EXPECT_EQ(spec.keys[1].key, "hidden");
  EXPECT_EQ(spec.keys[1].values, std::vector<std::string>({"64", "128", "256"}));
  EXPECT_EQ(spec.keys[2].values, std::vector<std::string>({"0.01", "0.1"}));
}

TEST(SweepSpec, RefusesMalformedLinesNamingFileAndLine) {
  const auto message = [](const std::string& text) {
    return UsageMessage([&] { (void)ParseSweepSpec(text, "s.ini"); });
  };
  EXPECT_NE(message("data = a\nhidden 64\n").find("s.ini:2: expected 'key = value'"),
            std::string::npos);
  EXPECT_NE(message("hidden = 1\nhidden = 2\n").find("s.ini:2: key 'hidden' is given twice"),
            std::string::npos);
  EXPECT_NE(message("hidden = 1,,2\n").find("s.ini:1: key 'hidden' has an empty value"),
            std::string::npos);
  EXPECT_NE(message("seed = 1, 1\n").find("lists '1' twice"), std::string::npos);
  EXPECT_NE(message("learning_rate = 0.01, 1e-2\n")
                .find("s.ini:1: key 'learning_rate' lists '0.01' and '1e-2', the same number"),
            std::string::npos);
  EXPECT_NE(message("hidden = 64, 64.0\n").find("the same number twice"), std::string::npos);
  EXPECT_NE(message("[train]\n").find("s.ini:1: sections are not supported"), std::string::npos);
  EXPECT_NE(message(" = 3\n").find("s.ini:1: a key is missing"), std::string::npos);
}

TEST(SweepExpand, IsTheCartesianProductWithTheLastKeyFastest) {
  const auto points = ExpandSweep(
      ParseSweepSpec("data = fm.h5\nhidden = 16, 32\nseed = 1, 2, 3\nepochs = 2\n", "s.ini"));
  ASSERT_EQ(points.size(), 6U);
  const std::vector<std::string> expected = {"hidden=16_seed=1", "hidden=16_seed=2",
                                             "hidden=16_seed=3", "hidden=32_seed=1",
                                             "hidden=32_seed=2", "hidden=32_seed=3"};
  for (std::size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(points[i].name, expected[i]) << "point " << i;
    ASSERT_EQ(points[i].values.size(), 4U);
    EXPECT_EQ(points[i].values[0], std::make_pair(std::string("data"), std::string("fm.h5")));
    EXPECT_EQ(points[i].values[3], std::make_pair(std::string("epochs"), std::string("2")));
    ASSERT_EQ(points[i].swept.size(), 2U);  // fixed keys stay out of the name
  }
  EXPECT_EQ(points[4].swept[0].second, "32");
  EXPECT_EQ(points[4].swept[1].second, "2");
}

TEST(SweepExpand, IsStableAndWithoutListsGivesOnePoint) {
  const std::string text = "data = fm.h5\nlearning_rate = 0.1, 0.01\nhidden = 8, 4\n";
  const auto a = ExpandSweep(ParseSweepSpec(text, "s.ini"));
  const auto b = ExpandSweep(ParseSweepSpec(text, "s.ini"));
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].name, b[i].name);
  // Values keep the order written, not a sorted one.
  EXPECT_EQ(a[0].name, "learning_rate=0.1_hidden=8");
  EXPECT_EQ(a[1].name, "learning_rate=0.1_hidden=4");

  const auto single = ExpandSweep(ParseSweepSpec("data = fm.h5\nhidden = 8\n", "s.ini"));
  ASSERT_EQ(single.size(), 1U);
  EXPECT_EQ(single[0].name, "single");
}

TEST(SweepName, UnsafeCharactersAndLongNamesGetAHashAndStayDistinct) {
  const std::string slash = PointName({{"data", "a/b.h5"}});
  const std::string space = PointName({{"data", "a b.h5"}});
  EXPECT_EQ(slash.rfind("data=a-b.h5_", 0), 0U) << slash;
  EXPECT_EQ(space.rfind("data=a-b.h5_", 0), 0U) << space;
  EXPECT_NE(slash, space);  // same readable part, different hash
  EXPECT_EQ(slash, PointName({{"data", "a/b.h5"}}));
  EXPECT_EQ(slash.size(), std::string("data=a-b.h5_").size() + 8);

  const KeyValues many = {{"learning_rate", "0.0123456789"},
                          {"weight_decay", "0.000123456"},
                          {"momentum", "0.555555555"},
                          {"hidden", "1024"},
                          {"seed", "123456789"}};
  KeyValues other = many;
  other[4].second = "123456780";
  const std::string long_name = PointName(many);
  EXPECT_EQ(long_name.size(), 80U) << long_name;
  EXPECT_NE(long_name, PointName(other));
  for (const char c : long_name) EXPECT_NE(c, '/');
}

TEST(SweepResolve, GivesEveryTrainOptionAndRefusesUnknownKeys) {
  const auto point = ExpandSweep(ParseSweepSpec("data = fm.h5\nhidden = 8\n", "s.ini"))[0];
  const std::string resolved = ResolvePoint(point, "runs/s/single", "s.ini");
  EXPECT_NE(resolved.find("data = fm.h5\n"), std::string::npos);
  EXPECT_NE(resolved.find("hidden = 8\n"), std::string::npos);
  EXPECT_NE(resolved.find("run_dir = runs/s/single\n"), std::string::npos);
  EXPECT_NE(resolved.find("learning_rate = "), std::string::npos);  // defaults filled in

  const auto bad = ExpandSweep(ParseSweepSpec("data = fm.h5\nhiden = 8, 9\n", "s.ini"))[1];
  const auto message = UsageMessage([&] { (void)ResolvePoint(bad, "r", "s.ini"); });
  EXPECT_NE(message.find("s.ini (point hiden=9)"), std::string::npos) << message;
  EXPECT_NE(message.find("hiden"), std::string::npos) << message;
  const auto low = ExpandSweep(ParseSweepSpec("data = f\nmomentum = 0.5, 2\n", "s.ini"))[1];
  EXPECT_NE(UsageMessage([&] { (void)ResolvePoint(low, "r", "s.ini"); }).find("--momentum"),
            std::string::npos);
}

TEST(SweepFolder, HoldsAConfigPerPointAndTheListForTheJobArray) {
  const Folder folder("layout");
  const std::string spec = folder / "grid.ini";
  WriteFile(spec, "data = fm.h5\nhidden = 16, 32\nlearning_rate = 0.01, 0.05\nepochs = 2\n");
  const std::string out = folder / "runs/grid";
  const auto points = WriteSweep(spec, out + "/");
  ASSERT_EQ(points.size(), 4U);

  std::istringstream list(ReadFile(out + "/configs.txt"));
  std::string line;
  std::vector<std::string> configs;
  while (std::getline(list, line)) configs.push_back(line);
  ASSERT_EQ(configs.size(), 4U);
  for (std::size_t i = 0; i < points.size(); ++i) {
    EXPECT_EQ(configs[i], out + "/" + points[i].name + "/config.ini");
    const std::string config = ReadFile(configs[i]);
    EXPECT_NE(config.find("run_dir = " + out + "/" + points[i].name + "\n"), std::string::npos);
    EXPECT_NE(config.find("hidden = " + points[i].swept[0].second + "\n"), std::string::npos);
  }
  EXPECT_EQ(ReadFile(out + "/sweep.ini"), ReadFile(spec));
  const auto manifest = ReadJson(out + "/sweep.json");
  EXPECT_EQ(manifest["swept_keys"], nlohmann::json({"hidden", "learning_rate"}));
  EXPECT_EQ(manifest["points"][3]["name"], "hidden=32_learning_rate=0.05");

  // The same spec again changes nothing; a different one is refused, the folder kept.
  EXPECT_NO_THROW((void)WriteSweep(spec, out));
  WriteFile(spec, "data = fm.h5\nhidden = 16, 32\nlearning_rate = 0.01, 0.05\nepochs = 3\n");
  EXPECT_NE(UsageMessage([&] { (void)WriteSweep(spec, out); }).find("already holds a different"),
            std::string::npos);
  EXPECT_NE(ReadFile(configs[0]).find("epochs = 2\n"), std::string::npos);
}

TEST(SweepFolder, RefusesRunDirInTheSpecAndASpecWithoutData) {
  const Folder folder("refuse");
  WriteFile(folder / "a.ini", "data = fm.h5\nrun_dir = x\nhidden = 1, 2\n");
  EXPECT_NE(UsageMessage([&] {
              (void)WriteSweep(folder / "a.ini", folder / "out");
            }).find("sets run_dir"),
            std::string::npos);
  WriteFile(folder / "b.ini", "hidden = 1, 2\n");
  EXPECT_NE(UsageMessage([&] {
              (void)WriteSweep(folder / "b.ini", folder / "out");
            }).find("no 'data' key"),
            std::string::npos);
  EXPECT_NE(UsageMessage([&] {
              (void)WriteSweep(folder / "none.ini", folder / "out");
            }).find("none.ini: cannot open"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(folder / "out"));
}

// Writes the files a training run leaves: its record and a metrics file of `epochs` rows.
void WriteRun(const std::string& run_dir, const std::string& status, const std::string& message,
              int epochs) {
  nlohmann::json record = {
      {"status", status}, {"message", message}, {"epoch", epochs}, {"step", 10 * epochs}};
  WriteJsonAtomically(run_dir + "/run.json", record);
  std::ofstream metrics(run_dir + "/metrics.csv");
  metrics << "epoch,step,seconds,samples_per_second,reconstruction_error,"
             "pseudo_log_likelihood,free_energy_train,free_energy_heldout\n";
  for (int e = 0; e <= epochs; ++e) {
    metrics << e << "," << 10 * e << ",0.25,100," << 0.5 / (e + 1) << ",-" << 300 - e
            << ".125,-1,-2\n";
  }
}

TEST(SweepCollect, TakesTheLastMetricsRowAndMarksRunsThatDidNotFinish) {
  const Folder folder("collect");
  WriteFile(folder / "grid.ini", "data = fm.h5\nhidden = 16, 32\nseed = 1, 2\n");
  const std::string out = folder / "grid";
  const auto points = WriteSweep(folder / "grid.ini", out);
  WriteRun(out + "/" + points[0].name, "completed", "", 4);
  WriteRun(out + "/" + points[1].name, "checkpointed", "", 2);
  WriteRun(out + "/" + points[2].name, "failed", "training diverged, at step 7", 1);
  // An evaluation as `zeta eval` writes it next to the model, and one of another split.
  EvaluationReport report;
  report.split.split = "test";
  report.log_likelihood.value = -250.5;
  report.log_likelihood.standard_error = 0.25;
  WriteEvaluationFile(out + "/" + points[0].name + "/model.eval.test.h5", report);
  report.split.split = "train";
  report.log_likelihood.value = -240.0;
  WriteEvaluationFile(out + "/" + points[0].name + "/model.eval.train.h5", report);

  const auto table = CollectSweep(out);
  const std::vector<std::string> columns = {"index",
                                            "run",
                                            "status",
                                            "hidden",
                                            "seed",
                                            "epoch",
                                            "step",
                                            "train_seconds",
                                            "reconstruction_error",
                                            "pseudo_log_likelihood",
                                            "free_energy_train",
                                            "free_energy_heldout",
                                            "log_likelihood",
                                            "log_likelihood_se",
                                            "eval_split",
                                            "message"};
  EXPECT_EQ(table.columns, columns);
  ASSERT_EQ(table.rows.size(), 4U);
  EXPECT_EQ(table.completed, 1);
  const auto& done = table.rows[0];
  EXPECT_EQ(done[2], "completed");
  EXPECT_EQ(done[3], "16");
  EXPECT_EQ(done[4], "1");
  EXPECT_EQ(done[5], "4");
  EXPECT_EQ(done[6], "40");
  EXPECT_EQ(done[7], "1.25");  // five rows of 0.25 s: exact in binary
  EXPECT_EQ(done[8], "0.1");
  EXPECT_EQ(done[9], "-296.125");
  EXPECT_EQ(done[12], "-250.5");  // the test split's, not the train split's
  EXPECT_EQ(done[13], "0.25");
  EXPECT_EQ(done[14], "test");
  EXPECT_EQ(table.rows[1][2], "checkpointed");
  EXPECT_EQ(table.rows[1][5], "2");
  EXPECT_EQ(table.rows[2][2], "failed");
  EXPECT_EQ(table.rows[2][15], "training diverged, at step 7");
  EXPECT_EQ(table.rows[2][12], "");
  EXPECT_EQ(table.rows[3][2], "not-started");
  EXPECT_EQ(table.rows[3][8], "");

  const std::string csv = SweepCsv(table);
  EXPECT_NE(csv.find(",\"training diverged, at step 7\"\n"), std::string::npos) << csv;
  const std::string markdown = SweepMarkdown(table);
  int lines = 0;
  for (const char c : markdown) lines += c == '\n' ? 1 : 0;
  EXPECT_EQ(lines, 2 + 4);  // header, rule, a row per point
  EXPECT_NE(markdown.find("| completed |"), std::string::npos);
  EXPECT_NE(markdown.find("| **failed** |"), std::string::npos);
  EXPECT_NE(markdown.find("| **not-started** |"), std::string::npos);

  WriteSweepTables(out, table);
  EXPECT_EQ(ReadFile(out + "/sweep.csv"), csv);
  EXPECT_EQ(ReadFile(out + "/sweep.md"), markdown);
}

TEST(SweepCollect, RefusesAFolderThatIsNotASweep) {
  const Folder folder("empty");
  EXPECT_NE(UsageMessage([&] { (void)CollectSweep(folder / "nothing"); }).find("no sweep.json"),
            std::string::npos);
}

}  // namespace
}  // namespace zeta
