// zeta inspect: what a model, checkpoint, data, sample, score or log Z file (or a run
// directory) holds, printed readably by rank 0.
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "zeta/error.hpp"
#include "zeta/inspect.hpp"
#include "zeta/log.hpp"

namespace zeta::cli {

int InspectCommand(const Communicator& comm, const Args& args) {
  std::string path;
  std::string verbosity = "info";
  OptionTable table(
      "zeta inspect FILE [options]",
      "Describes FILE: for Zeta's HDF5 files a summary (data: splits, shapes, labels; model and "
      "checkpoint:\nshapes, parameter ranges, training step, config; samples; scores; log Z "
      "results), then every group and\ndataset with its shape, type and attributes. Any other "
      "HDF5 file gets the generic listing. A model\ninside a run directory also shows run.json's "
      "status, the last metrics.csv row and log Z results\nstored next to it. FILE may also be a "
      "run directory, a PNG or a CSV file.");
  table.Positional("file", &path, "the file or run directory to describe (required)")
      .Add("verbosity", &verbosity, "debug, info, warn or error",
           OneOf({"debug", "info", "warn", "error"}), Role::kRunOnly);
  if (!ParseCollectively(comm, &table, args)) return kExitOk;
  comm.Collectively([&] {
    log::Init(comm.rank(), comm.size(), verbosity);
    if (path.empty()) throw UsageError("zeta inspect: expected a FILE to describe (see --help)");
    if (!comm.root()) return;
    try {
      Inspect(path, std::cout);
    } catch (const std::filesystem::filesystem_error& e) {
      throw Error(path + ": cannot read (" + e.code().message() + ")");
    }
  });
  return kExitOk;
}

}  // namespace zeta::cli
