// RAII access to HDF5 files: typed datasets, row slabs, attributes and string datasets,
// with every failure turned into one zeta::Error naming the file and object.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace zeta::h5 {

// Owns one HDF5 identifier and closes it with the matching H5*close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { Reset(); }
  Handle(Handle&& other) noexcept : id_(other.id_), closer_(other.closer_) { other.id_ = -1; }
  Handle& operator=(Handle&& other) noexcept;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  [[nodiscard]] hid_t id() const { return id_; }
  [[nodiscard]] bool valid() const { return id_ >= 0; }
  void Reset();

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

using Shape = std::vector<hsize_t>;

// An open HDF5 file. Paths of objects are absolute ("/model/weights"); parent groups are
// created on write.
class File {
 public:
  static File Create(const std::string& path);    // truncates
  static File OpenRead(const std::string& path);  // refuses a missing or non-HDF5 file
  static File OpenWrite(const std::string& path);

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] hid_t id() const { return file_.id(); }

  [[nodiscard]] bool Exists(const std::string& object) const;
  void CreateGroups(const std::string& object);  // every missing group on the path

  // Writes a dataset of the given shape; `chunk_rows` > 0 chunks and compresses by rows.
  template <class T>
  void Write(const std::string& name, std::span<const T> data, const Shape& shape,
             hsize_t chunk_rows = 0);
  // Writes a dataset chunked by whole rows (about 1 MiB a chunk) with a Fletcher32 checksum
  // stored per chunk, so that a later Read or ReadRows of damaged data throws instead of
  // returning wrong numbers. An empty dataset is stored without a checksum (no data).
  template <class T>
  void WriteChecksummed(const std::string& name, std::span<const T> data, const Shape& shape);
  void WriteString(const std::string& name, const std::string& text);

  [[nodiscard]] Shape ShapeOf(const std::string& name) const;
  // True when the dataset's elements are unsigned 8-bit integers.
  [[nodiscard]] bool IsUnsignedByte(const std::string& name) const;
  // Reads a whole dataset, refusing one whose shape differs from `expected` (when given) or
  // whose element type is not convertible to T. A dataset with Fletcher32 checksums (see
  // WriteChecksummed) whose data no longer matches them is refused with a message saying so.
  template <class T>
  [[nodiscard]] std::vector<T> Read(const std::string& name,
                                    const std::optional<Shape>& expected = std::nullopt) const;
  // Reads rows [first, first + count) of a 2-D dataset, with the checksum check of Read.
  template <class T>
  void ReadRows(const std::string& name, hsize_t first, hsize_t count, std::span<T> out) const;
  [[nodiscard]] std::string ReadString(const std::string& name) const;

  // Attributes on an object (group or dataset).
  void SetAttribute(const std::string& object, const std::string& name, const std::string& v);
  void SetAttribute(const std::string& object, const std::string& name, double v);
  void SetAttribute(const std::string& object, const std::string& name, int64_t v);
  [[nodiscard]] bool HasAttribute(const std::string& object, const std::string& name) const;
  [[nodiscard]] std::string StringAttribute(const std::string& object,
                                            const std::string& name) const;
  [[nodiscard]] double DoubleAttribute(const std::string& object, const std::string& name) const;
  [[nodiscard]] int64_t IntAttribute(const std::string& object, const std::string& name) const;

  void Flush();
  void Close() { file_.Reset(); }

 private:
  File(Handle file, std::string path) : file_(std::move(file)), path_(std::move(path)) {}
  [[noreturn]] void Fail(const std::string& object, const std::string& what) const;
  template <class T>
  void WriteDataset(const std::string& name, std::span<const T> data, const Shape& shape,
                    hid_t creation_properties);
  // Throws the error of a failed H5Dread of `set` into `out` (same selection as that read).
  [[noreturn]] void FailRead(const std::string& name, hid_t set, hid_t memory_type,
                             hid_t memory_space, hid_t file_space, void* out) const;

  Handle file_;
  std::string path_;
};

// Writes a file under a temporary name in the destination folder; Commit() flushes it to
// disk and renames it into place, so a reader (or a kill at any moment) sees either the
// old file or the complete new one. Without Commit() the temporary file is removed.
class AtomicOutput {
 public:
  explicit AtomicOutput(std::string final_path);
  ~AtomicOutput();
  AtomicOutput(const AtomicOutput&) = delete;
  AtomicOutput& operator=(const AtomicOutput&) = delete;

  [[nodiscard]] const std::string& temp_path() const { return temp_path_; }
  [[nodiscard]] const std::string& final_path() const { return final_path_; }
  void Commit();  // the file at temp_path() must be closed

 private:
  std::string final_path_;
  std::string temp_path_;
  bool committed_ = false;
};

// Silences HDF5's own error stack printing, so that Zeta's one-line messages are the
// only report. Call once per process.
void SilenceLibraryErrors();

}  // namespace zeta::h5
