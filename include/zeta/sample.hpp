// Drawing samples from a model: block Gibbs chains v -> h -> v from random or data starts,
// spread over ranks by global chain id, and the HDF5 file that holds their results.
//
// Sample file layout (written by WriteSamples):
//   /samples/visible          uint8 [steps, chains, nv]  the states of the kept sweeps
//   /samples/means            float [chains, nv]  p(v | h) of the last sweep
//   /samples/snapshots        float [snapshots, chains, nv]  means along the chains
//   /samples/snapshot_sweeps  int64 [snapshots]  sweeps done at each snapshot
//   /samples                  attributes model, start, seed, chains, burn_in, steps
//   /                         attributes format = zeta-samples, zeta_version, created
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "zeta/model.hpp"
#include "zeta/parallel.hpp"

namespace zeta {

struct SampleConfig {
  int64_t chains = 100;
  int64_t burn_in = 1000;  // sweeps run and discarded
  int64_t steps = 1;       // sweeps after burn-in whose states are kept
  int64_t snapshots = 0;   // means recorded at this many evenly spaced sweeps
  uint64_t seed = 1;
  std::string start = "random";  // random: Bernoulli(1/2) pixels; data: rows of a split
  std::string data;              // data file of a data start
  std::string split = "train";
};

struct ChainSamples {
  Matrix means;                          // [chains, nv]
  std::vector<uint8_t> states;           // [steps, chains, nv]
  std::vector<Matrix> snapshots;         // snapshots x [chains, nv]
  std::vector<int64_t> snapshot_sweeps;  // sweeps done at each snapshot (1-based)
};

// The sweeps after which snapshot k of `count` is taken: round((k + 1) * total / count), so
// the last snapshot is the final state. `count` must not exceed `total`.
[[nodiscard]] std::vector<int64_t> SnapshotSweeps(int64_t total, int64_t count);

// The data row where chain `chain` of `chains` starts: floor(chain * rows / chains), rows
// spread evenly over the split.
[[nodiscard]] int64_t StartRow(int64_t chain, int64_t chains, int64_t rows);

// Runs the chains whose global ids are first_chain, first_chain + 1, ... from the states in
// `start` (one row each). Sweep t (0-based) draws h ~ p(h | v) from the sample stream with
// (index = chain id, step = t, sub = 0), then v ~ p(v | h) with sub = 1, so every chain's
// path depends only on the seed and its id. `on_sweep` (when set) is called after each
// sweep with the number done.
[[nodiscard]] ChainSamples RunChains(const Rbm& rbm, const Matrix& start, uint64_t first_chain,
                                     const SampleConfig& config,
                                     const std::function<void(int64_t)>& on_sweep = {});

// Collective. Each rank runs the chains SplitEvenly gives it, from random states (stream
// sample, sub 2) or from data rows (StartRow); rank 0 returns every chain in id order,
// the other ranks an empty result. The samples do not depend on the number of ranks.
// Errors (a bad data file) are thrown on every rank together.
[[nodiscard]] ChainSamples SampleChains(const Communicator& comm, const Rbm& rbm,
                                        const SampleConfig& config, bool progress);

// Writes the sample file (layout above) atomically; `model` is recorded as an attribute.
void WriteSamples(const std::string& path, const ChainSamples& samples, const SampleConfig& config,
                  const std::string& model);

}  // namespace zeta
