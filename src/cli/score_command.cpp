// zeta score: free energy (and log p) of every row of a split, per-class means and AUROC.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>

#include "commands.hpp"
#include "zeta/checkpoint.hpp"
#include "zeta/data.hpp"
#include "zeta/error.hpp"
#include "zeta/log.hpp"
#include "zeta/score.hpp"

namespace zeta::cli {
namespace {

bool EndsWith(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() &&
         text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

void PrintSummary(const ScoreTable& table, const Rbm& rbm, int normal_class, std::ostream& out) {
  const auto n = static_cast<double>(table.free_energy.size());
  double sum = 0;
  double low = std::numeric_limits<double>::infinity();
  double high = -low;
  for (double f : table.free_energy) {
    sum += f;
    low = std::min(low, f);
    high = std::max(high, f);
  }
  const double mean = sum / n;
  double squares = 0;
  for (double f : table.free_energy) squares += (f - mean) * (f - mean);
  char line[256];
  out << "model " << table.model << " (" << rbm.visible() << " x " << rbm.hidden() << "), data "
      << table.data << ":/" << table.split << ", " << table.free_energy.size() << " rows\n";
  std::snprintf(line, sizeof line, "free energy F: mean %.4f, sd %.4f, min %.4f, max %.4f\n", mean,
                std::sqrt(squares / n), low, high);
  out << line;
  if (table.log_z) {
    const LogPartition& z = *table.log_z;
    std::snprintf(line, sizeof line, "log Z = %.6f (%s, %s): mean log p = %.4f nats per row",
                  z.value, z.method.c_str(), z.source.c_str(), -mean - z.value);
    out << line;
    if (z.high > z.low) {
      // log p = -F - log Z moves opposite to log Z: its interval from log Z's.
      std::snprintf(line, sizeof line, " (from log Z's 3-sigma interval: [%.4f, %.4f])",
                    -mean - z.high, -mean - z.low);
      out << line;
    }
    out << "\n";
  }
  if (!table.labels.empty()) {
    out << "per class:\n  label      rows        mean F" << (table.log_z ? "    mean log p" : "")
        << "\n";
    for (const auto& c : MeanByClass(table.free_energy, table.labels)) {
      std::snprintf(line, sizeof line, "  %5d %9lld %13.4f", c.label,
                    static_cast<long long>(c.count), c.mean);
      out << line;
      if (table.log_z) {
        std::snprintf(line, sizeof line, " %13.4f", -c.mean - table.log_z->value);
        out << line;
      }
      out << "\n";
    }
  }
  if (normal_class >= 0) {
    std::vector<uint8_t> anomaly(table.labels.size());
    int64_t anomalies = 0;
    for (std::size_t i = 0; i < anomaly.size(); ++i) {
      anomaly[i] = table.labels[i] != normal_class ? 1 : 0;
      anomalies += anomaly[i];
    }
    const double auroc = Auroc(table.free_energy, anomaly);
    std::snprintf(line, sizeof line,
                  "AUROC of F as anomaly score (normal class %d: %lld normal, %lld anomalies): "
                  "%.6f\n",
                  normal_class, static_cast<long long>(anomaly.size() - anomalies),
                  static_cast<long long>(anomalies), auroc);
    out << line;
  }
}

}  // namespace

int ScoreCommand(const Communicator& comm, const Args& args) {
  std::string model;
  std::string data;
  std::string split = "test";
  std::string out;
  double logz = 0.0;
  std::string logz_file;
  int normal_class = -1;
  int64_t chunk = 4096;
  int threads = 1;
  std::string verbosity = "info";
  OptionTable table(
      "zeta score --model FILE --data FILE [--split NAME] [--out FILE.csv|FILE.h5] [options]",
      "Computes the free energy F(v) = -b.v - sum_j softplus(c_j + (vW)_j) of every row of a "
      "split (lower F:\nmore probable, p(v) = exp(-F(v)) / Z), and log p(v) = -F(v) - log Z when "
      "log Z is given. Rows are\nspread over the ranks; rank 0 writes the scores in row order "
      "(CSV: row, free_energy[, log_p][, label];\nHDF5: /scores/...) and prints a summary: the "
      "mean per class when the split has labels and, with\n--normal-class K, the AUROC of F as "
      "an anomaly score for telling rows of other classes from class K.");
  table.Add("model", &model, "model or checkpoint file (required)")
      .Add("data", &data, "data file made by 'zeta data import' (required)")
      .Add("split", &split, "split of --data to score")
      .Add("out", &out, "scores file, CSV (.csv) or HDF5 (.h5); none: summary only")
      .Add("logz", &logz, "log Z of the model, to add log p = -F - log Z")
      .Add("logz-file", &logz_file,
           "file holding log Z: a results file of 'zeta logz' for this model (exact, else AIS) "
           "or a text file with one number")
      .Add("normal-class", &normal_class,
           "label of the normal class for the AUROC of F as anomaly score; -1: no AUROC",
           Between(-1, 255))
      .Add("chunk", &chunk, "rows read and scored at a time per rank", Between(1, 1 << 24))
      .Add("threads", &threads, "BLAS threads per rank", Between(1, 256))
      .Add("verbosity", &verbosity, "debug, info, warn or error",
           OneOf({"debug", "info", "warn", "error"}), Role::kRunOnly);
  if (!ParseCollectively(comm, &table, args)) return kExitOk;

  Rbm rbm;
  SplitInfo info;
  ScoreTable scores;
  comm.Collectively([&] {
    log::Init(comm.rank(), comm.size(), verbosity);
    if (model.empty()) throw UsageError("option --model: a model file is required");
    if (data.empty()) throw UsageError("option --data: a data file is required");
    if (table.Given("logz") && !logz_file.empty()) {
      throw UsageError("options --logz and --logz-file: give at most one of them");
    }
    if (!out.empty() && !EndsWith(out, ".csv") && !EndsWith(out, ".h5") &&
        !EndsWith(out, ".hdf5")) {
      throw UsageError("option --out: '" + out + "' must end in .csv, .h5 or .hdf5");
    }
    if (table.Given("logz") && !std::isfinite(logz)) {
      throw UsageError("option --logz: expected a finite number");
    }
    rbm = ReadModel(model);
    info = ReadSplitInfo(data, split);
    if (comm.root()) {
      // The output replaces only a scores file of the same form: HDF5, or CSV with this
      // run's header (log_p when log Z is given, label when the split has labels).
      const bool log_p = table.Given("logz") || !logz_file.empty();
      const bool labels = info.has_labels && info.rows > 0;
      const OutputKind kind = EndsWith(out, ".csv")
                                  ? OutputKind::Csv(ScoresCsvHeader(log_p, labels))
                                  : OutputKind::Hdf5("zeta-scores");
      CheckOutputFile("out", out, {model, data, logz_file}, kind);
    }
    if (normal_class >= 0 && !info.has_labels) {
      throw UsageError("option --normal-class: " + data + ":/" + split + " has no labels");
    }
    if (table.Given("logz")) scores.log_z = LogPartition{logz, logz, logz, "given", "--logz"};
    if (!logz_file.empty()) scores.log_z = ReadLogPartition(logz_file, rbm);
    if (comm.root() && info.has_labels) scores.labels = ReadLabelRows(info, 0, info.rows);
    if (normal_class >= 0 && comm.root()) {
      int64_t normal = 0;
      for (uint8_t label : scores.labels) normal += label == normal_class ? 1 : 0;
      if (normal == 0 || normal == info.rows) {
        throw UsageError("option --normal-class " + std::to_string(normal_class) + ": " + data +
                         ":/" + split + " has " + std::to_string(normal) +
                         " rows of that class "
                         "out of " +
                         std::to_string(info.rows) +
                         "; the AUROC needs both normal "
                         "rows and anomalies");
      }
    }
  });
  SetComputeThreads(threads);
  log::info("scoring {} rows of {}:/{} with {} on {} ranks", info.rows, data, split, model,
            comm.size());
  scores.free_energy = ScoreRows(comm, rbm, info, chunk, spdlog::should_log(spdlog::level::info));

  comm.Collectively([&] {
    if (!comm.root()) return;
    scores.model = model;
    scores.data = data;
    scores.split = split;
    if (scores.log_z) {
      for (double f : scores.free_energy) scores.log_p.push_back(-f - scores.log_z->value);
    }
    if (!out.empty()) {
      if (EndsWith(out, ".csv")) {
        WriteScoresCsv(out, scores);
      } else {
        WriteScoresHdf5(out, scores);
      }
    }
    PrintSummary(scores, rbm, normal_class, std::cout);
    if (!out.empty()) std::cout << "scores: " << out << "\n";
  });
  return kExitOk;
}

}  // namespace zeta::cli
