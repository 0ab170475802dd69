// CD-k and PCD-k training, data-parallel over shards and ranks, with exact gradient sums.
//
// Work is cut into `shards` fixed slices of the training rows; each shard contributes
// batch / shards rows to every minibatch and owns as many persistent chains. A rank runs a
// contiguous range of whole shards. Random numbers are keyed by global row or chain id and
// step, and the gradient is summed exactly (see docs/determinism.md), so the model is the
// same to the bit on any number of ranks and through any number of restarts.
#pragma once

#include <cstdint>
#include <string>

#include "zeta/options.hpp"
#include "zeta/parallel.hpp"

namespace zeta {

struct TrainConfig {
  std::string data;
  std::string train_split = "train";
  std::string heldout_split = "test";
  std::string run_dir = "runs/zeta";
  int hidden = 500;
  std::string method = "pcd";
  int k = 1;
  int epochs = 20;
  int batch = 100;
  int shards = 4;
  uint64_t seed = 1;
  double learning_rate = 0.01;
  std::string lr_schedule = "constant";
  double lr_decay = 0.9;
  double momentum = 0.5;
  double weight_decay = 1e-4;
  int monitor_samples = 1000;
  int64_t checkpoint_every = 0;
  int keep_checkpoints = 2;
  bool resume = false;
  int threads = 1;
  std::string verbosity = "info";
  int64_t stop_after_steps = 0;
  int filters_every = 0;  // epochs between filter pictures; 0: only after the last epoch
};

// Declares every training option in `table`, bound to the fields of `config`.
void DeclareTrainOptions(TrainConfig* config, OptionTable* table);

// The learning rate at a (fractional) epoch under the config's schedule.
[[nodiscard]] double LearningRate(const TrainConfig& config, double epoch);

// Trains as configured. `resolved` is the full resolved config (INI) and `result` the part
// of it that decides the result (compared on resume). Returns the process exit code:
// kExitOk when done, kExitCheckpointed when stopped by a signal after a checkpoint.
// Errors are thrown collectively (every rank throws the same Error).
[[nodiscard]] int Train(const Communicator& comm, const TrainConfig& config,
                        const std::string& resolved, const std::string& result);

}  // namespace zeta
