// Checks of output paths made before any work, so that a long run never ends in a refusal
// and no output replaces an input, a model, a checkpoint or a data file.
#include <hdf5.h>
#include <unistd.h>

#include <filesystem>

#include "commands.hpp"
#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"

namespace zeta::cli {

void CheckOutputFile(const std::string& option, const std::string& out,
                     const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  if (out.empty()) return;
  if (fs::is_directory(out)) {
    throw UsageError("option --" + option + ": " + out + " is a folder, expected a file name");
  }
  for (const auto& input : inputs) {
    if (!input.empty() && SamePath(out, input)) {
      throw UsageError("option --" + option + ": " + out +
                       " is also an input of this command; choose another name");
    }
  }
  if (fs::exists(out) && H5Fis_hdf5(out.c_str()) > 0) {
    const auto file = h5::File::OpenRead(out);
    const std::string format =
        file.HasAttribute("/", "format") ? file.StringAttribute("/", "format") : "";
    if (format == "zeta-checkpoint" || format == "zeta-model" || format == "zeta-data") {
      throw UsageError("option --" + option + ": " + out + " holds a " + format.substr(5) +
                       "; Zeta never overwrites one, choose another name");
    }
  }
  const fs::path parent =
      fs::path(out).parent_path().empty() ? fs::path(".") : fs::path(out).parent_path();
  std::error_code error;
  fs::create_directories(parent, error);
  if (error || ::access(parent.c_str(), W_OK) != 0) {
    throw Error("option --" + option + ": cannot write into the folder " + parent.string() +
                (error ? " (" + error.message() + ")" : " (permission denied)"));
  }
}

}  // namespace zeta::cli
