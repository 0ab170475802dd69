// Free-energy scores of data rows: F(v) of every row over ranks, log p(v) = -F(v) - log Z
// when log Z is known, the mean score per class, and the AUROC of F as an anomaly score.
//
// Score file layout (HDF5, written by WriteScoresHdf5):
//   /scores/free_energy  float64 [rows]
//   /scores/log_p        float64 [rows]  only when log Z is known
//   /scores/labels       uint8 [rows]    only when the split has labels
//   /scores              attributes model, data, split, and when log Z is known log_z,
//                        log_z_low, log_z_high, log_z_method, log_z_source
//   /                    attributes format = zeta-scores, zeta_version, created
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "zeta/data.hpp"
#include "zeta/model.hpp"
#include "zeta/parallel.hpp"

namespace zeta {

// Collective. F(v) of every row of the split: the rows are cut into chunks of `chunk_rows`
// on a fixed grid, each rank reads and scores a contiguous range of whole chunks
// (SplitEvenly), and every rank returns all rows, in row order. With one BLAS thread per
// rank the values do not depend on the rank count (they may on `chunk_rows`, in the last
// bits). A read error on any rank is thrown on every rank.
[[nodiscard]] std::vector<double> ScoreRows(const Communicator& comm, const Rbm& rbm,
                                            const SplitInfo& split, int64_t chunk_rows,
                                            bool progress);

// Area under the ROC curve of `scores` for telling the rows marked `positive` (nonzero)
// from the others: P(score of a positive > score of a negative) + P(equal) / 2, computed
// exactly by the Mann-Whitney rank sum with mid-ranks for ties. Throws an Error when
// either class is empty or a score is not finite.
[[nodiscard]] double Auroc(std::span<const double> scores, std::span<const uint8_t> positive);

struct ClassScore {
  int label = 0;
  int64_t count = 0;
  double mean = 0.0;
};
// The mean score of each label present, in increasing label order.
[[nodiscard]] std::vector<ClassScore> MeanByClass(std::span<const double> scores,
                                                  std::span<const uint8_t> labels);

// A log Z, how it was found and where it came from; low and high bound its 3-sigma interval
// (equal to value when it is exact or given).
struct LogPartition {
  double value = 0.0;
  double low = 0.0;
  double high = 0.0;
  std::string method;  // exact, ais, reverse-ais or given
  std::string source;  // a file, or "--logz"
};
// Reads log Z for `rbm` from a results file of 'zeta logz' (the exact value when present,
// else forward AIS, else reverse AIS), refusing a file computed for another model (by
// ModelChecksum); or from a text file holding one number. Throws an Error naming the file.
[[nodiscard]] LogPartition ReadLogPartition(const std::string& path, const Rbm& rbm);

struct ScoreTable {
  std::vector<double> free_energy;
  std::vector<double> log_p;    // empty when log Z is unknown
  std::vector<uint8_t> labels;  // empty when the split has none
  std::optional<LogPartition> log_z;
  std::string model;
  std::string data;
  std::string split;
};

// The first line of the scores CSV: row,free_energy, then log_p and label when present.
[[nodiscard]] std::string ScoresCsvHeader(bool log_p, bool labels);

// Writes the table as CSV (columns row, free_energy, then log_p and label when present;
// reals in their shortest round-trip form) or HDF5 (layout above), atomically.
void WriteScoresCsv(const std::string& path, const ScoreTable& table);
void WriteScoresHdf5(const std::string& path, const ScoreTable& table);

}  // namespace zeta
