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

// What an output file is, so that an existing file is replaced only by one of its kind.
struct OutputKind {
  enum class Format { kNew, kHdf5, kPng, kCsv };
  Format format = Format::kNew;  // kNew: an output that replaces no existing file
  std::string tag;               // kHdf5: the root attribute 'format'; kCsv: the header line

  // An HDF5 file whose root attribute 'format' is `format` (zeta-logz, zeta-eval, ...).
  [[nodiscard]] static OutputKind Hdf5(std::string format);
  // A PNG image (the 8-byte PNG signature).
  [[nodiscard]] static OutputKind Png();
  // A CSV table whose first line is `header`.
  [[nodiscard]] static OutputKind Csv(std::string header);
};

// Refuses, before any work, an output file (of option --`option`) that is a folder, one of
// the command's inputs, an existing Zeta model, checkpoint or data file, any other existing
// file that is not of `kind` (so a second run replaces its own earlier output and nothing
// else), or whose folder cannot be created or written. Only reads an existing file. Creates
// the folder. Throws a UsageError (exit 2) naming the option, the file and what it holds.
void CheckOutputFile(const std::string& option, const std::string& out,
                     const std::vector<std::string>& inputs, const OutputKind& kind = {});

// Parses a subcommand's options on every rank; a bad option fails on all ranks together.
// Returns false when --help was printed.
bool ParseCollectively(const Communicator& comm, OptionTable* table, const Args& args);

}  // namespace zeta::cli
