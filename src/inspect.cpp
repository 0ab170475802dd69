// 'zeta inspect': walks HDF5 files generically and summarises the layouts Zeta writes.
#include "zeta/inspect.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "zeta/checkpoint.hpp"
#include "zeta/error.hpp"
#include "zeta/image.hpp"
#include "zeta/model.hpp"
#include "zeta/partition.hpp"
#include "zeta/pictures.hpp"
#include "zeta/run.hpp"

namespace zeta {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kTextWidth = 72;  // longest attribute text shown on one line

herr_t CollectLink(hid_t /*group*/, const char* name, const H5L_info_t* info, void* data) {
  if (info->type == H5L_TYPE_HARD) static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}

herr_t CollectAttribute(hid_t /*object*/, const char* name, const H5A_info_t* /*info*/,
                        void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}

std::string ShapeText(const h5::Shape& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    out += (i ? ", " : "") + std::to_string(shape[i]);
  }
  return out + "]";
}

std::string TypeName(hid_t type) {
  const auto size = H5Tget_size(type) * 8;
  switch (H5Tget_class(type)) {
    case H5T_INTEGER:
      return (H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") + std::to_string(size);
    case H5T_FLOAT:
      return "float" + std::to_string(size);
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ENUM:
      return "enum";
    default:
      return "other";
  }
}

h5::Shape SpaceShape(hid_t space) {
  const int rank = H5Sget_simple_extent_ndims(space);
  h5::Shape shape(static_cast<std::size_t>(std::max(rank, 0)));
  if (rank > 0) H5Sget_simple_extent_dims(space, shape.data(), nullptr);
  return shape;
}

hsize_t Elements(const h5::Shape& shape) {
  hsize_t n = 1;
  for (hsize_t d : shape) n *= d;
  return n;
}

bool Numeric(H5T_class_t cls) { return cls == H5T_INTEGER || cls == H5T_FLOAT; }

H5Attribute ReadAttribute(const h5::File& file, const std::string& object,
                          const std::string& name) {
  H5Attribute out{name, {}, std::nullopt};
  h5::Handle attribute(
      H5Aopen_by_name(file.id(), object.c_str(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attribute.valid())
    throw Error(file.path() + ": " + object + ": unreadable attribute " + name);
  h5::Handle type(H5Aget_type(attribute.id()), H5Tclose);
  h5::Handle space(H5Aget_space(attribute.id()), H5Sclose);
  const auto shape = SpaceShape(space.id());
  const H5T_class_t cls = H5Tget_class(type.id());
  if (Elements(shape) == 1 && cls == H5T_STRING) {
    out.text = file.StringAttribute(object, name);
  } else if (Elements(shape) == 1 && Numeric(cls)) {
    const double v = file.DoubleAttribute(object, name);
    out.number = v;
    out.text = cls == H5T_INTEGER ? std::to_string(static_cast<int64_t>(v)) : FormatValue(v);
  } else {
    out.text = ShapeText(shape) + " " + TypeName(type.id());
  }
  return out;
}

H5Object ReadObject(const h5::File& file, const std::string& path) {
  H5Object object;
  object.path = path;
  h5::Handle handle(H5Oopen(file.id(), path.c_str(), H5P_DEFAULT), H5Oclose);
  if (!handle.valid()) throw Error(file.path() + ": " + path + ": cannot open the object");
  object.dataset = H5Iget_type(handle.id()) == H5I_DATASET;
  if (object.dataset) {
    h5::Handle type(H5Dget_type(handle.id()), H5Tclose);
    h5::Handle space(H5Dget_space(handle.id()), H5Sclose);
    object.shape = SpaceShape(space.id());
    object.type = TypeName(type.id());
    const H5T_class_t cls = H5Tget_class(type.id());
    if (Elements(object.shape) == 1 && Numeric(cls)) {
      object.number = file.Read<double>(path).front();
    } else if (object.shape.empty() && cls == H5T_STRING) {
      object.text = file.ReadString(path);
    }
  }
  std::vector<std::string> names;
  hsize_t index = 0;
  H5Aiterate2(handle.id(), H5_INDEX_NAME, H5_ITER_INC, &index, CollectAttribute, &names);
  for (const auto& name : names) object.attributes.push_back(ReadAttribute(file, path, name));
  return object;
}

// The first line of a text, cut to `width` characters, with a note of what was left out.
std::string Shorten(const std::string& text, std::size_t width = kTextWidth) {
  const auto newline = text.find('\n');
  std::string line = text.substr(0, newline);
  const bool more_lines = newline != std::string::npos && newline + 1 < text.size();
  if (line.size() > width) line = line.substr(0, width) + "...";
  if (more_lines) {
    const auto lines = std::count(text.begin(), text.end(), '\n') + (text.back() == '\n' ? 0 : 1);
    line += " ... (" + std::to_string(lines) + " lines)";
  }
  return line;
}

const H5Object* Find(const std::vector<H5Object>& objects, const std::string& path) {
  for (const auto& object : objects) {
    if (object.path == path) return &object;
  }
  return nullptr;
}

std::string AttributeText(const H5Object* object, const std::string& name) {
  if (object == nullptr) return {};
  for (const auto& attribute : object->attributes) {
    if (attribute.name == name) return attribute.text;
  }
  return {};
}

void PrintTree(const std::vector<H5Object>& objects, std::ostream& out) {
  out << "Contents:\n";
  for (const auto& object : objects) {
    char head[160];
    if (object.dataset) {
      std::string what =
          object.type + " " + (object.shape.empty() ? "scalar" : ShapeText(object.shape));
      if (object.number) what += " = " + FormatValue(*object.number);
      if (object.text) what += " = \"" + Shorten(*object.text, 40) + "\"";
      std::snprintf(head, sizeof head, "  %-32s %s", object.path.c_str(), what.c_str());
    } else {
      std::snprintf(head, sizeof head, "  %-32s group", object.path.c_str());
    }
    out << head << "\n";
    for (const auto& attribute : object.attributes) {
      out << "      @" << attribute.name << " = " << Shorten(attribute.text) << "\n";
    }
  }
}

// min, max and mean |x| of a block of parameters.
std::string Stats(const float* data, std::size_t n) {
  if (n == 0) return "empty";
  double low = data[0];
  double high = data[0];
  double abs_sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    low = std::min<double>(low, data[i]);
    high = std::max<double>(high, data[i]);
    abs_sum += std::abs(static_cast<double>(data[i]));
  }
  char buffer[128];
  std::snprintf(buffer, sizeof buffer, "min %.4g, max %.4g, mean |x| %.4g", low, high,
                abs_sum / static_cast<double>(n));
  return buffer;
}

void PrintConfig(const std::string& config, std::ostream& out) {
  if (config.empty()) return;
  out << "  config:\n";
  std::istringstream lines(config);
  std::string line;
  while (std::getline(lines, line)) out << "    " << line << "\n";
}

void SummariseModel(const std::string& path, const std::vector<H5Object>& objects,
                    std::ostream& out) {
  const Rbm rbm = ReadModel(path);
  const auto nv = static_cast<std::size_t>(rbm.visible());
  const auto nh = static_cast<std::size_t>(rbm.hidden());
  const auto p = rbm.parameters();
  out << "  RBM: " << nv << " visible x " << nh << " hidden units ("
      << AttributeText(Find(objects, "/model"), "units") << ")\n"
      << "  weights W:       " << Stats(p.data(), nv * nh) << "\n"
      << "  visible bias b:  " << Stats(p.data() + nv * nh, nv) << "\n"
      << "  hidden bias c:   " << Stats(p.data() + nv * nh + nv, nh) << "\n";
  const H5Object* root = Find(objects, "/");
  out << "  written by zeta " << AttributeText(root, "zeta_version") << " ("
      << AttributeText(root, "git_commit") << ") at " << AttributeText(root, "created") << "\n";
  if (const H5Object* train = Find(objects, "/train"); train != nullptr) {
    out << "  training state: step " << AttributeText(train, "step") << ", epoch "
        << AttributeText(train, "epoch") << ", step " << AttributeText(train, "position")
        << " within the epoch";
    if (const H5Object* chains = Find(objects, "/train/chains"); chains && !chains->shape.empty()) {
      out << ", " << chains->shape[0] << " persistent chains";
    }
    out << "\n";
  }
  if (const H5Object* config = Find(objects, "/config"); config != nullptr) {
    const std::string seed = AttributeText(config, "seed");
    const std::string checksum = AttributeText(config, "data_checksum");
    if (!seed.empty()) out << "  seed " << seed << ", data checksum " << checksum << "\n";
    if (config->text) PrintConfig(*config->text, out);
  }
}

void SummariseData(const std::vector<H5Object>& objects, const std::string& path,
                   std::ostream& out) {
  const H5Object* root = Find(objects, "/");
  out << "  source: " << AttributeText(root, "source") << "\n"
      << "  binarization: " << AttributeText(root, "binarization") << "\n";
  for (const auto& object : objects) {
    if (!object.dataset || object.shape.size() != 2) continue;
    const auto slash = object.path.find_last_of('/');
    if (object.path.substr(slash + 1) != "visible" || slash == 0) continue;
    const std::string split = object.path.substr(1, slash - 1);
    const SplitInfo info = ReadSplitInfo(path, split);
    out << "  split " << split << ": " << info.rows << " rows x " << info.cols << " visible units";
    const H5Object* group = Find(objects, "/" + split);
    const std::string h = AttributeText(group, "image_height");
    const std::string w = AttributeText(group, "image_width");
    if (!h.empty() && h != "0") out << " (images " << h << " x " << w << ")";
    out << ", checksum " << (info.checksum.empty() ? "absent" : info.checksum) << "\n";
    if (info.has_labels) {
      std::map<int, int64_t> counts;
      for (uint8_t label : ReadLabelRows(info, 0, info.rows)) ++counts[label];
      out << "    labels:";
      for (const auto& [label, count] : counts) out << " " << label << ":" << count;
      out << "\n";
    }
  }
}

void SummariseAttributes(const H5Object* object, std::ostream& out) {
  if (object == nullptr) return;
  for (const auto& attribute : object->attributes) {
    out << "  " << attribute.name << ": " << Shorten(attribute.text) << "\n";
  }
}

std::string FormatOf(const std::vector<H5Object>& objects) {
  return AttributeText(Find(objects, "/"), "format");
}

// The run directory of a model or checkpoint: its folder, or the folder above
// checkpoints/; empty when neither holds run.json or metrics.csv.
std::string RunDirOf(const std::string& file) {
  auto folder = fs::path(file).parent_path();
  if (folder.empty()) folder = ".";
  if (folder.filename() == "checkpoints") folder = folder.parent_path();
  if (fs::exists(folder / "run.json") || fs::exists(folder / "metrics.csv")) return folder.string();
  return {};
}

void SummariseRun(const std::string& dir, std::ostream& out) {
  out << "Run directory " << dir << "\n";
  const fs::path root(dir);
  if (fs::exists(root / "run.json")) {
    const auto record = ReadJson((root / "run.json").string());
    const auto text = [&](const char* key) -> std::string {
      if (!record.contains(key)) return "?";
      const auto& v = record[key];
      return v.is_string() ? v.get<std::string>() : v.dump();
    };
    out << "  status: " << text("status") << " (" << text("command") << "), step " << text("step")
        << ", epoch " << text("epoch") << ", " << text("ranks") << " ranks\n"
        << "  started " << text("start") << ", ended " << (text("end").empty() ? "-" : text("end"))
        << "\n";
    if (record.contains("message") && !text("message").empty()) {
      out << "  message: " << text("message") << "\n";
    }
  }
  if (fs::exists(root / "metrics.csv")) {
    const CsvTable metrics = ReadCsvTable((root / "metrics.csv").string());
    out << "  metrics.csv: " << metrics.rows.size() << " rows";
    if (!metrics.rows.empty()) {
      out << "; last:";
      for (std::size_t i = 0; i < metrics.columns.size(); ++i) {
        char value[32];
        std::snprintf(value, sizeof value, "%.6g", metrics.rows.back()[i]);
        out << (i % 3 == 0 ? "\n    " : "  ") << metrics.columns[i] << " " << value;
      }
    }
    out << "\n";
  }
  const auto checkpoints = ListCheckpoints((root / "checkpoints").string());
  if (!checkpoints.empty()) {
    out << "  checkpoints: " << checkpoints.size() << ", newest "
        << fs::path(checkpoints.front()).filename().string() << "\n";
  }
  std::vector<std::string> pictures;
  for (const char* name : {"filters.png", "learning_curve.png"}) {
    if (!fs::exists(root / name)) continue;
    const Image image = ReadPng((root / name).string());
    pictures.push_back(std::string(name) + " (" + std::to_string(image.width) + " x " +
                       std::to_string(image.height) + ")");
  }
  if (fs::is_directory(root / "filters")) {
    const auto n =
        std::distance(fs::directory_iterator(root / "filters"), fs::directory_iterator());
    pictures.push_back("filters/ (" + std::to_string(n) + " pictures)");
  }
  if (!pictures.empty()) {
    out << "  pictures:";
    for (const auto& p : pictures) out << " " << p;
    out << "\n";
  }
}

// A results file of 'zeta logz': each estimate with its interval, and whether it belongs to
// `model` (when given).
void SummariseLogZ(const std::string& path, const Rbm* model, std::ostream& out) {
  const LogPartitionReport r = ReadLogPartitionFile(path);
  out << "  for " << r.model << " (" << r.visible << " x " << r.hidden << ", checksum "
      << r.model_checksum;
  if (model != nullptr) {
    out << (ModelChecksum(*model) == r.model_checksum ? ": this model" : ": NOT this model");
  }
  out << "), " << r.ranks << " ranks\n";
  char line[256];
  if (r.exact) {
    std::snprintf(line, sizeof line, "  exact        log Z = %.6f (enumerated %d %s units)\n",
                  r.exact->log_z, r.exact->plan.units, r.exact->plan.hidden ? "hidden" : "visible");
    out << line;
  }
  for (const auto* ais : {r.ais ? &*r.ais : nullptr, r.reverse ? &*r.reverse : nullptr}) {
    if (ais == nullptr) continue;
    std::snprintf(line, sizeof line,
                  "  %-12s log Z = %.6f, 3-sigma [%.6f, %.6f], ESS %.1f of %lld chains, %lld "
                  "steps\n",
                  ais->reverse ? "reverse-ais" : "ais", ais->log_z, ais->log_z_low, ais->log_z_high,
                  ais->ess, static_cast<long long>(ais->chains),
                  static_cast<long long>(ais->steps));
    out << line;
  }
  if (const auto gap = r.gap()) out << "  gap (reverse - forward): " << FormatValue(*gap) << "\n";
}

// Results files of 'zeta logz' next to a model or checkpoint.
void SummariseLogZNextTo(const std::string& model, std::ostream& out) {
  auto folder = fs::path(model).parent_path();
  if (folder.empty()) folder = ".";
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.is_regular_file() && entry.path().extension() == ".h5" &&
        !fs::equivalent(entry.path(), model) && H5Fis_hdf5(entry.path().c_str()) > 0) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  const Rbm rbm = ReadModel(model);
  for (const auto& file : files) {
    if (FormatOf(WalkHdf5(file.string())) != "zeta-logz") continue;
    out << "log Z results in " << file.string() << ":\n";
    SummariseLogZ(file.string(), &rbm, out);
  }
}

void InspectHdf5(const std::string& path, std::ostream& out) {
  const auto objects = WalkHdf5(path);
  const std::string format = FormatOf(objects);
  if (format == "zeta-data") {
    out << path << ": Zeta data file\n";
    SummariseData(objects, path, out);
  } else if (format == "zeta-model" || format == "zeta-checkpoint") {
    out << path << ": Zeta " << (format == "zeta-model" ? "model" : "checkpoint") << "\n";
    SummariseModel(path, objects, out);
  } else if (format == "zeta-samples") {
    out << path << ": Zeta samples\n";
    SummariseAttributes(Find(objects, "/samples"), out);
  } else if (format == "zeta-scores") {
    out << path << ": Zeta free-energy scores\n";
    SummariseAttributes(Find(objects, "/scores"), out);
  } else if (format == "zeta-logz") {
    out << path << ": Zeta log Z results\n";
    SummariseLogZ(path, nullptr, out);
  } else {
    out << path << ": HDF5 file" << (format.empty() ? "" : " of format " + format) << "\n";
    SummariseAttributes(Find(objects, "/"), out);
  }
  if (format == "zeta-model" || format == "zeta-checkpoint") {
    if (const auto run = RunDirOf(path); !run.empty()) SummariseRun(run, out);
    SummariseLogZNextTo(path, out);
  }
  PrintTree(objects, out);
}

bool IsPng(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char signature[8] = {};
  in.read(signature, sizeof signature);
  return in && std::string(signature, 8) == "\x89PNG\r\n\x1a\n";
}

}  // namespace

