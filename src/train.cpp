// The training loop: shards, CD-k / PCD-k statistics, exact sums, momentum SGD,
// checkpoints, signals and metrics.
#include "zeta/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>

#include "zeta/checkpoint.hpp"
#include "zeta/data.hpp"
#include "zeta/error.hpp"
#include "zeta/evaluate.hpp"
#include "zeta/kernels.hpp"
#include "zeta/log.hpp"
#include "zeta/model.hpp"
#include "zeta/pictures.hpp"
#include "zeta/random.hpp"
#include "zeta/run.hpp"
#include "zeta/version.hpp"

namespace zeta {

void DeclareTrainOptions(TrainConfig* c, OptionTable* t) {
  const auto run = Role::kRunOnly;
  t->Add("data", &c->data, "HDF5 data file made by 'zeta data import' (required)", {}, run)
      .Add("train_split", &c->train_split, "split of the data file to train on")
      .Add("heldout_split", &c->heldout_split,
           "split for held-out metrics (the default is skipped when the file has none)", {}, run)
      .Add("run_dir", &c->run_dir, "folder for model.h5, metrics.csv, checkpoints, run.json", {},
           run)
      .Add("hidden", &c->hidden, "number of hidden units", Between(1, 1 << 20))
      .Add("method", &c->method, "cd (chains restart at the data) or pcd (persistent chains)",
           OneOf({"cd", "pcd"}))
      .Add("k", &c->k, "Gibbs sweeps per step (CD-k / PCD-k)", Between(1, 1000))
      .Add("epochs", &c->epochs, "passes over the training data", Between(1, 1000000), run)
      .Add("batch", &c->batch, "global minibatch size, split evenly over the shards",
           Between(1, 1 << 20))
      .Add("shards", &c->shards,
           "fixed slices of the data and chains; any rank count up to this gives the same "
           "model",
           Between(1, 4096))
      .Add("seed", &c->seed, "seed of every random stream")
      .Add("learning_rate", &c->learning_rate, "step size of SGD", Between(0, 100))
      .Add("lr_schedule", &c->lr_schedule,
           "constant, exponential (lr * lr_decay^epoch) or linear (to 0 at the last epoch)",
           OneOf({"constant", "exponential", "linear"}))
      .Add("lr_decay", &c->lr_decay, "factor per epoch of the exponential schedule", Between(0, 1))
      .Add("momentum", &c->momentum, "momentum of SGD", Between(0, 0.999))
      .Add("weight_decay", &c->weight_decay, "L2 penalty on the weights", Between(0, 1))
      .Add("monitor_samples", &c->monitor_samples,
           "rows of the train and held-out splits used for per-epoch metrics", Between(1, 1 << 24),
           run)
      .Add("checkpoint_every", &c->checkpoint_every,
           "steps between checkpoints; 0: at the end of every epoch", AtLeast(0), run)
      .Add("keep_checkpoints", &c->keep_checkpoints, "checkpoints kept in run_dir/checkpoints",
           Between(1, 1000), run)
      .Switch("resume", &c->resume,
              "continue from the newest checkpoint in run_dir (a new run when there is none)")
      .Add("threads", &c->threads, "BLAS threads per rank", Between(1, 256), run)
      .Add("verbosity", &c->verbosity, "debug, info, warn or error",
           OneOf({"debug", "info", "warn", "error"}), run)
      .Add("stop_after_steps", &c->stop_after_steps,
           "checkpoint and stop (exit 75) after this many steps of this invocation; 0: never",
           AtLeast(0), run)
      .Add("filters_every", &c->filters_every,
           "epochs between pictures of the filters in run_dir/filters/; 0: only filters.png "
           "after the last epoch (learning_curve.png follows every epoch)",
           AtLeast(0), run);
}

double LearningRate(const TrainConfig& config, double epoch) {
  if (config.lr_schedule == "exponential") {
    return config.learning_rate * std::pow(config.lr_decay, std::floor(epoch));
  }
  if (config.lr_schedule == "linear") {
    return config.learning_rate * std::max(0.0, 1.0 - epoch / config.epochs);
  }
  return config.learning_rate;
}

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const std::vector<std::string> kMetricColumns = {"epoch",
                                                 "step",
                                                 "seconds",
                                                 "samples_per_second",
                                                 "reconstruction_error",
                                                 "pseudo_log_likelihood",
                                                 "free_energy_train",
                                                 "free_energy_heldout",
                                                 "exchange_seconds"};

// Bits of the fixed-point grid on which hidden probabilities enter the gradient. With 0/1
// visible states, every partial sum of V^T Q is then a multiple of 2^-bits below 2^24 of
// them, so float GEMM computes it exactly in any order (docs/determinism.md).
int GradientBits(int batch) {
  int log2_rows = 0;
  while ((int64_t{1} << log2_rows) < 2 * int64_t{batch}) ++log2_rows;
  return 24 - log2_rows;
}

std::string FirstDifference(const std::string& stored, const std::string& current) {
  std::istringstream a(stored);
  std::istringstream b(current);
  std::string line_a;
  std::string line_b;
  while (true) {
    const bool more_a = static_cast<bool>(std::getline(a, line_a));
    const bool more_b = static_cast<bool>(std::getline(b, line_b));
    if (!more_a && !more_b) return {};
    if (!more_a) line_a = "(nothing)";
    if (!more_b) line_b = "(nothing)";
    if (line_a != line_b) return "the checkpoint has '" + line_a + "', the config '" + line_b + "'";
  }
}

// The Slurm job this process runs in, from the environment Slurm gives its tasks; null
// outside Slurm.
nlohmann::json SlurmRecord() {
  const char* job = std::getenv("SLURM_JOB_ID");
  if (job == nullptr) return nullptr;
  nlohmann::json slurm = {{"job_id", job}};
  const std::pair<const char*, const char*> fields[] = {
      {"SLURM_ARRAY_JOB_ID", "array_job_id"},   {"SLURM_ARRAY_TASK_ID", "array_task_id"},
      {"SLURM_RESTART_COUNT", "restart_count"}, {"SLURM_CLUSTER_NAME", "cluster"},
      {"SLURM_JOB_PARTITION", "partition"},     {"SLURM_JOB_NODELIST", "nodes"}};
  for (const auto& [variable, key] : fields) {
    if (const char* value = std::getenv(variable); value != nullptr) slurm[key] = value;
  }
  return slurm;
}

// The sessions (invocations) recorded by the run that is being resumed; a missing or
// unreadable record gives none, since it must not stop the resume.
nlohmann::json EarlierSessions(const std::string& record_path) {
  if (!fs::exists(record_path)) return nlohmann::json::array();
  try {
    const auto record = ReadJson(record_path);
    if (record.contains("sessions") && record["sessions"].is_array()) return record["sessions"];
  } catch (const Error& e) {
    log::warn("{} (earlier sessions are not carried over)", e.what());
  }
  return nlohmann::json::array();
}

class Trainer {
 public:
  Trainer(const Communicator& comm, const TrainConfig& config, std::string resolved,
          std::string result)
      : comm_(comm), config_(config), resolved_(std::move(resolved)), result_(std::move(result)) {}

