// zeta eval: the average log-likelihood of a data split, with its error bars, and the
// pseudo-log-likelihood and reconstruction error beside it.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "zeta/checkpoint.hpp"
#include "zeta/data.hpp"
#include "zeta/error.hpp"
#include "zeta/likelihood.hpp"
#include "zeta/log.hpp"
#include "zeta/model.hpp"
#include "zeta/partition.hpp"

namespace zeta::cli {
namespace {

struct EvalOptions {
  std::string model;
  std::string data;
  std::string split = "test";
  std::string logz_file;
  std::string train_split = "train";
  int64_t chunk_rows = 2048;
  uint64_t seed = 1;
  int64_t chains = 100;
  int64_t betas = 0;
  int exact_units = 24;
  int threads = 1;
  std::string out;
  bool json = false;
  std::string verbosity = "info";
};

nlohmann::json Number(double x) { return std::isfinite(x) ? nlohmann::json(x) : nullptr; }

// log Z from a results file of zeta logz made for this very model: exact when present,
// otherwise forward AIS, with reverse AIS as the other side of the bracket.
LogPartitionEstimate FromLogzFile(const std::string& path, const Rbm& rbm) {
  const LogPartitionReport report = ReadLogPartitionFile(path);
  if (report.model_checksum != ModelChecksum(rbm)) {
    throw Error(path + ": computed for a model with checksum " + report.model_checksum + " (" +
                report.model + "), but this model's checksum is " + ModelChecksum(rbm) +
                "; run 'zeta logz' on this model");
  }
  LogPartitionEstimate e;
  e.source = path;
  if (report.exact) {
    e.log_z = e.low = e.high = report.exact->log_z;
    e.method = "exact";
  } else if (report.ais) {
    e.log_z = report.ais->log_z;
    e.low = report.ais->log_z_low;
    e.high = report.ais->log_z_high;
    e.method = "ais";
  } else {
    // Reverse AIS alone: its estimate and interval, an upper side in expectation.
    e.log_z = report.reverse->log_z;
    e.low = report.reverse->log_z_low;
    e.high = report.reverse->log_z_high;
    e.method = "reverse-ais";
  }
  if (report.reverse && e.method != "reverse-ais") e.reverse_log_z = report.reverse->log_z;
  return e;
}

void PrintResult(const EvaluationReport& r, const Rbm& rbm, const std::string& out) {
  const SplitScores& s = r.scores;
  const AverageLogLikelihood& ll = r.log_likelihood;
  std::printf("%-22s %s (%d visible, %d hidden) on %s:/%s, %lld rows, %d rank%s\n", "model",
              r.model.c_str(), rbm.visible(), rbm.hidden(), r.split.file.c_str(),
              r.split.split.c_str(), static_cast<long long>(s.rows), r.ranks,
              r.ranks == 1 ? "" : "s");
  std::printf("%-22s %.6f (%s, %s)", "log Z", r.log_z.log_z, r.log_z.method.c_str(),
              r.log_z.source.c_str());
  if (r.log_z.method != "exact") {
    std::printf("; 3-sigma interval [%.6f, %.6f]", r.log_z.low, r.log_z.high);
  }
  std::printf("\n%-22s %.4f nats per row", "average log-likelihood", ll.value);
  if (r.log_z.method != "exact") {
    std::printf("; from log Z's interval [%.4f, %.4f]", ll.low, ll.high);
  }
  std::printf("; standard error over rows %.4f\n", ll.standard_error);
  if (ll.reverse) {
    std::printf("%-22s %.4f (with reverse AIS log Z %.6f: the conservative side)\n",
                "  reverse bracket", *ll.reverse, *r.log_z.reverse_log_z);
  }
  std::printf("%-22s %.4f (sd %.4f over rows)\n", "mean -F(v)", s.mean_negative_free_energy,
              s.sd_negative_free_energy);
  std::printf("%-22s %.4f per row\n", "pseudo-log-likelihood", s.pseudo_log_likelihood);
  std::printf("%-22s %.6f per pixel\n", "reconstruction error", s.reconstruction_error);
  std::printf("%-22s %lld chunks of %lld rows, %.1f s, peak memory %.0f MB per rank\n", "work",
              static_cast<long long>(s.chunks), static_cast<long long>(r.chunk_rows), s.seconds,
              static_cast<double>(s.peak_resident_bytes) / 1e6);
  std::printf("%-22s %s\n", "results", out.c_str());
  std::fflush(stdout);
}

nlohmann::json ResultJson(const EvaluationReport& r, const std::string& out) {
  const SplitScores& s = r.scores;
  const AverageLogLikelihood& ll = r.log_likelihood;
  nlohmann::json j = {{"model", r.model},
                      {"data", r.split.file},
                      {"split", r.split.split},
                      {"rows", s.rows},
                      {"ranks", r.ranks},
                      {"log_likelihood", ll.value},
                      {"log_likelihood_low", Number(ll.low)},
                      {"log_likelihood_high", Number(ll.high)},
                      {"log_likelihood_se", ll.standard_error},
                      {"mean_negative_free_energy", s.mean_negative_free_energy},
                      {"sd_negative_free_energy", s.sd_negative_free_energy},
                      {"pseudo_log_likelihood", s.pseudo_log_likelihood},
                      {"reconstruction_error", s.reconstruction_error},
                      {"log_z", r.log_z.log_z},
                      {"log_z_low", Number(r.log_z.low)},
                      {"log_z_high", Number(r.log_z.high)},
                      {"log_z_method", r.log_z.method},
                      {"log_z_source", r.log_z.source},
                      {"chunk_rows", r.chunk_rows},
                      {"chunks", s.chunks},
                      {"seconds", s.seconds},
                      {"peak_resident_bytes", s.peak_resident_bytes},
                      {"out", out}};
  if (ll.reverse) {
    j["log_likelihood_reverse"] = *ll.reverse;
    j["log_z_reverse"] = *r.log_z.reverse_log_z;
  }
  return j;
}

}  // namespace

int EvalCommand(const Communicator& comm, const Args& args) {
  EvalOptions o;
  OptionTable table(
      "zeta eval --model MODEL.h5 --data DATA.h5 [--split test] [--logz-file MODEL.logz.h5]",
      "Average log-likelihood of a data split, mean(-F(v)) - log Z, with error bars: the "
      "interval of log Z\ncarried through and the standard error over rows. log Z comes from "
      "--logz-file (a results file\nof 'zeta logz' for this model), or else is computed: "
      "exactly when the smaller layer has at most\n--exact-units units, otherwise by AIS from "
      "the base rate of --train-split. Rows are read and\nscored in chunks over ranks, so "
      "memory stays bounded however large the split. Prints a summary\n(or one JSON line) "
      "and writes an HDF5 results file (--out).");
  table.Add("model", &o.model, "model or checkpoint file (required)")
      .Add("data", &o.data, "data file made by 'zeta data import' (required)")
      .Add("split", &o.split, "split of --data to evaluate")
      .Add("logz-file", &o.logz_file, "results file of 'zeta logz' for this model")
      .Add("train-split", &o.train_split,
           "split of --data for the AIS start model when log Z is computed here (uniform "
           "when absent)")
      .Add("chunk-rows", &o.chunk_rows,
           "rows read and scored at a time per rank; memory per rank is about chunk-rows x "
           "(13 visible + 8 hidden) bytes",
           Between(1, 1 << 24))
      .Add("seed", &o.seed, "seed of the pseudo-log-likelihood bits and of AIS run here")
      .Add("chains", &o.chains, "AIS chains when log Z is computed here", Between(2, 1 << 24))
      .Add("betas", &o.betas, "AIS steps when log Z is computed here; 0: the classic ladder",
           Between(0, 1e9))
      .Add("exact-units", &o.exact_units,
           "without --logz-file, compute log Z exactly when the smaller layer has at most this "
           "many units",
           Between(0, 40))
      .Add("threads", &o.threads,
           "BLAS threads per rank (1 keeps the result the same bits on any rank count)",
           Between(1, 256))
      .Add("out", &o.out, "HDF5 results file; default: next to the model, <model>.eval.<split>.h5")
      .Switch("json", &o.json, "print one JSON line instead of the readable summary")
      .Add("verbosity", &o.verbosity, "debug, info, warn or error",
           OneOf({"debug", "info", "warn", "error"}));
  if (!ParseCollectively(comm, &table, args)) return kExitOk;

  Rbm rbm;
  EvaluationReport report;
  SplitInfo train;
  comm.Collectively([&] {
    log::Init(comm.rank(), comm.size(), o.verbosity);
    if (o.model.empty()) throw UsageError("option --model: a model file is required");
    if (o.data.empty()) throw UsageError("option --data: a data file is required");
    if (o.out.empty()) o.out = ResultsPathNextTo(o.model, "eval." + o.split);
    if (SamePath(o.out, o.model)) {
      throw UsageError("option --out: " + o.out + " is the model file; choose another name");
    }
    if (comm.root()) {
      CheckOutputFile("out", o.out, {o.model, o.data, o.logz_file}, OutputKind::Hdf5("zeta-eval"));
    }
    rbm = ReadModel(o.model);
    report.split = ReadSplitInfo(o.data, o.split);
    if (report.split.cols != rbm.visible()) {
      throw Error(o.data + ": /" + o.split + " has " + std::to_string(report.split.cols) +
                  " columns, " + o.model + " has " + std::to_string(rbm.visible()) +
                  " visible units");
    }
    if (!o.logz_file.empty()) {
      report.log_z = FromLogzFile(o.logz_file, rbm);
    } else if (PlanExact(rbm).units > o.exact_units && HasSplit(o.data, o.train_split)) {
      train = ReadSplitInfo(o.data, o.train_split);
      if (train.cols != rbm.visible()) {
        throw Error(o.data + ": /" + o.train_split + " has " + std::to_string(train.cols) +
                    " columns, the model " + std::to_string(rbm.visible()));
      }
    }
  });
  SetComputeThreads(o.threads);
  const bool progress = comm.root() && spdlog::should_log(spdlog::level::info);

  if (o.logz_file.empty()) {
    report.log_z.source = "computed";
    const ExactPlan plan = PlanExact(rbm);
    if (plan.units <= o.exact_units) {
      log::info("log Z exactly: {}", DescribeExactCost(plan, comm.size()));
      const ExactResult exact = ExactLogPartition(comm, rbm, o.exact_units, progress);
      report.log_z.log_z = report.log_z.low = report.log_z.high = exact.log_z;
      report.log_z.method = "exact";
    } else {
      const bool data_base = train.rows > 0;
      const Eigen::VectorXf base =
          data_base ? BaseRateFromSplit(comm, train) : Eigen::VectorXf::Zero(rbm.visible());
      log::info("log Z by AIS: {} chains, {} steps, start model: {}", o.chains,
                o.betas == 0 ? kClassicLadderSteps : o.betas,
                data_base ? "base rate of " + o.data + ":/" + o.train_split : "uniform");
      const AisResult ais =
          ForwardAis(comm, rbm, base,
                     {.chains = o.chains, .steps = o.betas, .seed = o.seed, .progress = progress});
      report.log_z.log_z = ais.log_z;
      report.log_z.low = ais.log_z_low;
      report.log_z.high = ais.log_z_high;
      report.log_z.method = "ais";
    }
  }

  log::info("scoring {} rows of {}:/{} in chunks of {} rows on {} ranks", report.split.rows, o.data,
            o.split, o.chunk_rows, comm.size());
  report.scores = ScoreSplit(comm, rbm, report.split,
                             {.chunk_rows = o.chunk_rows, .seed = o.seed, .progress = progress});
  report.model = o.model;
  report.model_checksum = ModelChecksum(rbm);
  report.ranks = comm.size();
  report.chunk_rows = o.chunk_rows;
  report.log_likelihood = LogLikelihoodOf(report.scores, report.log_z);

  comm.Collectively([&] {
    if (!comm.root()) return;
    WriteEvaluationFile(o.out, report);
    if (o.json) {
      std::cout << ResultJson(report, o.out).dump() << std::endl;
    } else {
      PrintResult(report, rbm, o.out);
    }
  });
  return kExitOk;
}

}  // namespace zeta::cli
