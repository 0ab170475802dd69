// Chunked scoring of a data split over ranks, the average log-likelihood and its file.
#include "zeta/likelihood.hpp"

#include <chrono>
#include <cmath>

#include "zeta/error.hpp"
#include "zeta/evaluate.hpp"
#include "zeta/hdf5.hpp"
#include "zeta/run.hpp"
#include "zeta/version.hpp"

namespace zeta {
namespace {

using Clock = std::chrono::steady_clock;

// Sums of one chunk: rows, Σ -F, Σ (-F - chunk mean)², Σ PLL, Σ squared reconstruction error.
constexpr std::size_t kChunkFields = 5;

void ScoreChunk(const Rbm& rbm, const SplitInfo& split, int64_t first, int64_t count, uint64_t seed,
                Matrix* batch, double* out) {
  BytesToBatch(ReadVisibleRows(split, first, count), split.cols, batch);
  const Eigen::ArrayXd negative_f = -FreeEnergy(rbm, *batch).array();
  const double mean = negative_f.mean();
  out[0] = static_cast<double>(count);
  out[1] = negative_f.sum();
  out[2] = (negative_f - mean).square().sum();
  out[3] = PseudoLogLikelihood(rbm, *batch, seed, static_cast<uint64_t>(first)) *
           static_cast<double>(count);
  out[4] = ReconstructionError(rbm, *batch) * static_cast<double>(batch->size());
}

}  // namespace

SplitScores ScoreSplit(const Communicator& comm, const Rbm& rbm, const SplitInfo& split,
                       const SplitScoreOptions& options) {
  ZETA_CHECK(options.chunk_rows > 0, "chunks must hold rows");
  ZETA_CHECK(split.cols == rbm.visible(), "the split's columns must match the visible units");
  const auto start = Clock::now();
  const int64_t chunks = (split.rows + options.chunk_rows - 1) / options.chunk_rows;
  const Range mine = SplitEvenly(chunks, comm.size(), comm.rank());
  std::vector<double> sums(static_cast<std::size_t>(mine.size()) * kChunkFields);
  comm.Collectively([&] {
    Matrix batch;
    Progress progress("eval", mine.size(), options.progress && comm.root());
    for (int64_t chunk = mine.first; chunk < mine.last; ++chunk) {
      const int64_t first = chunk * options.chunk_rows;
      const int64_t count = std::min(options.chunk_rows, split.rows - first);
      ScoreChunk(rbm, split, first, count, options.seed, &batch,
                 sums.data() + static_cast<std::size_t>(chunk - mine.first) * kChunkFields);
      progress.Update(chunk - mine.first + 1);
    }
    progress.Finish();
  });

  // Every rank adds the chunks in chunk order; the spread of -F merges chunk by chunk
  // (Chan et al.): M2 = M2_a + M2_b + δ² n_a n_b / (n_a + n_b), δ the difference of means.
  const std::vector<double> all = comm.AllGather(sums);
  double rows = 0.0;
  double total = 0.0;
  double m2 = 0.0;
  double pll = 0.0;
  double squared_error = 0.0;
  for (std::size_t at = 0; at < all.size(); at += kChunkFields) {
    const double n = all[at];
    const double mean_before = rows > 0 ? total / rows : 0.0;
    const double delta = all[at + 1] / n - mean_before;
    m2 += all[at + 2] + delta * delta * rows * n / (rows + n);
    rows += n;
    total += all[at + 1];
    pll += all[at + 3];
    squared_error += all[at + 4];
  }
  SplitScores scores;
  scores.rows = split.rows;
  scores.chunks = chunks;
  scores.mean_negative_free_energy = total / rows;
  scores.sd_negative_free_energy = rows > 1 ? std::sqrt(m2 / (rows - 1)) : 0.0;
  scores.pseudo_log_likelihood = pll / rows;
  scores.reconstruction_error = squared_error / (rows * split.cols);
  scores.seconds = comm.Max(std::chrono::duration<double>(Clock::now() - start).count());
  scores.peak_resident_bytes =
      static_cast<int64_t>(comm.Max(static_cast<double>(PeakResidentBytes())));
  return scores;
}

AverageLogLikelihood LogLikelihoodOf(const SplitScores& scores, const LogPartitionEstimate& log_z) {
  AverageLogLikelihood ll;
  const double mean = scores.mean_negative_free_energy;
  ll.value = mean - log_z.log_z;
  ll.low = mean - log_z.high;
  ll.high = mean - log_z.low;
  ll.standard_error = scores.sd_negative_free_energy / std::sqrt(static_cast<double>(scores.rows));
  if (log_z.reverse_log_z) ll.reverse = mean - *log_z.reverse_log_z;
  return ll;
}

void WriteEvaluationFile(const std::string& path, const EvaluationReport& report) {
  h5::AtomicOutput output(path);
  {
    auto file = h5::File::Create(output.temp_path());
    file.SetAttribute("/", "format", std::string("zeta-eval"));
    file.SetAttribute("/", "format_version", int64_t{1});
    file.SetAttribute("/", "zeta_version", std::string(kVersion));
    file.SetAttribute("/", "git_commit", std::string(kGitCommit));
    file.SetAttribute("/", "created", UtcNow());
    const std::string g = "/eval";
    file.CreateGroups(g);
    file.SetAttribute(g, "model", report.model);
    file.SetAttribute(g, "model_checksum", report.model_checksum);
    file.SetAttribute(g, "data", report.split.file);
    file.SetAttribute(g, "split", report.split.split);
    file.SetAttribute(g, "data_checksum", report.split.checksum);
    file.SetAttribute(g, "rows", report.scores.rows);
    file.SetAttribute(g, "ranks", int64_t{report.ranks});
    file.SetAttribute(g, "chunk_rows", report.chunk_rows);
    file.SetAttribute(g, "chunks", report.scores.chunks);
    file.SetAttribute(g, "seconds", report.scores.seconds);
    const AverageLogLikelihood& ll = report.log_likelihood;
    file.SetAttribute(g, "log_likelihood", ll.value);
    file.SetAttribute(g, "log_likelihood_low", ll.low);
    file.SetAttribute(g, "log_likelihood_high", ll.high);
    file.SetAttribute(g, "log_likelihood_se", ll.standard_error);
    file.SetAttribute(g, "mean_negative_free_energy", report.scores.mean_negative_free_energy);
    file.SetAttribute(g, "sd_negative_free_energy", report.scores.sd_negative_free_energy);
    file.SetAttribute(g, "pseudo_log_likelihood", report.scores.pseudo_log_likelihood);
    file.SetAttribute(g, "reconstruction_error", report.scores.reconstruction_error);
    file.SetAttribute(g, "log_z", report.log_z.log_z);
    file.SetAttribute(g, "log_z_low", report.log_z.low);
    file.SetAttribute(g, "log_z_high", report.log_z.high);
    file.SetAttribute(g, "log_z_method", report.log_z.method);
    file.SetAttribute(g, "log_z_source", report.log_z.source);
    if (ll.reverse && report.log_z.reverse_log_z) {
      file.SetAttribute(g, "log_likelihood_reverse", *ll.reverse);
      file.SetAttribute(g, "log_z_reverse", *report.log_z.reverse_log_z);
    }
    file.Flush();
  }
  output.Commit();
}

}  // namespace zeta
