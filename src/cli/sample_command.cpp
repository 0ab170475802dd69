// zeta sample: Gibbs chains of a model, written as HDF5 samples and a PNG grid.
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "zeta/checkpoint.hpp"
#include "zeta/error.hpp"
#include "zeta/log.hpp"
#include "zeta/pictures.hpp"
#include "zeta/sample.hpp"

namespace zeta::cli {
namespace {

// The largest sample file rank 0 gathers: steps x chains x visible bytes.
constexpr int64_t kMaxStateBytes = int64_t{1} << 30;

}  // namespace

int SampleCommand(const Communicator& comm, const Args& args) {
  SampleConfig config;
  std::string model;
  std::string out_h5;
  std::string png;
  int columns = 0;
  int threads = 1;
  std::string verbosity = "info";
  OptionTable table(
      "zeta sample --model FILE [--png FILE] [--out-h5 FILE] [options]",
      "Runs block Gibbs chains v -> h -> v of a model (or checkpoint) from random states or from "
      "rows of a data\nfile, and writes the states after burn-in to HDF5 (/samples/visible "
      "[steps, chains, visible],\n/samples/means, /samples/snapshots) and a PNG grid of the "
      "visible means of the last sweep, one tile\nper chain (with --snapshots: one row per "
      "chain, one column per snapshot). Square visible layers\n(784 = 28 x 28) and data files "
      "that record an image shape are drawn as images, other layers as one\nstrip of cells per "
      "chain. Chains are spread over the ranks; the samples are the same on any number\nof "
      "ranks.");
  table.Add("model", &model, "model or checkpoint file (required)")
      .Add("chains", &config.chains, "number of Gibbs chains", Between(1, 1000000))
      .Add("burn-in", &config.burn_in, "sweeps run before the first kept state", Between(0, 1e9))
      .Add("steps", &config.steps, "sweeps after burn-in whose states go to --out-h5",
           Between(1, 1000000))
      .Add("start", &config.start,
           "random (every pixel Bernoulli(1/2)) or data (chain i starts at row i * rows / chains "
           "of --split)",
           OneOf({"random", "data"}))
      .Add("data", &config.data,
           "data file of --start data; its image shape (if recorded) shapes the picture")
      .Add("split", &config.split, "split of --data")
      .Add("seed", &config.seed, "seed of the sampling stream")
      .Add("snapshots", &config.snapshots,
           "record the means at this many evenly spaced sweeps (the last is the final sweep); "
           "0: none",
           Between(0, 10000))
      .Add("out-h5", &out_h5, "HDF5 file for the samples")
      .Add("png", &png, "PNG file for the picture")
      .Add("columns", &columns, "tiles per row of the grid without snapshots; 0: near square",
           Between(0, 100000))
      .Add("threads", &threads, "BLAS threads per rank", Between(1, 256))
      .Add("verbosity", &verbosity, "debug, info, warn or error",
           OneOf({"debug", "info", "warn", "error"}), Role::kRunOnly);
  if (!ParseCollectively(comm, &table, args)) return kExitOk;

  Rbm rbm;
  TileShape shape;
  comm.Collectively([&] {
    log::Init(comm.rank(), comm.size(), verbosity);
    if (model.empty()) throw UsageError("option --model: a model file is required");
    if (out_h5.empty() && png.empty()) {
      throw UsageError("nothing to write: give --png FILE and/or --out-h5 FILE");
    }
    if (config.start == "data" && config.data.empty()) {
      throw UsageError("option --start data: needs --data FILE");
    }
    if (config.snapshots > config.burn_in + config.steps) {
      throw UsageError("option --snapshots: " + std::to_string(config.snapshots) +
                       " is more than the " + std::to_string(config.burn_in + config.steps) +
                       " sweeps of --burn-in plus --steps");
    }
    rbm = ReadModel(model);
    const int64_t bytes = config.steps * config.chains * rbm.visible();
    if (bytes > kMaxStateBytes) {
      throw UsageError("options --steps and --chains: " + std::to_string(config.steps) + " x " +
                       std::to_string(config.chains) + " states of " +
                       std::to_string(rbm.visible()) + " units exceed " +
                       std::to_string(kMaxStateBytes >> 20) + " MiB; keep fewer steps");
    }
    shape = config.data.empty() ? VisibleShape(rbm.visible())
                                : DataImageShape(config.data, config.split, rbm.visible());
    if (comm.root()) {
      CheckOutputFile("out-h5", out_h5, {model, config.data, png},
                      OutputKind::Hdf5("zeta-samples"));
      CheckOutputFile("png", png, {model, config.data}, OutputKind::Png());
    }
  });
  SetComputeThreads(threads);
  log::info("sampling {} chains of {} ({}x{}) from {} start: {} burn-in + {} sweeps on {} ranks",
            config.chains, model, rbm.visible(), rbm.hidden(), config.start, config.burn_in,
            config.steps, comm.size());
  const ChainSamples samples =
      SampleChains(comm, rbm, config, spdlog::should_log(spdlog::level::info));

  comm.Collectively([&] {
    if (!comm.root()) return;
    if (!out_h5.empty()) {
      WriteSamples(out_h5, samples, config, model);
      std::cout << "samples: " << out_h5 << " (" << config.steps << " x " << config.chains << " x "
                << rbm.visible() << " states)\n";
    }
    if (!png.empty()) {
      const Image picture = samples.snapshots.empty() ? SamplePicture(samples.means, shape, columns)
                                                      : SnapshotPicture(samples.snapshots, shape);
      WritePng(png, picture);
      std::cout << "picture: " << png << " (" << picture.width << " x " << picture.height
                << " pixels, " << (shape.image() ? "images" : "strips") << ")\n";
    }
    std::cout << "mean visible activation of the last sweep: " << samples.means.mean() << "\n";
  });
  return kExitOk;
}

}  // namespace zeta::cli
