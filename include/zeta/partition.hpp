// The partition function Z = Σ_{v,h} exp(-E(v,h)) of a binary RBM: exact enumeration of the
// smaller layer, annealed importance sampling (AIS) from a base-rate model, and reverse AIS
// from held-out data, each giving the same bits on any number of ranks.
//
// Results file of `zeta logz` (HDF5, written by WriteLogPartitionFile):
//   /             attributes format = zeta-logz, format_version, zeta_version, git_commit,
//                 created, model, model_checksum, visible, hidden, ranks, and gap (reverse
//                 minus forward log Z) when both AIS directions ran
//   /exact        attributes log_z, enumerated_layer (hidden | visible), units, seconds
//   /ais          attributes log_z, log_z_low, log_z_high (log(Ẑ ∓ 3σ̂); low is -inf when
//                 Ẑ - 3σ̂ <= 0), log_z_sd, log_z0, ess, chains, steps, seed, base_rate,
//                 seconds; datasets base_visible_bias float32 [nv], and with --save-weights
//                 log_weights float64 [chains] and inverse_temperatures float64 [steps + 1]
//   /reverse_ais  the same as /ais, plus the attribute heldout; log_weights are the reverse
//                 weights (they estimate Z_0 / Z)
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "zeta/data.hpp"
#include "zeta/model.hpp"
#include "zeta/parallel.hpp"

