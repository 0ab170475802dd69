// Block Gibbs chains for 'zeta sample', their layout over ranks and their HDF5 file.
#include "zeta/sample.hpp"

#include <algorithm>
#include <cmath>

#include "zeta/data.hpp"
#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"
#include "zeta/random.hpp"
#include "zeta/run.hpp"
#include "zeta/version.hpp"

namespace zeta {
namespace {

// Sub-streams of Stream::kSample: the two halves of a sweep and the random start.
constexpr uint32_t kHiddenSub = 0;
constexpr uint32_t kVisibleSub = 1;
constexpr uint32_t kStartSub = 2;

// Rows of this rank's matrix, gathered on rank 0 in rank order (= chain order, since the
// ranks own contiguous ranges of chain ids) as exact float bytes.
Matrix GatherRows(const Communicator& comm, const Matrix& local, int64_t total_rows) {
  const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(local.data()),
                                       static_cast<std::size_t>(local.size()) * sizeof(float));
  const auto all = comm.Gather(bytes);
  Matrix out;
  if (!comm.root()) return out;
  out.resize(total_rows, local.cols());
  ZETA_CHECK(all.size() == static_cast<std::size_t>(out.size()) * sizeof(float),
             "every chain must arrive on rank 0");
  std::copy(all.begin(), all.end(), reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

Matrix StartStates(const Rbm& rbm, const SampleConfig& config, const Range& mine) {
  Matrix start(mine.size(), rbm.visible());
  if (config.start == "random") {
    const Matrix half = Matrix::Constant(mine.size(), rbm.visible(), 0.5F);
    SampleRows(half, config.seed, Stream::kSample, static_cast<uint64_t>(mine.first), 0, kStartSub,
               &start);
    return start;
  }
  const SplitInfo info = ReadSplitInfo(config.data, config.split);
  if (info.cols != rbm.visible()) {
    throw Error(config.data + ": /" + config.split + " has " + std::to_string(info.cols) +
                " columns, the model has " + std::to_string(rbm.visible()) + " visible units");
  }
  for (int64_t c = mine.first; c < mine.last; ++c) {
    const auto row = ReadVisibleRows(info, StartRow(c, config.chains, info.rows), 1);
    for (int i = 0; i < rbm.visible(); ++i) {
      start(c - mine.first, i) = static_cast<float>(row[static_cast<std::size_t>(i)]);
    }
  }
  return start;
}

}  // namespace

std::vector<int64_t> SnapshotSweeps(int64_t total, int64_t count) {
  ZETA_CHECK(count >= 0 && count <= total, "snapshots must not outnumber the sweeps");
  std::vector<int64_t> sweeps;
  for (int64_t k = 0; k < count; ++k) {
    sweeps.push_back(static_cast<int64_t>(std::llround(
        static_cast<double>(k + 1) * static_cast<double>(total) / static_cast<double>(count))));
  }
  return sweeps;
}

int64_t StartRow(int64_t chain, int64_t chains, int64_t rows) {
  // chain * rows stays far below 2^63 for any split and chain count Zeta accepts.
  return chain * rows / chains;
}

ChainSamples RunChains(const Rbm& rbm, const Matrix& start, uint64_t first_chain,
                       const SampleConfig& config, const std::function<void(int64_t)>& on_sweep) {
  ZETA_CHECK(start.cols() == rbm.visible(), "start states must match the visible layer");
  const int64_t total = config.burn_in + config.steps;
  ChainSamples out;
  out.snapshot_sweeps = SnapshotSweeps(total, config.snapshots);
  const auto layer = static_cast<std::size_t>(start.size());
  out.states.resize(static_cast<std::size_t>(config.steps) * layer);
  Matrix v = start;
  Matrix ph;
  Matrix h;
  Matrix pv;
  std::size_t next_snapshot = 0;
  for (int64_t t = 0; t < total; ++t) {
    const auto step = static_cast<uint64_t>(t);
    HiddenProbabilities(rbm, v, &ph);
    SampleRows(ph, config.seed, Stream::kSample, first_chain, step, kHiddenSub, &h);
    VisibleProbabilities(rbm, h, &pv);
    SampleRows(pv, config.seed, Stream::kSample, first_chain, step, kVisibleSub, &v);
    const int64_t done = t + 1;
    if (done > config.burn_in) {
      const auto kept = static_cast<std::size_t>(done - config.burn_in - 1);
      std::transform(v.data(), v.data() + layer, out.states.begin() + kept * layer,
                     [](float x) { return static_cast<uint8_t>(x > 0.5F ? 1 : 0); });
    }
    while (next_snapshot < out.snapshot_sweeps.size() &&
           out.snapshot_sweeps[next_snapshot] == done) {
      out.snapshots.push_back(pv);
      ++next_snapshot;
    }
    if (on_sweep) on_sweep(done);
  }
  out.means = pv;
  return out;
}

ChainSamples SampleChains(const Communicator& comm, const Rbm& rbm, const SampleConfig& config,
                          bool progress) {
  const Range mine = SplitEvenly(config.chains, comm.size(), comm.rank());
  Matrix start;
  comm.Collectively([&] { start = StartStates(rbm, config, mine); });

  const int64_t total = config.burn_in + config.steps;
  Progress bar("sampling", total, progress && comm.root());
  ChainSamples local = RunChains(rbm, start, static_cast<uint64_t>(mine.first), config,
                                 [&](int64_t done) { bar.Update(done); });
  bar.Finish();

  // Rank 0 collects every chain: means and snapshots as rows, states step by step.
  ChainSamples all;
  all.snapshot_sweeps = local.snapshot_sweeps;
  all.means = GatherRows(comm, local.means, config.chains);
  for (const auto& snapshot : local.snapshots) {
    all.snapshots.push_back(GatherRows(comm, snapshot, config.chains));
  }
  const auto gathered = comm.Gather(local.states);
  if (!comm.root()) return {};
  const auto nv = static_cast<std::size_t>(rbm.visible());
  const auto steps = static_cast<std::size_t>(config.steps);
  all.states.resize(steps * static_cast<std::size_t>(config.chains) * nv);
  std::size_t from = 0;
  for (int r = 0; r < comm.size(); ++r) {
    const Range theirs = SplitEvenly(config.chains, comm.size(), r);
    const auto block = static_cast<std::size_t>(theirs.size()) * nv;
    for (std::size_t s = 0; s < steps; ++s) {
      const auto to =
          (s * static_cast<std::size_t>(config.chains) + static_cast<std::size_t>(theirs.first)) *
          nv;
      std::copy_n(gathered.begin() + static_cast<std::ptrdiff_t>(from), block,
                  all.states.begin() + static_cast<std::ptrdiff_t>(to));
      from += block;
    }
  }
  return all;
}

void WriteSamples(const std::string& path, const ChainSamples& samples, const SampleConfig& config,
                  const std::string& model) {
  const auto chains = static_cast<hsize_t>(samples.means.rows());
  const auto nv = static_cast<hsize_t>(samples.means.cols());
  h5::AtomicOutput output(path);
  {
    auto file = h5::File::Create(output.temp_path());
    file.SetAttribute("/", "format", std::string("zeta-samples"));
    file.SetAttribute("/", "zeta_version", std::string(kVersion));
    file.SetAttribute("/", "created", UtcNow());
    file.Write<uint8_t>("/samples/visible", samples.states,
                        {static_cast<hsize_t>(config.steps), chains, nv}, 1);
    file.Write<float>("/samples/means",
                      std::span<const float>(samples.means.data(),
                                             static_cast<std::size_t>(samples.means.size())),
                      {chains, nv});
    if (!samples.snapshots.empty()) {
      std::vector<float> snapshots;
      for (const auto& s : samples.snapshots)
        snapshots.insert(snapshots.end(), s.data(), s.data() + s.size());
      file.Write<float>("/samples/snapshots", snapshots,
                        {static_cast<hsize_t>(samples.snapshots.size()), chains, nv});
      file.Write<int64_t>("/samples/snapshot_sweeps", samples.snapshot_sweeps,
                          {static_cast<hsize_t>(samples.snapshot_sweeps.size())});
    }
    file.SetAttribute("/samples", "model", model);
    file.SetAttribute("/samples", "start",
                      config.start == "data" ? "data " + config.data + ":/" + config.split
                                             : std::string("random"));
    file.SetAttribute("/samples", "seed", std::to_string(config.seed));
    file.SetAttribute("/samples", "chains", config.chains);
    file.SetAttribute("/samples", "burn_in", config.burn_in);
    file.SetAttribute("/samples", "steps", config.steps);
    file.Flush();
  }
  output.Commit();
}

}  // namespace zeta
