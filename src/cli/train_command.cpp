// zeta train: options, then the training loop of the core library.
#include <sstream>

#include "commands.hpp"
#include "zeta/checkpoint.hpp"
#include "zeta/error.hpp"
#include "zeta/log.hpp"
#include "zeta/train.hpp"

namespace zeta::cli {

int TrainCommand(const Communicator& comm, const Args& args) {
  TrainConfig config;
  std::string config_file;
  OptionTable table("zeta train --config FILE [options]",
                    "Trains a binary RBM with CD-k or PCD-k. Every option may also be set in the "
                    "INI file (key = value); the\ncommand line wins. With --resume and no "
                    "--config, the settings come from the newest checkpoint in --run_dir.");
  table.ConfigFile(&config_file);
  DeclareTrainOptions(&config, &table);
  if (!ParseCollectively(comm, &table, args)) return kExitOk;

  comm.Collectively([&] {
    log::Init(comm.rank(), comm.size(), config.verbosity);
    if (config.resume && config_file.empty()) {
      // The run directory alone: read the settings of its newest checkpoint.
      TrainState newest;
      const auto path = ReadNewestCheckpoint(config.run_dir + "/checkpoints", &newest);
      if (path.empty()) {
        throw UsageError("--resume without --config needs a checkpoint in " + config.run_dir +
                         "/checkpoints, and there is none");
      }
      // Settings of how that invocation ran (a stop request) are not carried over.
      std::istringstream stored(newest.config);
      std::string text;
      for (std::string line; std::getline(stored, line);) {
        if (line.rfind("stop_after_steps", 0) != 0) text += line + "\n";
      }
      table.ParseConfigText(text, path);
    }
  });
  // Every rank must have resolved the same settings.
  const std::string resolved = table.Resolved();
  std::string from_root = resolved;
  comm.Broadcast(&from_root);
  const bool same = comm.AllTrue(from_root == resolved);
  if (!same) {
    throw Error(
        "the ranks resolved different configs (is the config file the same on every "
        "node?)",
        kExitUsage, /*collective=*/true);
  }
  return Train(comm, config, resolved, table.Resolved(Role::kResult));
}

}  // namespace zeta::cli
