// zeta sweep expand / collect: a sweep spec to one config per point, and the runs' results
// to one table (rank 0 does the work; the sweep module has the rules).
#include <filesystem>
#include <iostream>

#include "commands.hpp"
#include "zeta/error.hpp"
#include "zeta/log.hpp"
#include "zeta/sweep.hpp"

namespace zeta::cli {
namespace {

std::string DefaultOut(const std::string& spec) {
  return "runs/" + std::filesystem::path(spec).stem().string();
}

int Expand(const Communicator& comm, const Args& args) {
  std::string spec;
  std::string out;
  std::string verbosity = "info";
  OptionTable table(
      "zeta sweep expand SPEC [--out DIR]",
      "Expands a sweep spec into one resolved train config per point. SPEC is a train config "
      "(INI) whose\nvalues may be comma-separated lists, e.g. 'hidden = 64, 128' and "
      "'learning_rate = 0.01, 0.05';\nthe points are their Cartesian product, the last key "
      "varying fastest. Each point gets the run\nfolder DIR/<name> with its config.ini, where "
      "<name> lists the swept values\n(hidden=64_learning_rate=0.01). DIR/configs.txt holds one "
      "config path per line: line i+1 is\npoint i, the task of a job array "
      "(jobs/sweep.sbatch). Prints the number of points and the\nsbatch line that runs them.");
  table.Positional("spec", &spec, "the sweep spec (INI)");
  table.Add("out", &out, "folder of the sweep (default: runs/<SPEC's name without .ini>)")
      .Add("verbosity", &verbosity, "debug, info, warn or error",
           OneOf({"debug", "info", "warn", "error"}), Role::kRunOnly);
  if (!ParseCollectively(comm, &table, args)) return kExitOk;
  comm.Collectively([&] {
    log::Init(comm.rank(), comm.size(), verbosity);
    if (spec.empty()) throw UsageError("zeta sweep expand: a SPEC file is required (see --help)");
    if (!comm.root()) return;
    if (out.empty()) out = DefaultOut(spec);
    while (out.size() > 1 && out.back() == '/') out.pop_back();
    const auto points = WriteSweep(spec, out);
    log::info("{}: {} points in {}", spec, points.size(), out);
    std::cout << out << "/configs.txt: " << points.size() << " configs\n"
              << "run them: sbatch --array=0-" << points.size() - 1 << " jobs/sweep.sbatch " << out
              << "\n";
  });
  return kExitOk;
}

int Collect(const Communicator& comm, const Args& args) {
  std::string dir;
  std::string verbosity = "info";
  OptionTable table("zeta sweep collect DIR",
                    "Gathers every run of the sweep in DIR (made by 'zeta sweep expand'): its "
                    "status from run.json,\nthe final row of metrics.csv and, where 'zeta eval' "
                    "wrote model.eval.<split>.h5 next to the\nmodel, the log-likelihood (the "
                    "test split's when there are several). Writes DIR/sweep.csv\nand "
                    "DIR/sweep.md and prints the Markdown table. Runs not completed are marked in "
                    "the status\ncolumn: checkpointed (stopped, resumable), running (or killed "
                    "without a record), failed (with\nits message) or not-started.");
  table.Positional("dir", &dir, "the sweep folder");
  table.Add("verbosity", &verbosity, "debug, info, warn or error",
            OneOf({"debug", "info", "warn", "error"}), Role::kRunOnly);
  if (!ParseCollectively(comm, &table, args)) return kExitOk;
  comm.Collectively([&] {
    log::Init(comm.rank(), comm.size(), verbosity);
    if (dir.empty()) throw UsageError("zeta sweep collect: a sweep folder DIR is required");
    if (!comm.root()) return;
    const auto result = CollectSweep(dir);
    WriteSweepTables(dir, result);
    std::cout << SweepMarkdown(result);
    log::info("{}: {} runs, {} completed; wrote sweep.csv and sweep.md", dir, result.rows.size(),
              result.completed);
  });
  return kExitOk;
}

}  // namespace

int SweepCommand(const Communicator& comm, const Args& args) {
  if (!args.empty() && args[0] == "expand") return Expand(comm, Args(args.begin() + 1, args.end()));
  if (!args.empty() && args[0] == "collect") {
    return Collect(comm, Args(args.begin() + 1, args.end()));
  }
  throw Error(
      "zeta sweep: expected the subcommand 'expand' or 'collect' (zeta sweep expand "
      "--help)",
      kExitUsage, /*collective=*/true);
}

}  // namespace zeta::cli
