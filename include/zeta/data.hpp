// Data sets: import from IDX (gzipped or not) and CSV into HDF5, and read rows back.
//
// Layout of a Zeta data file: one group per split (/train, /test, ...), each holding
// `visible` (uint8 0/1, [rows, nv]) and, when known, `labels` (uint8, [rows]); each split
// carries the attribute `checksum`, an FNV-1a hash of its visible bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace zeta {

// Raw images before binarization: intensities in [0, max_value], one row per image.
struct RawImages {
  std::vector<uint8_t> pixels;  // rows * cols, scaled to 0..255
  std::vector<uint8_t> labels;  // empty when unknown
  int64_t rows = 0;
  int cols = 0;
  int height = 0;  // 0 when the images are not 2-D
  int width = 0;
};

// Reads an IDX image file (magic 0x00000803, gzipped or not), optionally only the first
// `limit` images; errors name the file and what is wrong. The header is not trusted: a file
// with no images, an image of more than INT_MAX pixels, or less data than the images to read
// is refused, and memory grows with the data read, not with the header's count.
[[nodiscard]] RawImages ReadIdxImages(const std::string& path, int64_t limit = -1);
// Reads an IDX label file (magic 0x00000801), likewise.
[[nodiscard]] std::vector<uint8_t> ReadIdxLabels(const std::string& path, int64_t limit = -1);
// Reads an IDX image file and, unless `labels_path` is empty, its IDX label file (into
// `labels`), optionally only the first `limit` of each; refuses files whose headers' counts
// differ, compared in full before the limit.
[[nodiscard]] RawImages ReadIdxSplit(const std::string& images_path, const std::string& labels_path,
                                     int64_t limit = -1);

// CSV of pixel intensities in [0, max_value], one image per line, optionally with the
// label in the first column; spaces and tabs around a field's number are ignored; errors
// name the file, line and column.
struct CsvFormat {
  double max_value = 255.0;
  bool label_first = false;
  bool header = false;
};
[[nodiscard]] RawImages ReadCsvImages(const std::string& path, const CsvFormat& format,
                                      int64_t limit = -1);

// How intensities become 0/1: threshold (pixel/255 > threshold) or stochastic (a
// Bernoulli draw with p = pixel/255, from the seed's binarize stream keyed by row).
struct Binarization {
  enum class Kind { kThreshold, kStochastic };
  Kind kind = Kind::kThreshold;
  double threshold = 0.5;
  uint64_t seed = 0;
};
[[nodiscard]] std::vector<uint8_t> Binarize(const RawImages& images, const Binarization& how,
                                            uint64_t split_id);

struct SplitToWrite {
  std::string name;  // "train", "test"
  RawImages images;
};

// Writes the splits (binarized) to `out_path` atomically: a failure leaves no file.
void WriteDataFile(const std::string& out_path, const std::vector<SplitToWrite>& splits,
                   const Binarization& how, const std::string& source_note);

// FNV-1a 64-bit hash of a byte string.
[[nodiscard]] uint64_t Fnv1a(const uint8_t* data, std::size_t size,
                             uint64_t hash = 0xcbf29ce484222325ULL);

struct SplitInfo {
  std::string file;
  std::string split;
  int64_t rows = 0;
  int cols = 0;
  bool has_labels = false;
  std::string checksum;  // hex
};

// Describes one split of a data file; refuses a missing file, split or malformed layout.
[[nodiscard]] SplitInfo ReadSplitInfo(const std::string& path, const std::string& split);
[[nodiscard]] bool HasSplit(const std::string& path, const std::string& split);

// Reads rows [first, first + count) of a split's visible matrix (0/1 bytes); refuses
// values other than 0 and 1.
[[nodiscard]] std::vector<uint8_t> ReadVisibleRows(const SplitInfo& info, int64_t first,
                                                   int64_t count);
[[nodiscard]] std::vector<uint8_t> ReadLabelRows(const SplitInfo& info, int64_t first,
                                                 int64_t count);

}  // namespace zeta
