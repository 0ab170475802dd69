// The subcommands of the zeta executable. Each takes the arguments after its name and
// returns the process exit code; errors are thrown as zeta::Error.
#pragma once

#include <string>
#include <vector>

#include "zeta/options.hpp"
#include "zeta/parallel.hpp"

namespace zeta::cli {

using Args = std::vector<std::string>;

int DataCommand(const Communicator& comm, const Args& args);
int EvalCommand(const Communicator& comm, const Args& args);
int InspectCommand(const Communicator& comm, const Args& args);
int LogzCommand(const Communicator& comm, const Args& args);
int SampleCommand(const Communicator& comm, const Args& args);
int ScoreCommand(const Communicator& comm, const Args& args);
int SweepCommand(const Communicator& comm, const Args& args);
int TrainCommand(const Communicator& comm, const Args& args);

// True when the two paths name the same file (or would, for a path not yet created): used to
// refuse writing results over a model.
[[nodiscard]] bool SamePath(const std::string& a, const std::string& b);

// Refuses, before any work, an output file (of option --`option`) that is a folder, one of
// the command's inputs, or an existing Zeta model, checkpoint or data file, or whose folder
// cannot be created or written. Creates the folder.
void CheckOutputFile(const std::string& option, const std::string& out,
                     const std::vector<std::string>& inputs);

// Parses a subcommand's options on every rank; a bad option fails on all ranks together.
// Returns false when --help was printed.
bool ParseCollectively(const Communicator& comm, OptionTable* table, const Args& args);

}  // namespace zeta::cli