namespace zeta {

// ---------------------------------------------------------------------------------------
// Exact log Z

inline constexpr int kDefaultMaxExactUnits = 30;

// What exact enumeration of a model walks: the smaller layer (the hidden one on a tie),
// with 2^units states, each costing one softplus per unit of the other layer.
struct ExactPlan {
  bool hidden = true;                  // the enumerated layer
  int units = 0;                       // k
  int other_units = 0;                 // units summed out analytically per state
  [[nodiscard]] double terms() const;  // 2^k * other_units softplus evaluations
};
[[nodiscard]] ExactPlan PlanExact(const Rbm& rbm);

// A sentence on what exact enumeration of `plan` costs on `ranks` ranks (states, softplus
// terms and an estimate of the time).
[[nodiscard]] std::string DescribeExactCost(const ExactPlan& plan, int ranks);

struct ExactResult {
  double log_z = 0.0;
  ExactPlan plan;
  double seconds = 0.0;  // slowest rank
};

// Collective. log Z by enumerating the 2^k states s of the smaller layer, with the other
// layer summed out: for the hidden layer
//   log Z = logsumexp_h [ c·h + Σ_i softplus(b_i + (W h)_i) ],
// and symmetrically for the visible layer; all in double. The states are cut into a fixed
// number of segments (independent of the rank count) spread over the ranks, and the
// segments' (max, sum) pairs are combined in segment order, so every rank returns the same
// bits on any number of ranks. Throws UsageError naming the cost when k > max_units.
[[nodiscard]] ExactResult ExactLogPartition(const Communicator& comm, const Rbm& rbm,
                                            int max_units = kDefaultMaxExactUnits,
                                            bool progress = false);

// ---------------------------------------------------------------------------------------
// AIS

// Inverse temperatures 0 = β_0 < β_1 < ... < β_K = 1. steps = 0 gives the classic ladder
// (Salakhutdinov & Murray 2008): steps of 1e-3 up to 0.5, 1e-4 up to 0.9 and 1e-5 up to 1,
// K = 14,500; otherwise K = steps evenly spaced steps, β_k = k / K.
[[nodiscard]] std::vector<double> InverseTemperatures(int64_t steps);
inline constexpr int64_t kClassicLadderSteps = 14500;

// log Z_A of the base-rate model (visible biases base_bias, W = 0, hidden biases 0) with
// the hidden layer of `rbm`: nh log 2 + Σ_i softplus(base_bias_i).
[[nodiscard]] double BaseRateLogPartition(const Rbm& rbm, const Eigen::VectorXf& base_bias);

struct AisOptions {
  int64_t chains = 100;  // M, with global chain ids 0..M-1
  int64_t steps = 0;     // K; 0: the classic ladder
  uint64_t seed = 1;
  bool progress = false;  // a progress bar or line on rank 0
};

// The importance weights w_1..w_M of a run, summarised in chain order (so the result does
// not depend on how chains were spread over ranks): the log of their mean, the log of
// mean ∓ 3σ̂ with σ̂ = std(w) / sqrt(M) (the low end is -inf when mean - 3σ̂ <= 0), and the
// effective sample size (Σ w)² / Σ w².
struct WeightSummary {
  double log_mean = 0.0;
  double log_low = 0.0;
  double log_high = 0.0;
  double relative_sd = 0.0;  // σ̂ / mean, the standard deviation of log(mean) to first order
  double ess = 0.0;
};
[[nodiscard]] WeightSummary SummarizeLogWeights(std::span<const double> log_weights);

struct AisResult {
  bool reverse = false;
  double log_z = 0.0;      // log Ẑ
  double log_z_low = 0.0;  // the 3σ̂ interval of Ẑ, in log space
  double log_z_high = 0.0;
  double log_z_sd = 0.0;  // σ̂ / Ẑ: the standard deviation of log Ẑ to first order
  double log_z0 = 0.0;    // log Z of the base-rate start model
  double ess = 0.0;
  int64_t chains = 0;
  int64_t steps = 0;
  uint64_t seed = 0;
  double seconds = 0.0;             // slowest rank
  std::vector<double> log_weights;  // one per chain, in chain order, on every rank
};

// The global chain ids [first, last) that `comm`'s rank runs out of `chains`.
[[nodiscard]] Range ChainsOfRank(const Communicator& comm, int64_t chains);

// Collective. Forward AIS from the base-rate model A (visible biases base_bias, W = 0,
// hidden biases 0) to `rbm` along
//   p*_β(v) = exp((1-β) b_A·v + β b·v) Π_j (1 + exp(β (c_j + (vW)_j))),
// one Gibbs transition per inverse temperature (h ~ sigmoid(β (c + vW)), then
// v ~ sigmoid((1-β) b_A + β (b + h Wᵀ))), log weights in double:
//   log w = Σ_{k=1..K} [log p*_{β_k}(v_k) - log p*_{β_{k-1}}(v_k)],
// and log Ẑ = log Z_A + log mean(w), which underestimates log Z in expectation. Random
// numbers are keyed by global chain id and temperature, and each chain's arithmetic does
// not depend on the other chains, so the result is the same bits on any number of ranks.
[[nodiscard]] AisResult ForwardAis(const Communicator& comm, const Rbm& rbm,
                                   const Eigen::VectorXf& base_bias, const AisOptions& options);

// Collective. Reverse AIS (Burda, Grosse & Salakhutdinov 2015): chains start at `start`
// (this rank's rows of the M start states, ChainsOfRank(comm, options.chains), 0/1 values;
// ideally samples of the model, in practice held-out data), run the ladder from β = 1 down
// to 0, and log Ẑ = log Z_A - log mean(w_rev). With exact model samples this overestimates
// log Z in expectation, bracketing it with forward AIS.
[[nodiscard]] AisResult ReverseAis(const Communicator& comm, const Rbm& rbm,
                                   const Eigen::VectorXf& base_bias, const Matrix& start,
                                   const AisOptions& options);

// Collective. Visible biases of the base-rate model of a data split: the smoothed logit of
// each pixel's mean (BaseRateBias), from exact integer counts; each rank reads its share of
// the rows in chunks of chunk_rows. A read error on any rank is thrown on every rank.
[[nodiscard]] Eigen::VectorXf BaseRateFromSplit(const Communicator& comm, const SplitInfo& split,
                                                int64_t chunk_rows = 4096);

// ---------------------------------------------------------------------------------------
// Results files

// FNV-1a of the model's shape and parameter bytes, as 16 hex digits: ties a results file
// to the exact model it was computed for.
[[nodiscard]] std::string ModelChecksum(const Rbm& rbm);

struct LogPartitionReport {
  std::string model;  // path of the model file
  std::string model_checksum;
  int visible = 0;
  int hidden = 0;
  int ranks = 1;
  std::optional<ExactResult> exact;
  std::optional<AisResult> ais;
  std::optional<AisResult> reverse;
  std::string base_rate;      // "uniform" or "<file>:/<split>"
  std::string heldout;        // "<file>:/<split>" of reverse AIS
  Eigen::VectorXf base_bias;  // visible biases of the start model
  bool save_weights = false;  // write per-chain log weights and the ladder
  // Reverse minus forward AIS estimate, when both ran.
  [[nodiscard]] std::optional<double> gap() const;
};

// The default results file next to a model file: the model's name without .h5, then
// ".<kind>.h5" (runs/x/model.h5 and "logz" give runs/x/model.logz.h5).
[[nodiscard]] std::string ResultsPathNextTo(const std::string& model, const std::string& kind);

// Writes the report atomically (temporary file, then rename).
void WriteLogPartitionFile(const std::string& path, const LogPartitionReport& report);

// Reads a results file of `zeta logz` (without per-chain weights); refuses a file that is
// not one, naming what is wrong.
[[nodiscard]] LogPartitionReport ReadLogPartitionFile(const std::string& path);

}  // namespace zeta
