// zeta: train and evaluate restricted Boltzmann machines, on one rank or many.
#include <cstdio>
#include <exception>
#include <iostream>
#include <map>
#include <vector>

#include "commands.hpp"
#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"
#include "zeta/log.hpp"
#include "zeta/version.hpp"

namespace zeta::cli {
namespace {

struct Command {
  int (*run)(const Communicator&, const Args&);
  const char* summary;
};

const std::map<std::string, Command>& Commands() {
  static const std::map<std::string, Command> commands = {
      {"data", {DataCommand, "data import: IDX or CSV images to a binarized HDF5 data file"}},
      {"eval", {EvalCommand, "average log-likelihood of a data split, with error bars"}},
      {"inspect", {InspectCommand, "what a model, checkpoint, data or results file holds"}},
      {"logz", {LogzCommand, "log partition function: exact, AIS or reverse AIS"}},
      {"sample", {SampleCommand, "Gibbs samples of a model: HDF5 and a PNG grid"}},
      {"score", {ScoreCommand, "free energy (and log p) per row, class means, AUROC"}},
      {"sweep", {SweepCommand, "sweep expand: one config per point; sweep collect: one table"}},
      {"train", {TrainCommand, "train an RBM with CD-k or PCD-k over MPI ranks"}},
  };
  return commands;
}

void PrintUsage() {
  std::cout << "Usage: zeta <command> [options]   (mpirun -n N zeta <command> ... for N ranks)\n\n"
               "Zeta trains and evaluates restricted Boltzmann machines on MPI clusters.\n\n"
               "Commands:\n";
  for (const auto& [name, command] : Commands()) {
    std::printf("  %-8s %s\n", name.c_str(), command.summary);
  }
  std::cout << "\n'zeta <command> --help' explains each command's options.\n"
               "Exit codes: 0 done, 1 runtime failure, 2 usage error, 75 stopped on a signal "
               "after a checkpoint (resume with --resume).\n";
}

struct Subcommand {
  const char* name;
  const char* summary;
};

// The subcommands of the commands that have them, listed by 'zeta <command> --help'.
const std::map<std::string, std::vector<Subcommand>>& Subcommands() {
  static const std::map<std::string, std::vector<Subcommand>> subcommands = {
      {"data", {{"import", "IDX or CSV images to a binarized HDF5 data file"}}},
      {"sweep",
       {{"expand", "a sweep spec (INI with lists of values) to one train config per point"},
        {"collect", "the runs of a sweep folder to one table (sweep.csv, sweep.md)"}}},
  };
  return subcommands;
}

void PrintSubcommands(const std::string& command, const std::vector<Subcommand>& subcommands) {
  std::cout << "Usage: zeta " << command << " <subcommand> [options]\n\nSubcommands:\n";
  for (const auto& sub : subcommands) std::printf("  %-8s %s\n", sub.name, sub.summary);
  std::cout << "\n'zeta " << command
            << " <subcommand> --help' explains each subcommand's options.\n";
}

int Dispatch(const Communicator& comm, const Args& all) {
  if (all.empty() || all[0] == "--help" || all[0] == "-h" || all[0] == "help") {
    if (comm.root()) PrintUsage();
    return all.empty() ? kExitUsage : kExitOk;
  }
  if (all[0] == "--version") {
    if (comm.root())
      std::cout << "zeta " << kVersion << " (" << kGitCommit << ", " << kBlasBackend << ")\n";
    return kExitOk;
  }
  const auto found = Commands().find(all[0]);
  if (found == Commands().end()) {
    throw Error("unknown command '" + all[0] + "'; run 'zeta --help' for the list", kExitUsage,
                /*collective=*/true);
  }
  const auto subcommands = Subcommands().find(all[0]);
  if (subcommands != Subcommands().end() && all.size() > 1 &&
      (all[1] == "--help" || all[1] == "-h")) {
    if (comm.root()) PrintSubcommands(all[0], subcommands->second);
    return kExitOk;
  }
  return found->second.run(comm, Args(all.begin() + 1, all.end()));
}

}  // namespace

bool ParseCollectively(const Communicator& comm, OptionTable* table, const Args& args) {
  bool go_on = true;
  comm.Collectively([&] { go_on = table->Parse(args); });
  return go_on;
}

}  // namespace zeta::cli

int main(int argc, char** argv) {
  zeta::MpiEnvironment mpi(&argc, &argv);
  zeta::h5::SilenceLibraryErrors();
  int code = zeta::kExitOk;
  {
    const zeta::Communicator comm;
    const std::string prefix = comm.size() > 1 ? "[rank " + std::to_string(comm.rank()) + "/" +
                                                     std::to_string(comm.size()) + "] "
                                               : "";
    try {
      zeta::log::Init(comm.rank(), comm.size());
      // Only rank 0 prints help and results; the others still parse and check everything.
      if (!comm.root()) std::cout.setstate(std::ios::failbit);
      code = zeta::cli::Dispatch(comm, zeta::cli::Args(argv + 1, argv + argc));
    } catch (const zeta::Error& e) {
      if (e.collective()) {
        if (comm.root()) std::fprintf(stderr, "zeta: error: %s\n", e.what());
        code = e.exit_code();
      } else {
        std::fprintf(stderr, "%szeta: error: %s\n", prefix.c_str(), e.what());
        zeta::MpiEnvironment::Abort(e.exit_code());
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%szeta: internal error: %s\n", prefix.c_str(), e.what());
      zeta::MpiEnvironment::Abort(zeta::kExitFailure);
    }
  }
  return code;
}