  int Run();

 private:
  void Setup();
  void LoadShards();
  void StartFresh();
  bool Resume();
  void BeginEpoch();
  void GatherBatch(Matrix* v0) const;
  bool Step();  // false when stopping is agreed
  void Monitor(double seconds, int64_t steps_timed);
  void SaveCheckpoint();
  void WriteRecord(const std::string& status, const std::string& message = {});
  [[nodiscard]] bool persistent() const { return config_.method == "pcd"; }
  [[nodiscard]] std::string checkpoint_dir() const { return config_.run_dir + "/checkpoints"; }

  const Communicator& comm_;
  TrainConfig config_;
  std::string resolved_;
  std::string result_;

  // Layout of shards and rows.
  SplitInfo train_;
  int nv_ = 0;
  int rows_per_shard_ = 0;  // each shard's share of a minibatch
  Range my_shards_;
  int64_t local_rows_ = 0;                    // minibatch rows of this rank
  std::vector<Range> shard_data_;             // data rows owned by each of my shards
  std::vector<uint8_t> data_;                 // those rows, shard after shard
  std::vector<std::vector<uint32_t>> order_;  // this epoch's row order per shard
  int64_t steps_per_epoch_ = 0;
  int bits_ = 0;
  std::string checksum_;

  // State.
  Rbm rbm_;
  Rbm velocity_;   // optimizer moments, laid out as the parameters
  Matrix chains_;  // persistent chains of my shards [local_rows, nv]
  int64_t step_ = 0;
  int64_t epoch_ = 0;
  int64_t position_ = 0;
  int64_t steps_this_run_ = 0;
  int64_t last_checkpoint_step_ = -1;

