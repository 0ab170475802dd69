// Checkpoints and model files in HDF5: everything a run needs to continue bit for bit.
//
//   /model/weights        float32 [nv, nh], row-major (attribute layout)
//   /model/visible_bias   float32 [nv]
//   /model/hidden_bias    float32 [nh]
//   /train/velocity/{weights, visible_bias, hidden_bias}   optimizer moments
//   /train/chains         uint8 [shards * chains_per_shard, nv], persistent chains (PCD)
//   /train                attributes step, epoch, position (step within the epoch)
//   /config               the resolved config as INI text; attributes seed, data_checksum
//   /                     attributes format, format_version, zeta_version, git_commit, created
//
// A model file (model.h5) has the same layout; readers of a model need only /model.
//
// The numeric datasets are chunked by whole rows with a Fletcher32 checksum per chunk
// (h5::File::WriteChecksummed), so a bit flip on disk fails the read with a message naming
// the file and dataset instead of resuming from wrong numbers; files written before that
// (contiguous, no checksums) are still read. Not covered: the text of /config and
// /train/result_config (HDF5 keeps variable-length strings in a heap that filters do not
// reach) and the attributes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "zeta/model.hpp"

namespace zeta {

inline constexpr int64_t kCheckpointFormatVersion = 1;

struct TrainState {
  Rbm rbm;
  std::vector<float> velocity;  // same layout as rbm.parameters()
  std::vector<uint8_t> chains;  // [chain count, nv]; empty without persistent chains
  int64_t step = 0;
  int64_t epoch = 0;
  int64_t position = 0;
  uint64_t seed = 0;
  std::string config;         // resolved config (INI)
  std::string result_config;  // the part of it that decides the result
  std::string data_checksum;
};

// Writes the state to `path` atomically (temporary file, flush, fsync, rename).
void WriteCheckpoint(const std::string& path, const TrainState& state);

// Reads and validates a checkpoint: format version, every dataset present with the shape
// the model implies, stored checksums (when written with them), finite values, 0/1 chains.
// Throws an Error naming the file and what is wrong; the file is never changed.
[[nodiscard]] TrainState ReadCheckpoint(const std::string& path);

// Reads and validates only /model (any model or checkpoint file).
[[nodiscard]] Rbm ReadModel(const std::string& path);

// Writes just a model (for tests and tools that build models without training).
void WriteModel(const std::string& path, const Rbm& rbm, const std::string& config = "");

// Checkpoint file name for a step, and the checkpoints in a folder, newest first.
[[nodiscard]] std::string CheckpointName(int64_t step);
[[nodiscard]] std::vector<std::string> ListCheckpoints(const std::string& folder);
// Reads the newest checkpoint in `folder` into *state and returns its path, or "" when there
// is none. A resume never falls back on its own: when the newest cannot be read, the error
// names the older checkpoint that the user may resume from by moving the newest aside.
std::string ReadNewestCheckpoint(const std::string& folder, TrainState* state);
// "; an older checkpoint is kept: move <newest> out of <folder> to resume from <older>", or ""
// when the folder keeps a single checkpoint: the end of an error about the newest one.
[[nodiscard]] std::string OlderCheckpointHint(const std::string& folder);

// Removes temporary files left by a checkpoint write that was killed (kill -9, node loss).
void RemoveStaleTemporaries(const std::string& folder);

// Removes all but the newest `keep` checkpoints in the folder.
void PruneCheckpoints(const std::string& folder, int keep);

}  // namespace zeta
