// HDF5 wrappers and atomic file output.
#include "zeta/hdf5.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "zeta/error.hpp"

namespace zeta::h5 {
namespace {

template <class T>
hid_t NativeType();
template <>
hid_t NativeType<float>() {
  return H5T_NATIVE_FLOAT;
}
template <>
hid_t NativeType<double>() {
  return H5T_NATIVE_DOUBLE;
}
template <>
hid_t NativeType<int64_t>() {
  return H5T_NATIVE_INT64;
}
template <>
hid_t NativeType<uint8_t>() {
  return H5T_NATIVE_UINT8;
}

std::string ShapeText(const Shape& shape) {
  std::ostringstream out;
  out << "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

hsize_t Elements(const Shape& shape) {
  hsize_t n = 1;
  for (hsize_t d : shape) n *= d;
  return n;
}

// Rows per chunk of a checksummed dataset. A chunk is the unit that HDF5 checksums: a read
// verifies each chunk it touches as a whole. Chunks of whole rows mean a slab of rows
// (ReadRows) touches only the chunks that hold those rows. At most 1 MiB a chunk, the size of
// HDF5's default chunk cache per dataset, so a chunk read piecewise by successive slabs stays
// cached and is verified once, while the checksum costs 4 bytes per MiB. The rows are then
// shared out evenly, as HDF5 stores the last chunk at full size even when the rows run out:
// a 784 x 500 float matrix (2000-byte rows, at most 524 a chunk) gets two chunks of 392 rows
// rather than 524 + 260. A row longer than 1 MiB is a chunk by itself.
constexpr hsize_t kChecksumChunkBytes = hsize_t{1} << 20;

hsize_t ChecksumChunkRows(const Shape& shape, std::size_t element_bytes) {
  hsize_t row_bytes = element_bytes;
  for (std::size_t i = 1; i < shape.size(); ++i) row_bytes *= shape[i];
  const hsize_t rows = shape[0];
  const hsize_t most = std::clamp<hsize_t>(kChecksumChunkBytes / row_bytes, 1, rows);
  const hsize_t chunks = (rows + most - 1) / most;
  return (rows + chunks - 1) / chunks;
}

// True when the dataset's filter pipeline holds the Fletcher32 checksum.
bool HasFletcher32(hid_t set) {
  Handle props(H5Dget_create_plist(set), H5Pclose);
  const int filters = H5Pget_nfilters(props.id());
  for (int i = 0; i < filters; ++i) {
    unsigned flags = 0;
    std::size_t values = 0;
    if (H5Pget_filter2(props.id(), static_cast<unsigned>(i), &flags, &values, nullptr, 0, nullptr,
                       nullptr) == H5Z_FILTER_FLETCHER32) {
      return true;
    }
  }
  return false;
}

// fsync a path (file or folder); failure to sync is reported, not ignored.
void SyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags);
  if (fd < 0) throw Error(path + ": cannot open to flush it to disk");
  const int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw Error(path + ": fsync failed");
}

}  // namespace

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    Reset();
    id_ = other.id_;
    closer_ = other.closer_;
    other.id_ = -1;
  }
  return *this;
}

void Handle::Reset() {
  if (id_ >= 0 && closer_ != nullptr) closer_(id_);
  id_ = -1;
}

void SilenceLibraryErrors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

File File::Create(const std::string& path) {
  Handle f(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  if (!f.valid()) throw Error(path + ": cannot create HDF5 file (is the folder writable?)");
  return {std::move(f), path};
}

File File::OpenRead(const std::string& path) {
  if (!std::filesystem::exists(path)) throw Error(path + ": no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    throw Error(path + ": not an HDF5 file (truncated or of another format)");
  }
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f.valid()) throw Error(path + ": cannot open HDF5 file for reading (corrupted?)");
  return {std::move(f), path};
}

File File::OpenWrite(const std::string& path) {
  Handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
  if (!f.valid()) throw Error(path + ": cannot open HDF5 file for writing");
  return {std::move(f), path};
}

void File::Fail(const std::string& object, const std::string& what) const {
  throw Error(path_ + ": " + object + ": " + what);
}

void File::FailRead(const std::string& name, hid_t set, hid_t memory_type, hid_t memory_space,
                    hid_t file_space, void* out) const {
  // A checksum mismatch fails the read; the same read with checksums ignored then succeeds,
  // which tells damaged data apart from a file that cannot be read at all.
  if (HasFletcher32(set)) {
    Handle transfer(H5Pcreate(H5P_DATASET_XFER), H5Pclose);
    if (H5Pset_edc_check(transfer.id(), H5Z_DISABLE_EDC) >= 0 &&
        H5Dread(set, memory_type, memory_space, file_space, transfer.id(), out) >= 0) {
      Fail(name, "the stored Fletcher32 checksum does not match the data: the data is damaged");
    }
  }
  Fail(name, "read failed (truncated or corrupted file?)");
}

