// Checks of output paths made before any work, so that a long run never ends in a refusal
// and no output replaces an input, a model, a checkpoint, a data file or a file of another
// kind than the output itself.
#include <hdf5.h>
#include <png.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "commands.hpp"
#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"

namespace zeta::cli {
namespace {

namespace fs = std::filesystem;

// The most of a text file's first line quoted in a message.
constexpr std::size_t kQuotedChars = 40;

// The root attribute 'format' of an HDF5 file, empty when it has none; nullopt when the file
// cannot be opened or the attribute is not text.
std::optional<std::string> Hdf5Format(const std::string& path) {
  try {
    const auto file = h5::File::OpenRead(path);
    return file.HasAttribute("/", "format") ? file.StringAttribute("/", "format") : "";
  } catch (const Error&) {
    return std::nullopt;
  }
}

// The first bytes of a file (at most `count`).
std::string Head(const std::string& path, std::size_t count) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes(count, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(count));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  return bytes;
}

bool IsPng(const std::string& head) {
  return head.size() >= 8 && png_sig_cmp(reinterpret_cast<png_const_bytep>(head.data()), 0, 8) == 0;
}

// The first line of `head` without its line end, when it reads as text (no control bytes
// but tabs); nullopt for binary data.
std::optional<std::string> FirstTextLine(const std::string& head) {
  std::string line = head.substr(0, head.find('\n'));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  for (const char c : line) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\t') return std::nullopt;
  }
  return line;
}

// What an existing file holds, for a message: "an HDF5 file of format zeta-logz", ...
std::string Holds(const std::string& path, const std::string& head) {
  if (H5Fis_hdf5(path.c_str()) > 0) {
    const auto format = Hdf5Format(path);
    if (!format) return "an HDF5 file that cannot be read or has a 'format' that is not text";
    return format->empty() ? "an HDF5 file without a Zeta format"
                           : "an HDF5 file of format " + *format;
  }
  if (IsPng(head)) return "a PNG image";
  if (head.empty()) return "an empty file";
  if (const auto line = FirstTextLine(head)) {
    const bool cut = line->size() > kQuotedChars;
    return "text whose first line is '" + line->substr(0, kQuotedChars) + (cut ? "...'" : "'");
  }
  return "binary data of " + std::to_string(fs::file_size(path)) + " bytes (not HDF5 or PNG)";
}

bool IsOfKind(const std::string& path, const std::string& head, const OutputKind& kind) {
  switch (kind.format) {
    case OutputKind::Format::kNew:
      return false;
    case OutputKind::Format::kHdf5:
      return H5Fis_hdf5(path.c_str()) > 0 && Hdf5Format(path) == kind.tag;
    case OutputKind::Format::kPng:
      return IsPng(head);
    case OutputKind::Format::kCsv:
      return FirstTextLine(head) == kind.tag;
  }
  return false;
}

std::string Expected(const OutputKind& kind) {
  switch (kind.format) {
    case OutputKind::Format::kNew:
      break;
    case OutputKind::Format::kHdf5:
      return "expected a new file or a " + kind.tag + " HDF5 file to replace";
    case OutputKind::Format::kPng:
      return "expected a new file or a PNG image to replace";
    case OutputKind::Format::kCsv:
      return "expected a new file or a CSV file with the header '" + kind.tag + "' to replace";
  }
  return "expected a new file";
}

// Refuses an existing `out` that is a Zeta model, checkpoint or data file, or not of `kind`.
void CheckExisting(const std::string& option, const std::string& out, const OutputKind& kind) {
  if (!fs::is_regular_file(out)) {
    throw UsageError("option --" + option + ": " + out +
                     " is not a regular file (a device, pipe or socket), expected a file name");
  }
  if (H5Fis_hdf5(out.c_str()) > 0) {
    const std::string format = Hdf5Format(out).value_or("");
    if (format == "zeta-checkpoint" || format == "zeta-model" || format == "zeta-data") {
      const std::string what = format == "zeta-data" ? "data file" : format.substr(5);
      throw UsageError("option --" + option + ": " + out + " holds a Zeta " + what +
                       "; Zeta never overwrites one, choose another name");
    }
  }
  // A CSV header or a PNG signature fits in the first bytes; a longer first line differs.
  const std::string head = Head(out, std::max<std::size_t>(4096, kind.tag.size() + 2));
  if (IsOfKind(out, head, kind)) return;
  throw UsageError("option --" + option + ": " + out + " holds " + Holds(out, head) + ", " +
                   Expected(kind) + "; choose another name or remove it");
}

}  // namespace

OutputKind OutputKind::Hdf5(std::string format) {
  return {.format = Format::kHdf5, .tag = std::move(format)};
}

OutputKind OutputKind::Png() { return {.format = Format::kPng, .tag = {}}; }

OutputKind OutputKind::Csv(std::string header) {
  return {.format = Format::kCsv, .tag = std::move(header)};
}

void CheckOutputFile(const std::string& option, const std::string& out,
                     const std::vector<std::string>& inputs, const OutputKind& kind) {
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
  if (fs::exists(out)) CheckExisting(option, out, kind);
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