std::vector<H5Object> WalkHdf5(const std::string& path) {
  const auto file = h5::File::OpenRead(path);
  std::vector<std::string> names;
  if (H5Lvisit(file.id(), H5_INDEX_NAME, H5_ITER_INC, CollectLink, &names) < 0) {
    throw Error(path + ": cannot walk the HDF5 tree (corrupted file?)");
  }
  std::sort(names.begin(), names.end());
  std::vector<H5Object> objects;
  objects.push_back(ReadObject(file, "/"));
  for (const auto& name : names) objects.push_back(ReadObject(file, "/" + name));
  return objects;
}

void Inspect(const std::string& path, std::ostream& out) {
  if (!fs::exists(path)) throw Error(path + ": no such file or directory");
  if (fs::is_directory(path)) {
    if (!fs::exists(fs::path(path) / "run.json") && !fs::exists(fs::path(path) / "metrics.csv")) {
      throw Error(path + ": a folder without run.json or metrics.csv is not a run directory");
    }
    SummariseRun(path, out);
    // The finished model, or the newest checkpoint of a run still going.
    std::string model = (fs::path(path) / "model.h5").string();
    if (!fs::exists(model)) {
      const auto checkpoints = ListCheckpoints((fs::path(path) / "checkpoints").string());
      model = checkpoints.empty() ? std::string() : checkpoints.front();
    }
    if (!model.empty()) {
      const auto objects = WalkHdf5(model);
      out << "\n"
          << model << ": Zeta " << (FormatOf(objects) == "zeta-model" ? "model" : "checkpoint")
          << "\n";
      SummariseModel(model, objects, out);
      SummariseLogZNextTo(model, out);
    }
    return;
  }
  if (H5Fis_hdf5(path.c_str()) > 0) {
    InspectHdf5(path, out);
    return;
  }
  if (IsPng(path)) {
    const Image image = ReadPng(path);
    out << path << ": PNG image, " << image.width << " x " << image.height << " pixels, "
        << (image.channels == 1 ? "gray" : "RGB") << "\n";
    return;
  }
  if (fs::path(path).extension() == ".csv") {
    const CsvTable table = ReadCsvTable(path);
    out << path << ": CSV table, " << table.rows.size() << " rows\n  columns:";
    for (const auto& column : table.columns) out << " " << column;
    out << "\n";
    if (!table.rows.empty()) {
      out << "  last row:";
      for (double v : table.rows.back()) out << " " << FormatValue(v);
      out << "\n";
    }
    return;
  }
  throw Error(path + ": not a run directory, HDF5, PNG or CSV file (nothing to inspect)");
}

}  // namespace zeta
