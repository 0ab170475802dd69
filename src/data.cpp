// IDX and CSV import, binarization, and the HDF5 data-file layout.
#include "zeta/data.hpp"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <limits>
#include <optional>
#include <sstream>

#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"
#include "zeta/random.hpp"

namespace zeta {
namespace {

constexpr uint32_t kIdxImagesMagic = 0x00000803;
constexpr uint32_t kIdxLabelsMagic = 0x00000801;
constexpr hsize_t kChunkRows = 1024;
// First step of the buffer that an IDX file's data is read into (16 MiB); it doubles from there.
constexpr std::size_t kFirstReadStep = std::size_t{1} << 24;

// A gzip-or-plain input stream (zlib reads uncompressed files transparently).
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path), file_(gzopen(path.c_str(), "rb")) {
    if (file_ == nullptr) throw Error(path + ": cannot open for reading");
  }
  ~GzReader() {
    if (file_ != nullptr) gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  const std::string& path() const { return path_; }
  std::size_t offset() const { return offset_; }

  // Reads exactly `size` bytes or throws naming the offset where the data ended.
  void ReadExactly(void* out, std::size_t size, const char* what) {
    auto* bytes = static_cast<unsigned char*>(out);
    std::size_t done = 0;
    while (done < size) {
      const std::size_t n = ReadSome(bytes + done, size - done, offset_ + done);
      if (n == 0) {
        throw Error(path_ + ": truncated at offset " + std::to_string(offset_ + done) +
                    " while reading " + what + " (expected " + std::to_string(size) +
                    " bytes from offset " + std::to_string(offset_) + ")");
      }
      done += static_cast<std::size_t>(n);
    }
    offset_ += size;
  }

  // Reads `size` bytes, or fewer when the data ends first. The buffer grows with the data
  // actually read (a bounded first step, then doubling, never past `size`), so a `size` taken
  // from a header that lies costs no more memory than 16 MiB or twice the data that is there.
  std::vector<uint8_t> ReadUpTo(std::size_t size) {
    std::vector<uint8_t> bytes;
    std::size_t done = 0;
    while (done < size) {
      if (done == bytes.size()) {
        const std::size_t grown = std::min(size, std::max(kFirstReadStep, 2 * bytes.size()));
        bytes.reserve(grown);
        bytes.resize(grown);
      }
      const std::size_t n = ReadSome(bytes.data() + done, bytes.size() - done, offset_ + done);
      if (n == 0) break;
      done += n;
    }
    bytes.resize(done);
    offset_ += done;
    return bytes;
  }

  // The bytes after the current offset when the file is a plain (not gzipped) regular file,
  // whose size is known without reading it; nullopt otherwise.
  std::optional<std::size_t> PlainBytesLeft() const {
    if (gzdirect(file_) == 0) return std::nullopt;
    std::error_code error;
    if (!std::filesystem::is_regular_file(path_, error)) return std::nullopt;
    const auto size = std::filesystem::file_size(path_, error);
    if (error) return std::nullopt;
    return size > offset_ ? static_cast<std::size_t>(size - offset_) : 0;
  }

  uint32_t ReadBigEndian32(const char* what) {
    unsigned char b[4];
    ReadExactly(b, 4, what);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }

 private:
  // One gzread of at most `size` bytes (0 at the end of the data); throws on corrupted data,
  // naming `at`, the offset of `out` in the file.
  std::size_t ReadSome(unsigned char* out, std::size_t size, std::size_t at) {
    const auto chunk = static_cast<unsigned>(std::min<std::size_t>(size, 1U << 30));
    const int n = gzread(file_, out, chunk);
    if (n < 0) {
      int code = 0;
      throw Error(path_ + ": corrupted compressed data at offset " + std::to_string(at) + " (" +
                  gzerror(file_, &code) + ")");
    }
    return static_cast<std::size_t>(n);
  }

  std::string path_;
  gzFile file_;
  std::size_t offset_ = 0;
};

std::string Hex(uint32_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << std::setfill('0') << std::setw(8) << value;
  return out.str();
}

std::string Hex64(uint64_t value) {
  std::ostringstream out;
  out << std::hex << std::setfill('0') << std::setw(16) << value;
  return out.str();
}

// The field without the spaces and tabs around it ("2 5" keeps its inner space).
std::string TrimBlanks(const std::string& field) {
  const auto first = field.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  return field.substr(first, field.find_last_not_of(" \t") - first + 1);
}

int64_t Take(int64_t available, int64_t limit) {
  return limit < 0 ? available : std::min(available, limit);
}

// Reads an IDX header's magic number, refusing any but `expected`, and the item count that
// follows it; `kind` names the items ("image").
int64_t ReadIdxCount(GzReader* in, uint32_t expected, const std::string& kind) {
  const uint32_t magic = in->ReadBigEndian32("the magic number");
  if (magic != expected) {
    throw Error(in->path() + ": magic number " + Hex(magic) + " at offset 0, expected " +
                Hex(expected) + " (IDX unsigned-byte " + kind + "s)");
  }
  return static_cast<int64_t>(in->ReadBigEndian32(("the " + kind + " count").c_str()));
}

// Reads the header of an IDX image file into `images` (height, width, cols) and returns its
// image count; refuses implausible sizes, a pixel count per image beyond int, and no images.
int64_t ReadIdxImagesHeader(GzReader* in, RawImages* images) {
  const int64_t count = ReadIdxCount(in, kIdxImagesMagic, "image");
  const int64_t height = in->ReadBigEndian32("the row count");
  const int64_t width = in->ReadBigEndian32("the column count");
  const std::string size = std::to_string(height) + "x" + std::to_string(width);
  if (height <= 0 || width <= 0 || height > 65536 || width > 65536) {
    throw Error(in->path() + ": image size " + size + " in the header is not plausible");
  }
  constexpr int64_t kMostPixels = std::numeric_limits<int>::max();
  if (height * width > kMostPixels) {
    throw Error(in->path() + ": image size " + size + " in the header is " +
                std::to_string(height * width) + " pixels, expected at most " +
                std::to_string(kMostPixels) + " pixels per image");
  }
  if (count == 0) {
    throw Error(in->path() +
                ": holds no images (its header's image count is 0), expected at least 1");
  }
  images->height = static_cast<int>(height);
  images->width = static_cast<int>(width);
  images->cols = static_cast<int>(height * width);
  return count;
}

// Reads the `size` bytes of data after an IDX header, not trusting the header: a plain file
// too short for them is refused from its size, gzipped data is read until it ends. A short
// file is refused naming the offset where it ends, what its header claims (`claim`) and what
// it holds (`holds`, given the bytes there are).
std::vector<uint8_t> ReadIdxData(GzReader* in, std::size_t size, const std::string& claim,
                                 const std::function<std::string(std::size_t)>& holds) {
  const std::size_t start = in->offset();
  const auto left = in->PlainBytesLeft();
  std::size_t there = 0;
  if (left.has_value() && *left < size) {
    there = *left;
  } else {
    auto bytes = in->ReadUpTo(size);
    if (bytes.size() == size) return bytes;
    there = bytes.size();
  }
  throw Error(in->path() + ": truncated at offset " + std::to_string(start + there) +
              ": its header claims " + claim + ", the file holds " + holds(there));
}

// Reads the first `rows` images after the header read into `images`.
void ReadIdxPixels(GzReader* in, int64_t count, int64_t rows, RawImages* images) {
  const auto cols = static_cast<std::size_t>(images->cols);
  const std::string claim = std::to_string(count) + " images of " + std::to_string(images->height) +
                            "x" + std::to_string(images->width) + " (" +
                            std::to_string(static_cast<std::size_t>(count) * cols) +
                            " bytes of pixels)";
  images->rows = rows;
  images->pixels =
      ReadIdxData(in, static_cast<std::size_t>(rows) * cols, claim, [&](std::size_t bytes) {
        return std::to_string(bytes) + " bytes of pixels (" + std::to_string(bytes / cols) +
               " whole images)";
      });
}

// Reads the first `rows` labels after the header of a label file that claims `count`.
std::vector<uint8_t> ReadIdxLabelData(GzReader* in, int64_t count, int64_t rows) {
  return ReadIdxData(in, static_cast<std::size_t>(rows), std::to_string(count) + " labels",
                     [](std::size_t bytes) { return std::to_string(bytes) + " labels"; });
}

}  // namespace