  // Workspace reused by every step: no allocation in the loop once sized.
  Matrix v0_, p0_, h_, pv_, v_, ph_, q0_, qk_;
  Rbm gradient_;
  // The exact sum over ranks through node-shared memory; fixed_ is this rank's addends in it
  // (every global sum stays below 2^24 on the grid).
  std::unique_ptr<SharedSum> exchange_;
  std::span<int32_t> fixed_;

  // Monitoring (rank 0).
  Matrix monitor_train_;
  Matrix monitor_heldout_;
  std::string start_time_;
  std::unique_ptr<DirectoryLock> lock_;  // rank 0: no second run in the same run_dir
  std::vector<std::string> hosts_;
  nlohmann::json earlier_sessions_ = nlohmann::json::array();  // of a resumed run
  int64_t first_step_ = 0;                                     // step at which this session began
  // Seconds of this epoch that rank 0 spent in the exchange of the statistics, waiting for
  // slower ranks included: what the epoch would lose with a free interconnect.
  double exchange_seconds_ = 0;
};

void Trainer::Setup() {
  comm_.Collectively([&] {
    if (config_.data.empty()) throw UsageError("option --data: a data file is required");
    if (config_.run_dir.empty()) throw UsageError("option --run_dir: must not be empty");
    if (comm_.size() > config_.shards) {
      throw UsageError("option --shards: " + std::to_string(config_.shards) + " shards for " +
                       std::to_string(comm_.size()) +
                       " ranks; every rank needs at least one shard (raise shards)");
    }
    if (config_.batch % config_.shards != 0) {
      throw UsageError("option --batch: " + std::to_string(config_.batch) +
                       " does not split evenly over " + std::to_string(config_.shards) +
                       " shards (make it a multiple of shards)");
    }
    train_ = ReadSplitInfo(config_.data, config_.train_split);
    nv_ = train_.cols;
    rows_per_shard_ = config_.batch / config_.shards;
    my_shards_ = SplitEvenly(config_.shards, comm_.size(), comm_.rank());
    local_rows_ = my_shards_.size() * rows_per_shard_;
    steps_per_epoch_ = train_.rows / config_.shards / rows_per_shard_;
    if (steps_per_epoch_ == 0) {
      throw UsageError("option --batch: " + std::to_string(config_.batch) + " is larger than " +
                       config_.data + ":/" + config_.train_split + " allows (" +
                       std::to_string(train_.rows) + " rows over " +
                       std::to_string(config_.shards) + " shards)");
    }
    bits_ = GradientBits(config_.batch);
    checksum_ = train_.checksum.empty() ? "absent" : train_.checksum;
    // The default held-out split may be missing (metrics are then skipped, with a warning);
    // one the user named must exist.
    if (config_.heldout_split != TrainConfig().heldout_split &&
        !HasSplit(config_.data, config_.heldout_split)) {
      throw UsageError("option --heldout_split: " + config_.data + " has no split '" +
                       config_.heldout_split + "'");
    }
  });
  // Every rank must read the same data: a stale copy on one node would mix data sets.
  const std::string mine = std::to_string(train_.rows) + " rows of " + std::to_string(nv_) +
                           " columns, checksum " + checksum_;
  std::string first = mine;
  comm_.Broadcast(&first);
  if (!comm_.AllTrue(first == mine)) {
    throw Error(config_.data + ": the ranks read different data (rank 0 sees " + first +
                    "); is the file the same on every node?",
                kExitFailure, /*collective=*/true);
  }
  comm_.Collectively([&] { LoadShards(); });
}

void Trainer::LoadShards() {
  shard_data_.clear();
  for (int64_t s = my_shards_.first; s < my_shards_.last; ++s) {
    shard_data_.push_back(SplitEvenly(train_.rows, config_.shards, static_cast<int>(s)));
  }
  const int64_t first = shard_data_.front().first;
  const int64_t count = shard_data_.back().last - first;
  data_ = ReadVisibleRows(train_, first, count);
}

void Trainer::StartFresh() {
  // Base rate from the pixel counts of all shards: an exact integer sum over ranks.
  std::vector<int64_t> ones(static_cast<std::size_t>(nv_), 0);
  for (std::size_t i = 0; i < data_.size(); ++i) ones[i % nv_] += data_[i];
  comm_.SumInPlace(ones);
  rbm_ = Rbm(nv_, config_.hidden);
  InitializeRbm(config_.seed, ones, train_.rows, &rbm_);
  velocity_ = Rbm(nv_, config_.hidden);
  step_ = epoch_ = position_ = 0;
  if (persistent()) {
    // Chains start from the base-rate model, keyed by their global chain id.
    Matrix p(local_rows_, nv_);
    const Eigen::VectorXf base = (1 + (-rbm_.visible_bias().array()).exp()).inverse();
    p.rowwise() = base.transpose();
    SampleRows(p, config_.seed, Stream::kChainInit,
               static_cast<uint64_t>(my_shards_.first) * rows_per_shard_, 0, 0, &chains_);
  }
}

bool Trainer::Resume() {
  std::string path;
  TrainState state;
  comm_.Collectively([&] {
    if (!comm_.root()) return;
    path = ReadNewestCheckpoint(checkpoint_dir(), &state);
    if (path.empty()) return;
    if (const auto diff = FirstDifference(state.result_config, result_); !diff.empty()) {
      throw Error(path + ": does not match this run: " + diff +
                  "; resume with the original settings or use another run_dir");
    }
    if (state.rbm.visible() != nv_) {
      throw Error(path + ": the model has " + std::to_string(state.rbm.visible()) +
                  " visible units, but " + config_.data + ":/" + config_.train_split + " has " +
                  std::to_string(nv_) + " columns");
    }
    if (state.data_checksum != checksum_) {
      throw Error(path + ": made from data with checksum " + state.data_checksum + ", but " +
                  config_.data + ":/" + config_.train_split + " has " + checksum_);
    }
    // The counters must agree with each other and with this run's steps per epoch; a
    // checkpoint whose numbers are checksummed can still carry damaged attributes.
    if (state.epoch < 0 || state.position < 0 || state.position >= steps_per_epoch_ ||
        state.step != state.epoch * steps_per_epoch_ + state.position) {
      throw Error(path + ": its counters (step " + std::to_string(state.step) + ", epoch " +
                  std::to_string(state.epoch) + ", position " + std::to_string(state.position) +
                  ") do not agree with " + std::to_string(steps_per_epoch_) +
                  " steps per epoch: the checkpoint is damaged" +
                  OlderCheckpointHint(checkpoint_dir()));
    }
    const auto chains = persistent() ? config_.batch : 0;
    if (state.chains.size() != static_cast<std::size_t>(chains) * nv_) {
      throw Error(path + ": holds " + std::to_string(state.chains.size() / nv_) +
                  " persistent chains, this run needs " + std::to_string(chains));
    }
  });
  comm_.Broadcast(&path);
  if (path.empty()) return false;

  std::vector<int64_t> counters = {state.step, state.epoch, state.position};
  comm_.Broadcast(counters);
  step_ = counters[0];
  epoch_ = counters[1];
  position_ = counters[2];
  if (!comm_.root()) {
    state.rbm = Rbm(nv_, config_.hidden);
    state.velocity.resize(state.rbm.parameters().size());
    state.chains.resize(persistent() ? static_cast<std::size_t>(config_.batch) * nv_ : 0);
  }
  rbm_ = std::move(state.rbm);
  velocity_ = Rbm(nv_, config_.hidden);
  comm_.Broadcast(rbm_.parameters());
  comm_.Broadcast(std::span<float>(state.velocity));
  std::copy(state.velocity.begin(), state.velocity.end(), velocity_.parameters().begin());
  if (persistent()) {
    comm_.Broadcast(std::span<uint8_t>(state.chains));
    const auto first = static_cast<std::size_t>(my_shards_.first) * rows_per_shard_ * nv_;
    BytesToBatch({state.chains.data() + first, static_cast<std::size_t>(local_rows_) * nv_}, nv_,
                 &chains_);
  }
  last_checkpoint_step_ = step_;
  log::info("resumed from {} at step {} (epoch {}, step {} of {})", path, step_, epoch_ + 1,
            position_, steps_per_epoch_);
  return true;
}

void Trainer::BeginEpoch() {
  // Each shard permutes its own rows, keyed by (shard, epoch): Fisher-Yates.
  order_.assign(shard_data_.size(), {});
  for (std::size_t s = 0; s < shard_data_.size(); ++s) {
    const auto n = static_cast<std::size_t>(shard_data_[s].size());
    auto& order = order_[s];
    order.resize(n);
    for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
    std::vector<uint32_t> words(n);
    FillBits({.seed = config_.seed,
              .stream = Stream::kPermutation,
              .index = static_cast<uint64_t>(my_shards_.first) + s,
              .step = static_cast<uint64_t>(epoch_)},
             words);
    for (std::size_t i = n - 1; i > 0; --i) {
      std::swap(order[i], order[BoundedInt(words[i], static_cast<uint32_t>(i + 1))]);
    }
  }
}

void Trainer::GatherBatch(Matrix* v0) const {
  v0->resize(local_rows_, nv_);
  std::size_t shard_offset = 0;  // first byte of the shard's rows in data_
  Eigen::Index row = 0;
  for (std::size_t s = 0; s < shard_data_.size(); ++s) {
    for (int i = 0; i < rows_per_shard_; ++i, ++row) {
      const auto source = order_[s][static_cast<std::size_t>(position_ * rows_per_shard_ + i)];
      const uint8_t* bytes = data_.data() + shard_offset + static_cast<std::size_t>(source) * nv_;
      for (int j = 0; j < nv_; ++j) (*v0)(row, j) = bytes[j];
    }
    shard_offset += static_cast<std::size_t>(shard_data_[s].size()) * nv_;
  }
}

bool Trainer::Step() {
  // Positive phase: hidden probabilities at the data.
  GatherBatch(&v0_);
  HiddenProbabilities(rbm_, v0_, &p0_, 1.0F, rows_per_shard_);

  // The chain: CD restarts at the data, PCD continues its persistent states.
  const auto first_id = static_cast<uint64_t>(my_shards_.first) * rows_per_shard_;
  const auto step = static_cast<uint64_t>(step_);
  if (persistent()) {
    HiddenProbabilities(rbm_, chains_, &ph_, 1.0F, rows_per_shard_);
    SampleRows(ph_, config_.seed, Stream::kHidden, first_id, step, 0, &h_);
  } else {
    SampleRows(p0_, config_.seed, Stream::kHidden, first_id, step, 0, &h_);
  }
  for (int sweep = 0; sweep < config_.k; ++sweep) {
    VisibleProbabilities(rbm_, h_, &pv_, rows_per_shard_);
    SampleRows(pv_, config_.seed, Stream::kVisible, first_id, step, static_cast<uint32_t>(sweep),
               &v_);
    HiddenProbabilities(rbm_, v_, &ph_, 1.0F, rows_per_shard_);
    if (sweep + 1 < config_.k) {
      SampleRows(ph_, config_.seed, Stream::kHidden, first_id, step,
                 static_cast<uint32_t>(sweep + 1), &h_);
    }
  }
  if (persistent()) chains_ = v_;

  // Negative phase and statistics: <v h>_data - <v h>_model on the exact fixed-point grid.
  const float grid = std::ldexp(1.0F, bits_);
  q0_ = (p0_.array() * grid).round() / grid;
  qk_ = (ph_.array() * grid).round() / grid;
  // With 0/1 states the sparse kernel adds only the rows a 1 selects and writes the weight
  // statistics straight in fixed point; on the grid every order gives the same exact sums
  // as the dense GEMM, which stays as the fallback.
  const std::size_t count = gradient_.parameters().size();
  const auto weights_count = static_cast<std::size_t>(nv_) * config_.hidden;
  const auto sparse =
      BinaryWeightStatisticsFixed(v0_, q0_, v_, qk_, bits_, std::span(fixed_).first(weights_count));
  if (!sparse) {
    gradient_.weights().noalias() = v0_.transpose() * q0_;
    gradient_.weights().noalias() -= v_.transpose() * qk_;
  }
  gradient_.visible_bias() = (v0_.colwise().sum() - v_.colwise().sum()).transpose();
  gradient_.hidden_bias() = (q0_.colwise().sum() - qk_.colwise().sum()).transpose();

  // One exact sum over ranks carries the statistics and two flags: stop and divergence.
  const std::size_t first = sparse ? weights_count : 0;
  const bool finite =
      (!sparse || *sparse) && ToFixedPoint(gradient_.parameters().subspan(first), bits_,
                                           std::span(fixed_).subspan(first, count - first));
  ++steps_this_run_;
  const bool stop = StopRequested() ||
                    (config_.stop_after_steps > 0 && steps_this_run_ >= config_.stop_after_steps);
  fixed_[count] = stop ? 1 : 0;
  fixed_[count + 1] = finite ? 0 : 1;
  const auto exchange_start = Clock::now();
  const std::span<const int32_t> sums = exchange_->Sum();
  exchange_seconds_ += std::chrono::duration<double>(Clock::now() - exchange_start).count();
  if (sums[count + 1] != 0) {
    throw Error("training diverged at step " + std::to_string(step_) + " (epoch " +
                    std::to_string(epoch_ + 1) +
                    "): the gradient is not finite; lower learning_rate (now " +
                    FormatValue(config_.learning_rate) + ") or raise weight_decay; the last " +
                    "good checkpoint is kept in " + checkpoint_dir(),
                kExitFailure, /*collective=*/true);
  }

  // Momentum SGD with weight decay on W: v <- m v + lr (g - wd W); theta <- theta + v.
  const double epoch = static_cast<double>(epoch_) +
                       static_cast<double>(position_) / static_cast<double>(steps_per_epoch_);
  const auto lr = static_cast<float>(LearningRate(config_, epoch));
  const double scale = std::ldexp(1.0, -bits_) / config_.batch;
  // One pass over parameters that exceed L2, with the finiteness check fused into it
  // (x - x is NaN exactly when x is inf or NaN).
  float* theta = rbm_.parameters().data();
  float* vel = velocity_.parameters().data();
  const auto weights = static_cast<std::size_t>(nv_) * config_.hidden;
  const auto m = static_cast<float>(config_.momentum);
  const auto wd = static_cast<float>(config_.weight_decay);
  int bad = 0;
  for (std::size_t i = 0; i < count; ++i) {
    const float decay = i < weights ? wd : 0.0F;
    const float g = static_cast<float>(static_cast<double>(sums[i]) * scale) - decay * theta[i];
    vel[i] = m * vel[i] + lr * g;
    theta[i] += vel[i];
    bad |= theta[i] - theta[i] == 0.0F ? 0 : 1;
  }
  if (bad != 0) {
    throw Error("training diverged at step " + std::to_string(step_) +
                    ": parameters are no longer finite; lower learning_rate (now " +
                    FormatValue(config_.learning_rate) + "); the last good checkpoint is kept in " +
                    checkpoint_dir(),
                kExitFailure, /*collective=*/true);
  }
  ++step_;
  ++position_;
  return sums[count] == 0;
}

void Trainer::Monitor(double seconds, int64_t steps_timed) {
  if (!comm_.root()) return;
  const double recon = ReconstructionError(rbm_, monitor_train_);
  const Matrix& pll_rows = monitor_heldout_.rows() > 0 ? monitor_heldout_ : monitor_train_;
  const double pll = PseudoLogLikelihood(rbm_, pll_rows, config_.seed);
  const double f_train = MeanFreeEnergy(rbm_, monitor_train_);
  const double f_heldout =
      monitor_heldout_.rows() > 0 ? MeanFreeEnergy(rbm_, monitor_heldout_) : std::nan("");
  const double rate = seconds > 0 ? static_cast<double>(steps_timed) * config_.batch / seconds : 0;
  MetricsFile(config_.run_dir + "/metrics.csv", kMetricColumns)
      .Append({std::to_string(epoch_), std::to_string(step_), FormatValue(seconds),
               FormatValue(rate), FormatValue(recon), FormatValue(pll), FormatValue(f_train),
               FormatValue(f_heldout), FormatValue(exchange_seconds_)});
  log::info(
      "epoch {}/{}  step {}  recon {:.5f}  PLL {:.3f}  F train {:.3f} held-out {:.3f}  "
      "{:.0f} samples/s  {:.2f} s",
      epoch_, config_.epochs, step_, recon, pll, f_train, f_heldout, rate, seconds);
}

void Trainer::SaveCheckpoint() {
  // Chains travel to rank 0 in rank order, which is shard order.
  std::vector<uint8_t> mine(static_cast<std::size_t>(chains_.size()));
  for (std::size_t i = 0; i < mine.size(); ++i) mine[i] = chains_.data()[i] > 0.5F ? 1 : 0;
  auto chains = comm_.Gather(mine);
  const std::string path = checkpoint_dir() + "/" + CheckpointName(step_);
  comm_.Collectively([&] {
    if (!comm_.root()) return;
    TrainState state;
    state.rbm = rbm_;
    state.velocity.assign(velocity_.parameters().begin(), velocity_.parameters().end());
    state.chains = std::move(chains);
    state.step = step_;
    state.epoch = epoch_;
    state.position = position_;
    state.seed = config_.seed;
    state.config = resolved_;
    state.result_config = result_;
    state.data_checksum = checksum_;
    WriteCheckpoint(path, state);
    PruneCheckpoints(checkpoint_dir(), config_.keep_checkpoints);
  });
  last_checkpoint_step_ = step_;
  log::debug("checkpoint {}", path);
}

void Trainer::WriteRecord(const std::string& status, const std::string& message) {
  if (!comm_.root()) return;
  nlohmann::json record = {
      {"status", status},
      {"message", message},
      {"command", "train"},
      {"config", resolved_},
      {"seed", config_.seed},
      {"zeta_version", kVersion},
      {"git_commit", kGitCommit},
      {"blas", kBlasBackend},
      {"data", config_.data},
      {"data_checksum", checksum_},
      {"ranks", comm_.size()},
      {"hosts", hosts_},
      {"slurm", SlurmRecord()},
      {"start", start_time_},
      {"end", status == "running" ? "" : UtcNow()},
      {"step", step_},
      {"epoch", epoch_},
      {"peak_resident_bytes_rank0", PeakResidentBytes()},
  };
  // One entry per invocation (a requeued job resumes in a new one); "start" is the first's.
  auto sessions = earlier_sessions_;
  sessions.push_back({{"start", start_time_},
                      {"end", record["end"]},
                      {"status", status},
                      {"first_step", first_step_},
                      {"last_step", step_},
                      {"ranks", comm_.size()},
                      {"hosts", hosts_},
                      {"slurm", record["slurm"]}});
  if (!earlier_sessions_.empty()) record["start"] = earlier_sessions_.front().value("start", "");
  record["sessions"] = sessions;
  WriteJsonAtomically(config_.run_dir + "/run.json", record);
}

int Trainer::Run() {
  // From the start: a stop request during the set-up is honoured after the first step.
  InstallStopSignals();
  start_time_ = UtcNow();
  hosts_ = comm_.GatherStrings(HostName());
  std::sort(hosts_.begin(), hosts_.end());
  hosts_.erase(std::unique(hosts_.begin(), hosts_.end()), hosts_.end());
  Setup();
  comm_.Collectively([&] {
    if (!comm_.root()) return;
    std::error_code error;
    fs::create_directories(checkpoint_dir(), error);
    if (error) {
      throw Error("option --run_dir: cannot create " + checkpoint_dir() + " (" + error.message() +
                  ")");
    }
    lock_ = std::make_unique<DirectoryLock>(config_.run_dir);
    RemoveStaleTemporaries(checkpoint_dir());
    const bool earlier_run =
        !ListCheckpoints(checkpoint_dir()).empty() || fs::exists(config_.run_dir + "/run.json");
    if (!config_.resume && earlier_run) {
      throw UsageError(config_.run_dir +
                       " already holds a run: pass --resume to continue "
                       "it, or choose another run_dir");
    }
  });
  const bool resumed = config_.resume && Resume();
  if (!resumed) StartFresh();
  comm_.Collectively([&] {
    if (epoch_ > config_.epochs || (epoch_ == config_.epochs && position_ > 0)) {
      throw UsageError("option --epochs: the run was resumed at step " + std::to_string(step_) +
                       ", in epoch " + std::to_string(epoch_ + (position_ > 0 ? 1 : 0)) +
                       "; --epochs must be at least that (now " + std::to_string(config_.epochs) +
                       ")");
    }
  });

  // Monitor rows and the metrics file (rank 0).
  comm_.Collectively([&] {
    if (!comm_.root()) return;
    const auto m = std::min<int64_t>(config_.monitor_samples, train_.rows);
    BytesToBatch(ReadVisibleRows(train_, 0, m), nv_, &monitor_train_);
    if (!HasSplit(config_.data, config_.heldout_split)) {
      log::warn("{} has no split '{}': held-out metrics are skipped", config_.data,
                config_.heldout_split);
    } else {
      const auto heldout = ReadSplitInfo(config_.data, config_.heldout_split);
      if (heldout.cols != nv_) {
        throw Error(config_.data + ": /" + config_.heldout_split + " has " +
                    std::to_string(heldout.cols) + " columns, /" + config_.train_split + " has " +
                    std::to_string(nv_));
      }
      const auto n = std::min<int64_t>(config_.monitor_samples, heldout.rows);
      BytesToBatch(ReadVisibleRows(heldout, 0, n), nv_, &monitor_heldout_);
    }
    MetricsFile metrics(config_.run_dir + "/metrics.csv", kMetricColumns);
    metrics.Truncate("step", resumed ? static_cast<double>(step_) : -1.0);
    if (resumed) earlier_sessions_ = EarlierSessions(config_.run_dir + "/run.json");
    first_step_ = step_;
    WriteRecord("running");
  });
  log::info("training {}x{} RBM, {}-{} on {} rows of {}:/{}, {} ranks, {} shards, {} steps/epoch",
            nv_, config_.hidden, config_.method == "pcd" ? "PCD" : "CD", config_.k, train_.rows,
            config_.data, config_.train_split, comm_.size(), config_.shards, steps_per_epoch_);
  if (!resumed) Monitor(0.0, 0);

  gradient_ = Rbm(nv_, config_.hidden);
  exchange_ = std::make_unique<SharedSum>(comm_, gradient_.parameters().size() + 2);
  fixed_ = exchange_->addends();
  try {
    while (epoch_ < config_.epochs) {
      // One epoch (or the rest of one, after a resume).
      BeginEpoch();
      const auto start = Clock::now();
      exchange_seconds_ = 0;
      const int64_t first_position = position_;
      Progress progress("epoch " + std::to_string(epoch_ + 1), steps_per_epoch_,
                        comm_.root() && spdlog::should_log(spdlog::level::info));
      bool go_on = true;
      bool epoch_done = false;
      while (!epoch_done && go_on) {
        go_on = Step();
        progress.Update(position_);
        if (position_ == steps_per_epoch_) {
          // Close the epoch before any checkpoint, so a checkpoint never sits at its end.
          progress.Finish();
          const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
          ++epoch_;
          position_ = 0;
          epoch_done = true;
          Monitor(seconds, steps_per_epoch_ - first_position);
          if (comm_.root()) WriteTrainingPictures(config_, rbm_, epoch_);
        }
        const bool due =
            config_.checkpoint_every > 0 ? step_ % config_.checkpoint_every == 0 : epoch_done;
        if (due || !go_on) SaveCheckpoint();
      }
      if (!go_on) {
        WriteRecord("checkpointed");
        log::info("stopped at step {} after a checkpoint; resume with --resume (exit code {})",
                  step_, static_cast<int>(kExitCheckpointed));
        return kExitCheckpointed;
      }
    }
    if (last_checkpoint_step_ != step_) SaveCheckpoint();
    const std::string model_path = config_.run_dir + "/model.h5";
    comm_.Collectively([&] {
      if (!comm_.root()) return;
      const auto newest = ListCheckpoints(checkpoint_dir()).front();
      fs::copy_file(newest, model_path + ".tmp", fs::copy_options::overwrite_existing);
      fs::rename(model_path + ".tmp", model_path);
    });
    WriteRecord("completed");
    log::info("model written to {}", model_path);
    return kExitOk;
  } catch (const Error& e) {
    WriteRecord("failed", e.what());
    throw;
  }
}

}  // namespace

int Train(const Communicator& comm, const TrainConfig& config, const std::string& resolved,
          const std::string& result) {
  SetComputeThreads(config.threads);
  Trainer trainer(comm, config, resolved, result);
  return trainer.Run();
}

}  // namespace zeta
