// Free energies per row over ranks, AUROC by ranks, log Z files and score files.
#include "zeta/score.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>

#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"
#include "zeta/options.hpp"
#include "zeta/partition.hpp"
#include "zeta/run.hpp"
#include "zeta/version.hpp"

namespace zeta {
namespace {

std::optional<double> NumberInText(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open for reading");
  std::string word;
  std::string extra;
  if (!(in >> word) || (in >> extra)) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(word.c_str(), &end);
  if (end == word.c_str() || *end != '\0' || !std::isfinite(value)) return std::nullopt;
  return value;
}

}  // namespace

std::vector<double> ScoreRows(const Communicator& comm, const Rbm& rbm, const SplitInfo& split,
                              int64_t chunk_rows, bool progress) {
  ZETA_CHECK(chunk_rows > 0, "chunks must hold at least one row");
  // Chunks sit on a fixed grid of rows and ranks take whole chunks, so every row is scored
  // in the same batch at the same position whatever the rank count: the GEMM, and so F,
  // is then the same to the bit (a row's result can depend on its batch's size).
  const int64_t chunks = (split.rows + chunk_rows - 1) / chunk_rows;
  const Range mine = SplitEvenly(chunks, comm.size(), comm.rank());
  const int64_t first_row = mine.first * chunk_rows;
  const int64_t last_row = std::min(mine.last * chunk_rows, split.rows);
  std::vector<double> local;
  local.reserve(static_cast<std::size_t>(std::max<int64_t>(last_row - first_row, 0)));
  comm.Collectively([&] {
    if (split.cols != rbm.visible()) {
      throw Error(split.file + ": /" + split.split + " has " + std::to_string(split.cols) +
                  " columns, the model has " + std::to_string(rbm.visible()) + " visible units");
    }
    Progress bar("scoring " + split.split, last_row - first_row, progress && comm.root());
    Matrix batch;
    for (int64_t first = first_row; first < last_row; first += chunk_rows) {
      const int64_t count = std::min(chunk_rows, last_row - first);
      BytesToBatch(ReadVisibleRows(split, first, count), split.cols, &batch);
      const Eigen::VectorXd f = FreeEnergy(rbm, batch);
      local.insert(local.end(), f.data(), f.data() + f.size());
      bar.Update(first + count - first_row);
    }
    bar.Finish();
  });
  return comm.AllGather(local);
}

double Auroc(std::span<const double> scores, std::span<const uint8_t> positive) {
  ZETA_CHECK(scores.size() == positive.size(), "every score needs a class");
  int64_t n_pos = 0;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      throw Error("AUROC: the score of row " + std::to_string(i) + " is not finite");
    }
    n_pos += positive[i] != 0 ? 1 : 0;
  }
  const auto n = static_cast<int64_t>(scores.size());
  const int64_t n_neg = n - n_pos;
  if (n_pos == 0 || n_neg == 0) {
    throw Error("AUROC needs rows of both classes, found " + std::to_string(n_pos) +
                " anomalies and " + std::to_string(n_neg) + " normal rows");
  }
  std::vector<std::size_t> order(scores.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return scores[a] < scores[b]; });

  // Positions i..j-1 of a group of equal scores hold ranks i+1..j, whose mid-rank is
  // (i + 1 + j) / 2; twice the rank sum of the positives is therefore an integer.
  int64_t twice_rank_sum = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    int64_t positives = 0;
    while (j < order.size() && scores[order[j]] == scores[order[i]]) {
      positives += positive[order[j]] != 0 ? 1 : 0;
      ++j;
    }
    twice_rank_sum += positives * static_cast<int64_t>(i + 1 + j);
    i = j;
  }
  // Mann-Whitney: U = R - n_pos (n_pos + 1) / 2 counts the (positive, negative) pairs
  // ordered correctly, ties as one half; AUROC = U / (n_pos n_neg).
  const int64_t twice_u = twice_rank_sum - n_pos * (n_pos + 1);
  return static_cast<double>(twice_u) /
         (2.0 * static_cast<double>(n_pos) * static_cast<double>(n_neg));
}