RawImages ReadIdxImages(const std::string& path, int64_t limit) {
  return ReadIdxSplit(path, "", limit);
}

std::vector<uint8_t> ReadIdxLabels(const std::string& path, int64_t limit) {
  GzReader in(path);
  const int64_t count = ReadIdxCount(&in, kIdxLabelsMagic, "label");
  return ReadIdxLabelData(&in, count, Take(count, limit));
}

RawImages ReadIdxSplit(const std::string& images_path, const std::string& labels_path,
                       int64_t limit) {
  GzReader images_in(images_path);
  RawImages images;
  const int64_t count = ReadIdxImagesHeader(&images_in, &images);
  std::optional<GzReader> labels_in;
  int64_t labels = 0;
  if (!labels_path.empty()) {
    labels_in.emplace(labels_path);
    labels = ReadIdxCount(&*labels_in, kIdxLabelsMagic, "label");
    if (labels != count) {
      throw Error(labels_path + ": holds " + std::to_string(labels) + " labels, " + images_path +
                  " holds " + std::to_string(count) + " images; expected one label per image");
    }
  }
  ReadIdxPixels(&images_in, count, Take(count, limit), &images);
  if (labels_in.has_value()) images.labels = ReadIdxLabelData(&*labels_in, labels, images.rows);
  return images;
}

