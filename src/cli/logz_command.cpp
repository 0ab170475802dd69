// zeta logz: the log partition function of a model, exactly or by forward and reverse AIS.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "zeta/checkpoint.hpp"
#include "zeta/data.hpp"
#include "zeta/error.hpp"
#include "zeta/log.hpp"
#include "zeta/partition.hpp"

namespace zeta::cli {
namespace {

struct LogzOptions {
  std::string model;
  std::string method = "ais";
  std::string data;
  std::string train_split = "train";
  std::string heldout_split = "test";
  int64_t chains = 100;
  int64_t betas = 0;
  uint64_t seed = 1;
  double gap_warning = 1.0;
  int max_exact_units = kDefaultMaxExactUnits;
  std::string out;
  bool save_weights = false;
  bool json = false;
  std::string verbosity = "info";
};

// A finite number for JSON, or null (JSON has no infinities).
nlohmann::json Number(double x) { return std::isfinite(x) ? nlohmann::json(x) : nullptr; }

nlohmann::json AisJson(const AisResult& ais) {
  return {{"log_z", Number(ais.log_z)},
          {"log_z_low", Number(ais.log_z_low)},
          {"log_z_high", Number(ais.log_z_high)},
          {"log_z_sd", Number(ais.log_z_sd)},
          {"log_z0", ais.log_z0},
          {"ess", ais.ess},
          {"chains", ais.chains},
          {"steps", ais.steps},
          {"seed", ais.seed},
          {"seconds", ais.seconds}};
}

void PrintAis(const char* label, const AisResult& ais) {
  std::printf(
      "%-12s log Z = %.6f   3-sigma interval [%.6f, %.6f]   sd %.4f   ESS %.1f of %lld "
      "chains   %lld steps   %.1f s\n",
      label, ais.log_z, ais.log_z_low, ais.log_z_high, ais.log_z_sd, ais.ess,
      static_cast<long long>(ais.chains), static_cast<long long>(ais.steps), ais.seconds);
}

void PrintReport(const LogPartitionReport& r, const std::string& out) {
  std::printf("%-12s %s: %d visible, %d hidden units, %d rank%s\n", "model", r.model.c_str(),
              r.visible, r.hidden, r.ranks, r.ranks == 1 ? "" : "s");
  if (r.exact) {
    std::printf("%-12s log Z = %.10f   (2^%d %s states enumerated, %.1f s)\n", "exact",
                r.exact->log_z, r.exact->plan.units, r.exact->plan.hidden ? "hidden" : "visible",
                r.exact->seconds);
  }
  if (r.ais || r.reverse) std::printf("%-12s %s\n", "start model", r.base_rate.c_str());
  if (r.ais) PrintAis("AIS", *r.ais);
  if (r.reverse) PrintAis("reverse AIS", *r.reverse);
  if (const auto gap = r.gap()) {
    std::printf(
        "%-12s %.6f nats (reverse minus forward; the true log Z lies between them in "
        "expectation)\n",
        "gap", *gap);
  }
  std::printf("%-12s %s\n", "results", out.c_str());
  std::fflush(stdout);
}

nlohmann::json ReportJson(const LogPartitionReport& r, const std::string& out) {
  nlohmann::json j = {{"model", r.model},     {"model_checksum", r.model_checksum},
                      {"visible", r.visible}, {"hidden", r.hidden},
                      {"ranks", r.ranks},     {"out", out}};
  if (r.exact) {
    j["exact"] = {{"log_z", r.exact->log_z},
                  {"enumerated_layer", r.exact->plan.hidden ? "hidden" : "visible"},
                  {"units", r.exact->plan.units},
                  {"seconds", r.exact->seconds}};
  }
  if (r.ais || r.reverse) j["base_rate"] = r.base_rate;
  if (r.ais) j["ais"] = AisJson(*r.ais);
  if (r.reverse) {
    j["reverse_ais"] = AisJson(*r.reverse);
    j["reverse_ais"]["heldout"] = r.heldout;
  }
  if (const auto gap = r.gap()) j["gap"] = *gap;
  return j;
}

}  // namespace

bool SamePath(const std::string& a, const std::string& b) {
  std::error_code error;
  if (std::filesystem::exists(a) && std::filesystem::exists(b)) {
    return std::filesystem::equivalent(a, b, error);
  }
  return std::filesystem::weakly_canonical(a, error) == std::filesystem::weakly_canonical(b, error);
}

int LogzCommand(const Communicator& comm, const Args& args) {
  LogzOptions o;
  OptionTable table(
      "zeta logz --model MODEL.h5 [--method exact|ais|reverse-ais|both] [--data DATA.h5]",
      "Estimates log Z, the log partition function of a binary RBM. exact enumerates the "
      "2^k states of the\nsmaller layer; ais anneals from the base-rate model of --data's "
      "train split (uniform without\n--data) and underestimates log Z in expectation; "
      "reverse-ais anneals back from held-out rows and\noverestimates it; both runs the two "
      "and reports the gap. Results go to stdout and to an HDF5 file\n(--out); the model "
      "file is never modified. The same seed gives the same bits on any rank count.");
  table.Add("model", &o.model, "model or checkpoint file (required)")
      .Add("method", &o.method, "exact, ais, reverse-ais or both (forward and reverse AIS)",
           OneOf({"exact", "ais", "reverse-ais", "both"}))
      .Add("data", &o.data,
           "data file: its train split gives the AIS start model, its held-out split the "
           "reverse AIS starts")
      .Add("train-split", &o.train_split, "split of --data for the base-rate start model")
      .Add("heldout-split", &o.heldout_split,
           "split of --data whose first --chains rows start reverse AIS")
      .Add("chains", &o.chains, "AIS chains (global ids, spread over ranks)", Between(2, 1 << 24))
      .Add("betas", &o.betas,
           "AIS steps: K evenly spaced inverse temperatures k/K; 0: the classic ladder "
           "(1e-3 to 0.5, 1e-4 to 0.9, 1e-5 to 1; 14,500 steps)",
           Between(0, 1e9))
      .Add("seed", &o.seed, "seed of the AIS random streams")
      .Add("gap-warning", &o.gap_warning,
           "warn when forward and reverse AIS differ by more than this many nats", AtLeast(0))
      .Add("max-exact-units", &o.max_exact_units,
           "refuse exact enumeration of a smaller layer larger than this", Between(1, 40))
      .Add("out", &o.out, "HDF5 results file; default: next to the model, <model>.logz.h5")
      .Switch("save-weights", &o.save_weights,
              "also write the per-chain log weights and the inverse temperatures to --out")
      .Switch("json", &o.json, "print one JSON line instead of the readable summary")
      .Add("verbosity", &o.verbosity, "debug, info, warn or error",
           OneOf({"debug", "info", "warn", "error"}));
  if (!ParseCollectively(comm, &table, args)) return kExitOk;

  const bool exact = o.method == "exact";
  const bool forward = o.method == "ais" || o.method == "both";
  const bool reverse = o.method == "reverse-ais" || o.method == "both";
  Rbm rbm;
  SplitInfo train;
  SplitInfo heldout;
  Matrix start;
  comm.Collectively([&] {
    log::Init(comm.rank(), comm.size(), o.verbosity);
    if (o.model.empty()) throw UsageError("option --model: a model file is required");
    if (reverse && o.data.empty()) {
      throw UsageError("option --method " + o.method +
                       ": reverse AIS starts at held-out rows, so --data is required");
    }
    if (o.out.empty()) o.out = ResultsPathNextTo(o.model, "logz");
    if (SamePath(o.out, o.model)) {
      throw UsageError("option --out: " + o.out + " is the model file; choose another name");
    }
    if (comm.root()) {
      CheckOutputFile("out", o.out, {o.model, o.data}, OutputKind::Hdf5("zeta-logz"));
    }
    rbm = ReadModel(o.model);
    if (o.data.empty() || exact) return;
    const auto check = [&](const SplitInfo& info) {
      if (info.cols != rbm.visible()) {
        throw Error(o.data + ": /" + info.split + " has " + std::to_string(info.cols) +
                    " columns, " + o.model + " has " + std::to_string(rbm.visible()) +
                    " visible units");
      }
    };
    train = ReadSplitInfo(o.data, o.train_split);
    check(train);
    if (!reverse) return;
    heldout = ReadSplitInfo(o.data, o.heldout_split);
    check(heldout);
    if (heldout.rows < o.chains) {
      throw UsageError("option --chains: reverse AIS starts one chain at each of the first " +
                       std::to_string(o.chains) + " rows of " + o.data + ":/" + o.heldout_split +
                       ", which has only " + std::to_string(heldout.rows) +
                       " rows; lower --chains");
    }
    const Range mine = ChainsOfRank(comm, o.chains);
    BytesToBatch(ReadVisibleRows(heldout, mine.first, mine.size()), rbm.visible(), &start);
  });

  LogPartitionReport report;
  report.model = o.model;
  report.model_checksum = ModelChecksum(rbm);
  report.visible = rbm.visible();
  report.hidden = rbm.hidden();
  report.ranks = comm.size();
  report.save_weights = o.save_weights;
  const bool progress = comm.root() && spdlog::should_log(spdlog::level::info);
  if (exact) {
    const ExactPlan plan = PlanExact(rbm);
    if (plan.units <= o.max_exact_units) {
      log::info("exact log Z: {}", DescribeExactCost(plan, comm.size()));
    }
    report.exact = ExactLogPartition(comm, rbm, o.max_exact_units, progress);
  } else {
    if (o.data.empty()) {
      report.base_bias = Eigen::VectorXf::Zero(rbm.visible());
      report.base_rate = "uniform (no --data)";
    } else {
      report.base_bias = BaseRateFromSplit(comm, train);
      report.base_rate = "base rate of " + o.data + ":/" + o.train_split;
    }
    const AisOptions options{
        .chains = o.chains, .steps = o.betas, .seed = o.seed, .progress = progress};
    const int64_t steps = o.betas == 0 ? kClassicLadderSteps : o.betas;
    if (forward) {
      log::info("AIS: {} chains over {} ranks, {} steps, start model: {}", o.chains, comm.size(),
                steps, report.base_rate);
      report.ais = ForwardAis(comm, rbm, report.base_bias, options);
    }
    if (reverse) {
      report.heldout = o.data + ":/" + o.heldout_split;
      log::info("reverse AIS: {} chains from the first rows of {}, {} steps", o.chains,
                report.heldout, steps);
      report.reverse = ReverseAis(comm, rbm, report.base_bias, start, options);
    }
  }

  comm.Collectively([&] {
    if (!comm.root()) return;
    WriteLogPartitionFile(o.out, report);
    if (const auto gap = report.gap(); gap && std::abs(*gap) > o.gap_warning) {
      log::warn(
          "forward and reverse AIS differ by {:.3f} nats, more than --gap-warning {}: "
          "{}; add temperatures (--betas) or chains (--chains)",
          *gap, FormatValue(o.gap_warning),
          *gap > 0 ? "log Z is uncertain within that bracket"
                   : "the estimates cross, so the held-out rows are not typical samples "
                     "of the model or the chains have not mixed");
    }
    if (o.json) {
      std::cout << ReportJson(report, o.out).dump() << std::endl;
    } else {
      PrintReport(report, o.out);
    }
  });
  return kExitOk;
}

}  // namespace zeta::cli