std::vector<ClassScore> MeanByClass(std::span<const double> scores,
                                    std::span<const uint8_t> labels) {
  ZETA_CHECK(scores.size() == labels.size(), "every score needs a label");
  std::map<int, std::pair<int64_t, double>> sums;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    auto& [count, sum] = sums[labels[i]];
    ++count;
    sum += scores[i];
  }
  std::vector<ClassScore> out;
  for (const auto& [label, entry] : sums) {
    out.push_back({label, entry.first, entry.second / static_cast<double>(entry.first)});
  }
  return out;
}

LogPartition ReadLogPartition(const std::string& path, const Rbm& rbm) {
  if (!std::filesystem::exists(path)) throw Error(path + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    const auto value = NumberInText(path);
    if (!value) {
      throw Error(path +
                  ": expected a results file of 'zeta logz' or a text file holding one "
                  "finite number (log Z)");
    }
    return {*value, *value, *value, "given", path};
  }
  const LogPartitionReport report = ReadLogPartitionFile(path);
  if (report.model_checksum != ModelChecksum(rbm)) {
    throw Error(path + ": computed for a model with checksum " + report.model_checksum + " (" +
                report.model + "), but this model's checksum is " + ModelChecksum(rbm) +
                "; run 'zeta logz' on this model");
  }
  if (report.exact) {
    const double z = report.exact->log_z;
    return {z, z, z, "exact", path};
  }
  const AisResult& ais = report.ais ? *report.ais : *report.reverse;
  return {ais.log_z, ais.log_z_low, ais.log_z_high, report.ais ? "ais" : "reverse-ais", path};
}

std::string ScoresCsvHeader(bool log_p, bool labels) {
  return std::string("row,free_energy") + (log_p ? ",log_p" : "") + (labels ? ",label" : "");
}

void WriteScoresCsv(const std::string& path, const ScoreTable& table) {
  h5::AtomicOutput output(path);
  {
    std::ofstream out(output.temp_path(), std::ios::trunc);
    out << ScoresCsvHeader(!table.log_p.empty(), !table.labels.empty()) << "\n";
    for (std::size_t i = 0; i < table.free_energy.size(); ++i) {
      out << i << "," << FormatValue(table.free_energy[i]);
      if (!table.log_p.empty()) out << "," << FormatValue(table.log_p[i]);
      if (!table.labels.empty()) out << "," << static_cast<int>(table.labels[i]);
      out << "\n";
    }
    out.close();
    if (!out) throw Error(path + ": cannot write the scores (disk full?)");
  }
  output.Commit();
}

void WriteScoresHdf5(const std::string& path, const ScoreTable& table) {
  const auto rows = static_cast<hsize_t>(table.free_energy.size());
  h5::AtomicOutput output(path);
  {
    auto file = h5::File::Create(output.temp_path());
    file.SetAttribute("/", "format", std::string("zeta-scores"));
    file.SetAttribute("/", "zeta_version", std::string(kVersion));
    file.SetAttribute("/", "created", UtcNow());
    file.Write<double>("/scores/free_energy", table.free_energy, {rows});
    if (!table.log_p.empty()) file.Write<double>("/scores/log_p", table.log_p, {rows});
    if (!table.labels.empty()) file.Write<uint8_t>("/scores/labels", table.labels, {rows});
    file.SetAttribute("/scores", "model", table.model);
    file.SetAttribute("/scores", "data", table.data);
    file.SetAttribute("/scores", "split", table.split);
    if (table.log_z) {
      file.SetAttribute("/scores", "log_z", table.log_z->value);
      file.SetAttribute("/scores", "log_z_low", table.log_z->low);
      file.SetAttribute("/scores", "log_z_high", table.log_z->high);
      file.SetAttribute("/scores", "log_z_method", table.log_z->method);
      file.SetAttribute("/scores", "log_z_source", table.log_z->source);
    }
    file.Flush();
  }
  output.Commit();
}

}  // namespace zeta