RawImages ReadCsvImages(const std::string& path, const CsvFormat& format, int64_t limit) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open for reading");
  RawImages images;
  std::string line;
  int64_t line_number = 0;
  int expected_values = -1;
  while ((limit < 0 || images.rows < limit) && std::getline(in, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (format.header && line_number == 1)) continue;
    std::istringstream fields(line);
    std::string field;
    int column = 0;
    std::vector<uint8_t> row;
    while (std::getline(fields, field, ',')) {
      ++column;
      field = TrimBlanks(field);
      char* end = nullptr;
      const double value = std::strtod(field.c_str(), &end);
      const bool parsed = end != field.c_str() && *end == '\0';
      if (!parsed || !std::isfinite(value)) {
        throw Error(path + ": line " + std::to_string(line_number) + ", column " +
                    std::to_string(column) + ": '" + field + "' is not a finite number");
      }
      if (format.label_first && column == 1) {
        if (value < 0 || value > 255 || value != std::floor(value)) {
          throw Error(path + ": line " + std::to_string(line_number) + ": label '" + field +
                      "' is not an integer in [0, 255]");
        }
        images.labels.push_back(static_cast<uint8_t>(value));
        continue;
      }
      if (value < 0 || value > format.max_value) {
        throw Error(path + ": line " + std::to_string(line_number) + ", column " +
                    std::to_string(column) + ": value " + field + " outside [0, " +
                    std::to_string(format.max_value) + "]");
      }
      row.push_back(static_cast<uint8_t>(std::lround(value / format.max_value * 255.0)));
    }
    const int values = static_cast<int>(row.size());
    if (expected_values < 0) {
      if (values == 0) {
        throw Error(path + ": line " + std::to_string(line_number) + " has no pixels");
      }
      expected_values = values;
    } else if (values != expected_values) {
      throw Error(path + ": line " + std::to_string(line_number) + " has " +
                  std::to_string(values) + " pixel values, earlier lines have " +
                  std::to_string(expected_values));
    }
    images.pixels.insert(images.pixels.end(), row.begin(), row.end());
    ++images.rows;
  }
  if (images.rows == 0) throw Error(path + ": no data rows");
  images.cols = expected_values;
  const int side = static_cast<int>(std::lround(std::sqrt(images.cols)));
  if (side * side == images.cols) images.height = images.width = side;
  return images;
}

std::vector<uint8_t> Binarize(const RawImages& images, const Binarization& how, uint64_t split_id) {
  std::vector<uint8_t> out(images.pixels.size());
  const auto cols = static_cast<std::size_t>(images.cols);
  if (how.kind == Binarization::Kind::kThreshold) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      out[i] = images.pixels[i] / 255.0 > how.threshold ? 1 : 0;
    }
    return out;
  }
  std::vector<float> u(cols);
  for (int64_t r = 0; r < images.rows; ++r) {
    // Rows of different splits use different sub-streams.
    FillUniform({.seed = how.seed,
                 .stream = Stream::kBinarize,
                 .index = static_cast<uint64_t>(r),
                 .sub = static_cast<uint32_t>(split_id)},
                u);
    const std::size_t base = static_cast<std::size_t>(r) * cols;
    for (std::size_t j = 0; j < cols; ++j) {
      out[base + j] = u[j] < images.pixels[base + j] / 255.0F ? 1 : 0;
    }
  }
  return out;
}