bool File::Exists(const std::string& object) const {
  // Check each prefix: H5Lexists fails on a path whose parent is missing.
  std::string prefix;
  std::istringstream parts(object);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    prefix += "/" + part;
    if (H5Lexists(file_.id(), prefix.c_str(), H5P_DEFAULT) <= 0) return false;
  }
  return true;
}

void File::CreateGroups(const std::string& object) {
  std::string prefix;
  std::istringstream parts(object);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty()) continue;
    prefix += "/" + part;
    if (H5Lexists(file_.id(), prefix.c_str(), H5P_DEFAULT) > 0) continue;
    Handle g(H5Gcreate2(file_.id(), prefix.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
             H5Gclose);
    if (!g.valid()) Fail(prefix, "cannot create group");
  }
}

template <class T>
void File::Write(const std::string& name, std::span<const T> data, const Shape& shape,
                 hsize_t chunk_rows) {
  Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (chunk_rows > 0 && !shape.empty() && shape[0] > 0) {
    Shape chunk = shape;
    chunk[0] = std::min(chunk_rows, shape[0]);
    H5Pset_chunk(props.id(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_deflate(props.id(), 1);
  }
  WriteDataset(name, data, shape, props.id());
}

template <class T>
void File::WriteChecksummed(const std::string& name, std::span<const T> data, const Shape& shape) {
  Handle props(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
  if (!shape.empty() && Elements(shape) > 0) {
    Shape chunk = shape;
    chunk[0] = ChecksumChunkRows(shape, sizeof(T));
    if (H5Pset_chunk(props.id(), static_cast<int>(chunk.size()), chunk.data()) < 0 ||
        H5Pset_fletcher32(props.id()) < 0) {
      Fail(name, "cannot set up chunks with checksums " + ShapeText(chunk));
    }
  }
  WriteDataset(name, data, shape, props.id());
}

template <class T>
void File::WriteDataset(const std::string& name, std::span<const T> data, const Shape& shape,
                        hid_t creation_properties) {
  if (Elements(shape) != data.size()) Fail(name, "data size does not match " + ShapeText(shape));
  const auto slash = name.find_last_of('/');
  if (slash != std::string::npos && slash > 0) CreateGroups(name.substr(0, slash));
  Handle space(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), nullptr), H5Sclose);
  Handle set(H5Dcreate2(file_.id(), name.c_str(), NativeType<T>(), space.id(), H5P_DEFAULT,
                        creation_properties, H5P_DEFAULT),
             H5Dclose);
  if (!set.valid()) Fail(name, "cannot create dataset");
  if (H5Dwrite(set.id(), NativeType<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data()) < 0) {
    Fail(name, "write failed");
  }
}

void File::WriteString(const std::string& name, const std::string& text) {
  const auto slash = name.find_last_of('/');
  if (slash != std::string::npos && slash > 0) CreateGroups(name.substr(0, slash));
  // Variable-length UTF-8, which h5py reads back as str.
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  Handle set(H5Dcreate2(file_.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT,
                        H5P_DEFAULT),
             H5Dclose);
  if (!set.valid()) Fail(name, "cannot create dataset");
  const char* data = text.c_str();
  if (H5Dwrite(set.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &data) < 0) {
    Fail(name, "write failed");
  }
}

Shape File::ShapeOf(const std::string& name) const {
  if (!Exists(name)) Fail(name, "missing dataset");
  Handle set(H5Dopen2(file_.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!set.valid()) Fail(name, "not a dataset");
  Handle space(H5Dget_space(set.id()), H5Sclose);
  const int rank = H5Sget_simple_extent_ndims(space.id());
  if (rank < 0) Fail(name, "unreadable dataspace");
  Shape shape(static_cast<std::size_t>(rank));
  H5Sget_simple_extent_dims(space.id(), shape.data(), nullptr);
  return shape;
}

bool File::IsUnsignedByte(const std::string& name) const {
  if (!Exists(name)) Fail(name, "missing dataset");
  Handle set(H5Dopen2(file_.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  Handle type(H5Dget_type(set.id()), H5Tclose);
  return H5Tget_class(type.id()) == H5T_INTEGER && H5Tget_size(type.id()) == 1 &&
         H5Tget_sign(type.id()) == H5T_SGN_NONE;
}

template <class T>
std::vector<T> File::Read(const std::string& name, const std::optional<Shape>& expected) const {
  const Shape shape = ShapeOf(name);
  if (expected && *expected != shape) {
    Fail(name, "has shape " + ShapeText(shape) + ", expected " + ShapeText(*expected));
  }
  Handle set(H5Dopen2(file_.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  Handle type(H5Dget_type(set.id()), H5Tclose);
  const H5T_class_t cls = H5Tget_class(type.id());
  if (cls != H5T_INTEGER && cls != H5T_FLOAT) Fail(name, "is not numeric");
  std::vector<T> out(Elements(shape));
  if (H5Dread(set.id(), NativeType<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
    FailRead(name, set.id(), NativeType<T>(), H5S_ALL, H5S_ALL, out.data());
  }
  return out;
}

template <class T>
void File::ReadRows(const std::string& name, hsize_t first, hsize_t count, std::span<T> out) const {
  const Shape shape = ShapeOf(name);
  if (shape.size() != 2) Fail(name, "expected a 2-D dataset, found " + ShapeText(shape));
  if (first + count > shape[0]) Fail(name, "rows beyond the end requested");
  if (out.size() != count * shape[1]) Fail(name, "row buffer has the wrong size");
  if (count == 0) return;
  Handle set(H5Dopen2(file_.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  Handle file_space(H5Dget_space(set.id()), H5Sclose);
  const hsize_t start[2] = {first, 0};
  const hsize_t extent[2] = {count, shape[1]};
  H5Sselect_hyperslab(file_space.id(), H5S_SELECT_SET, start, nullptr, extent, nullptr);
  Handle memory_space(H5Screate_simple(2, extent, nullptr), H5Sclose);
  if (H5Dread(set.id(), NativeType<T>(), memory_space.id(), file_space.id(), H5P_DEFAULT,
              out.data()) < 0) {
    FailRead(name, set.id(), NativeType<T>(), memory_space.id(), file_space.id(), out.data());
  }
}

std::string File::ReadString(const std::string& name) const {
  if (!Exists(name)) Fail(name, "missing dataset");
  Handle set(H5Dopen2(file_.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  Handle type(H5Dget_type(set.id()), H5Tclose);
  if (H5Tget_class(type.id()) != H5T_STRING) Fail(name, "is not a string");
  if (H5Tis_variable_str(type.id()) > 0) {
    char* text = nullptr;
    Handle memory_type(H5Tcopy(type.id()), H5Tclose);  // same character set as stored
    if (H5Dread(set.id(), memory_type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, &text) < 0) {
      Fail(name, "read failed");
    }
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
  }
  std::string out(H5Tget_size(type.id()), '\0');
  if (H5Dread(set.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) {
    Fail(name, "read failed");
  }
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

void File::SetAttribute(const std::string& object, const std::string& name, const std::string& v) {
  Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.id(), H5T_VARIABLE);
  H5Tset_cset(type.id(), H5T_CSET_UTF8);
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists_by_name(file_.id(), object.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
    H5Adelete_by_name(file_.id(), object.c_str(), name.c_str(), H5P_DEFAULT);
  }
  Handle attr(H5Acreate_by_name(file_.id(), object.c_str(), name.c_str(), type.id(), space.id(),
                                H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (!attr.valid()) Fail(object, "cannot create attribute " + name);
  const char* data = v.c_str();
  if (H5Awrite(attr.id(), type.id(), &data) < 0) Fail(object, "cannot write attribute " + name);
}

namespace {
template <class T>
void SetNumericAttribute(hid_t file, const std::string& object, const std::string& name, T v,
                         hid_t type) {
  Handle space(H5Screate(H5S_SCALAR), H5Sclose);
  if (H5Aexists_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT) > 0) {
    H5Adelete_by_name(file, object.c_str(), name.c_str(), H5P_DEFAULT);
  }
  Handle attr(H5Acreate_by_name(file, object.c_str(), name.c_str(), type, space.id(), H5P_DEFAULT,
                                H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  if (!attr.valid()) throw Error(object + ": cannot create attribute " + name);
  H5Awrite(attr.id(), type, &v);
}
}  // namespace

void File::SetAttribute(const std::string& object, const std::string& name, double v) {
  SetNumericAttribute(file_.id(), object, name, v, H5T_NATIVE_DOUBLE);
}

void File::SetAttribute(const std::string& object, const std::string& name, int64_t v) {
  SetNumericAttribute(file_.id(), object, name, v, H5T_NATIVE_INT64);
}

bool File::HasAttribute(const std::string& object, const std::string& name) const {
  return Exists(object) &&
         H5Aexists_by_name(file_.id(), object.c_str(), name.c_str(), H5P_DEFAULT) > 0;
}

std::string File::StringAttribute(const std::string& object, const std::string& name) const {
  if (!HasAttribute(object, name)) Fail(object, "missing attribute " + name);
  Handle attr(H5Aopen_by_name(file_.id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  Handle type(H5Aget_type(attr.id()), H5Tclose);
  if (H5Tget_class(type.id()) != H5T_STRING) Fail(object, "attribute " + name + " is not text");
  if (H5Tis_variable_str(type.id()) > 0) {
    char* text = nullptr;
    Handle memory_type(H5Tcopy(type.id()), H5Tclose);  // same character set as stored
    H5Aread(attr.id(), memory_type.id(), &text);
    std::string out = text ? text : "";
    H5free_memory(text);
    return out;
  }
  std::string out(H5Tget_size(type.id()), '\0');
  H5Aread(attr.id(), type.id(), out.data());
  while (!out.empty() && out.back() == '\0') out.pop_back();
  return out;
}

double File::DoubleAttribute(const std::string& object, const std::string& name) const {
  if (!HasAttribute(object, name)) Fail(object, "missing attribute " + name);
  Handle attr(H5Aopen_by_name(file_.id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  double v = 0;
  if (H5Aread(attr.id(), H5T_NATIVE_DOUBLE, &v) < 0)
    Fail(object, "attribute " + name + " unreadable");
  return v;
}

int64_t File::IntAttribute(const std::string& object, const std::string& name) const {
  if (!HasAttribute(object, name)) Fail(object, "missing attribute " + name);
  Handle attr(H5Aopen_by_name(file_.id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT),
              H5Aclose);
  int64_t v = 0;
  if (H5Aread(attr.id(), H5T_NATIVE_INT64, &v) < 0)
    Fail(object, "attribute " + name + " unreadable");
  return v;
}

void File::Flush() {
  if (H5Fflush(file_.id(), H5F_SCOPE_GLOBAL) < 0) Fail("/", "flush failed");
}

template void File::Write<float>(const std::string&, std::span<const float>, const Shape&, hsize_t);
template void File::Write<double>(const std::string&, std::span<const double>, const Shape&,
                                  hsize_t);
template void File::Write<int64_t>(const std::string&, std::span<const int64_t>, const Shape&,
                                   hsize_t);
template void File::Write<uint8_t>(const std::string&, std::span<const uint8_t>, const Shape&,
                                   hsize_t);
template void File::WriteChecksummed<float>(const std::string&, std::span<const float>,
                                            const Shape&);
template void File::WriteChecksummed<double>(const std::string&, std::span<const double>,
                                             const Shape&);
template void File::WriteChecksummed<int64_t>(const std::string&, std::span<const int64_t>,
                                              const Shape&);
template void File::WriteChecksummed<uint8_t>(const std::string&, std::span<const uint8_t>,
                                              const Shape&);
template std::vector<float> File::Read<float>(const std::string&,
                                              const std::optional<Shape>&) const;
template std::vector<double> File::Read<double>(const std::string&,
                                                const std::optional<Shape>&) const;
template std::vector<int64_t> File::Read<int64_t>(const std::string&,
                                                  const std::optional<Shape>&) const;
template std::vector<uint8_t> File::Read<uint8_t>(const std::string&,
                                                  const std::optional<Shape>&) const;
template void File::ReadRows<uint8_t>(const std::string&, hsize_t, hsize_t,
                                      std::span<uint8_t>) const;
template void File::ReadRows<float>(const std::string&, hsize_t, hsize_t, std::span<float>) const;

AtomicOutput::AtomicOutput(std::string final_path) : final_path_(std::move(final_path)) {
  const std::filesystem::path target(final_path_);
  temp_path_ = (target.parent_path() /
                ("." + target.filename().string() + ".tmp." + std::to_string(::getpid())))
                   .string();
}

AtomicOutput::~AtomicOutput() {
  if (!committed_) {
    std::error_code ignored;
    std::filesystem::remove(temp_path_, ignored);
  }
}

void AtomicOutput::Commit() {
  SyncPath(temp_path_, O_RDONLY);
  std::error_code error;
  std::filesystem::rename(temp_path_, final_path_, error);
  if (error)
    throw Error(final_path_ + ": cannot move the finished file into place: " + error.message());
  committed_ = true;
  auto folder = std::filesystem::path(final_path_).parent_path();
  SyncPath(folder.empty() ? "." : folder.string(), O_RDONLY | O_DIRECTORY);
}

}  // namespace zeta::h5
