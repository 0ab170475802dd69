// The average log-likelihood of a data split, (1/N) Σ_n log p(v_n) = mean(-F(v)) - log Z,
// with the pseudo-log-likelihood and reconstruction error beside it, computed chunk by
// chunk over ranks so that memory stays bounded however large the split.
//
// Results file of `zeta eval` (HDF5, written by WriteEvaluationFile):
//   /        attributes format = zeta-eval, format_version, zeta_version, git_commit, created
//   /eval    attributes model, model_checksum, data, split, data_checksum, rows, ranks,
//            chunk_rows, chunks, seconds, log_likelihood, log_likelihood_low,
//            log_likelihood_high (from log Z's interval), log_likelihood_se (standard error
//            of the mean over rows), mean_negative_free_energy, sd_negative_free_energy,
//            pseudo_log_likelihood, reconstruction_error, log_z, log_z_low, log_z_high,
//            log_z_method (exact | ais), log_z_source (a logz file or "computed"), and
//            log_likelihood_reverse / log_z_reverse when a reverse AIS estimate was given
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "zeta/data.hpp"
#include "zeta/model.hpp"
#include "zeta/parallel.hpp"

namespace zeta {

struct SplitScoreOptions {
  int64_t chunk_rows = 2048;  // rows read and scored at a time per rank
  uint64_t seed = 1;          // picks the bit each row flips in the pseudo-log-likelihood
  bool progress = false;      // a progress bar or line on rank 0
};

struct SplitScores {
  int64_t rows = 0;
  int64_t chunks = 0;
  double mean_negative_free_energy = 0.0;  // (1/N) Σ_n -F(v_n)
  double sd_negative_free_energy = 0.0;    // sample standard deviation over the rows
  double pseudo_log_likelihood = 0.0;      // mean per row (see PseudoLogLikelihood)
  double reconstruction_error = 0.0;       // mean squared error per pixel
  double seconds = 0.0;                    // slowest rank
  int64_t peak_resident_bytes = 0;         // largest over ranks
};

// Collective. Scores every row of `split`. The rows are cut into chunks of chunk_rows with
// fixed global ids, the chunks are spread over ranks (SplitEvenly), and each rank reads and
// scores its chunks one at a time, so memory per rank is about
// chunk_rows × (13 nv + 8 nh) bytes. Per-chunk sums are gathered and added in chunk order,
// so with one BLAS thread per rank the result is the same bits on any rank count. A read
// error on any rank is thrown on every rank.
[[nodiscard]] SplitScores ScoreSplit(const Communicator& comm, const Rbm& rbm,
                                     const SplitInfo& split, const SplitScoreOptions& options);

// An estimate of log Z with its interval (log(Ẑ ∓ 3σ̂) for AIS; both ends equal log Z when
// exact), and where it came from.
struct LogPartitionEstimate {
  double log_z = 0.0;
  double low = 0.0;
  double high = 0.0;
  std::string method;                   // exact | ais
  std::string source;                   // a results file, or "computed"
  std::optional<double> reverse_log_z;  // reverse AIS, the other side of the bracket
};

// mean(-F) - log Z, with the interval carried through (a larger log Z gives a lower
// log-likelihood) and the standard error of the mean over rows, sd(-F) / sqrt(N).
struct AverageLogLikelihood {
  double value = 0.0;
  double low = 0.0;
  double high = 0.0;
  double standard_error = 0.0;
  std::optional<double> reverse;  // mean(-F) - reverse AIS log Z: the conservative value
};
[[nodiscard]] AverageLogLikelihood LogLikelihoodOf(const SplitScores& scores,
                                                   const LogPartitionEstimate& log_z);

struct EvaluationReport {
  std::string model;
  std::string model_checksum;
  SplitInfo split;
  int ranks = 1;
  int64_t chunk_rows = 0;
  SplitScores scores;
  LogPartitionEstimate log_z;
  AverageLogLikelihood log_likelihood;
};

// Writes the report atomically (temporary file, then rename).
void WriteEvaluationFile(const std::string& path, const EvaluationReport& report);

}  // namespace zeta