uint64_t Fnv1a(const uint8_t* data, std::size_t size, uint64_t hash) {
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= data[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

void WriteDataFile(const std::string& out_path, const std::vector<SplitToWrite>& splits,
                   const Binarization& how, const std::string& source_note) {
  h5::AtomicOutput output(out_path);
  {
    auto file = h5::File::Create(output.temp_path());
    file.SetAttribute("/", "format", std::string("zeta-data"));
    file.SetAttribute("/", "format_version", int64_t{1});
    file.SetAttribute("/", "source", source_note);
    file.SetAttribute("/", "binarization",
                      how.kind == Binarization::Kind::kThreshold
                          ? "threshold pixel/255 > " + std::to_string(how.threshold)
                          : "stochastic, seed " + std::to_string(how.seed));
    for (std::size_t s = 0; s < splits.size(); ++s) {
      const auto& split = splits[s];
      const auto bits = Binarize(split.images, how, s);
      const std::string group = "/" + split.name;
      file.Write<uint8_t>(
          group + "/visible", bits,
          {static_cast<hsize_t>(split.images.rows), static_cast<hsize_t>(split.images.cols)},
          kChunkRows);
      if (!split.images.labels.empty()) {
        file.Write<uint8_t>(group + "/labels", split.images.labels,
                            {static_cast<hsize_t>(split.images.labels.size())}, kChunkRows);
      }
      file.SetAttribute(group, "checksum", Hex64(Fnv1a(bits.data(), bits.size())));
      file.SetAttribute(group, "image_height", int64_t{split.images.height});
      file.SetAttribute(group, "image_width", int64_t{split.images.width});
    }
    file.Flush();
  }
  output.Commit();
}

bool HasSplit(const std::string& path, const std::string& split) {
  auto file = h5::File::OpenRead(path);
  return file.Exists("/" + split + "/visible");
}

SplitInfo ReadSplitInfo(const std::string& path, const std::string& split) {
  auto file = h5::File::OpenRead(path);
  const std::string name = "/" + split + "/visible";
  if (!file.Exists(name)) {
    throw Error(path + ": no split '" + split + "' (expected a dataset " + name +
                "; import data with 'zeta data import')");
  }
  const auto shape = file.ShapeOf(name);
  if (shape.size() != 2 || shape[0] == 0 || shape[1] == 0) {
    throw Error(path + ": " + name + " must be a non-empty 2-D matrix [rows, visible units]");
  }
  if (!file.IsUnsignedByte(name)) {
    throw Error(path + ": " + name +
                " does not hold uint8 values, expected 0/1 bytes "
                "(make the file with 'zeta data import')");
  }
  SplitInfo info{.file = path,
                 .split = split,
                 .rows = static_cast<int64_t>(shape[0]),
                 .cols = static_cast<int>(shape[1]),
                 .has_labels = file.Exists("/" + split + "/labels"),
                 .checksum = {}};
  if (info.has_labels) {
    const auto labels = file.ShapeOf("/" + split + "/labels");
    if (labels.size() != 1 || labels[0] != shape[0]) {
      throw Error(path + ": /" + split + "/labels has " + std::to_string(labels[0]) +
                  " entries, /" + split + "/visible has " + std::to_string(shape[0]) + " rows");
    }
  }
  if (file.HasAttribute("/" + split, "checksum")) {
    info.checksum = file.StringAttribute("/" + split, "checksum");
  }
  return info;
}

std::vector<uint8_t> ReadVisibleRows(const SplitInfo& info, int64_t first, int64_t count) {
  auto file = h5::File::OpenRead(info.file);
  std::vector<uint8_t> rows(static_cast<std::size_t>(count) * info.cols);
  file.ReadRows<uint8_t>("/" + info.split + "/visible", static_cast<hsize_t>(first),
                         static_cast<hsize_t>(count), rows);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] > 1) {
      const auto row = first + static_cast<int64_t>(i / info.cols);
      throw Error(info.file + ": /" + info.split + "/visible row " + std::to_string(row) +
                  " holds the value " + std::to_string(rows[i]) + ", expected 0 or 1");
    }
  }
  return rows;
}

std::vector<uint8_t> ReadLabelRows(const SplitInfo& info, int64_t first, int64_t count) {
  if (!info.has_labels) throw Error(info.file + ": split '" + info.split + "' has no labels");
  auto file = h5::File::OpenRead(info.file);
  auto all = file.Read<uint8_t>("/" + info.split + "/labels");
  return {all.begin() + first, all.begin() + first + count};
}

}  // namespace zeta
