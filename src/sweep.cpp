// Sweep specs, their expansion into run configs, and the table of results.
#include "zeta/sweep.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>

#include "zeta/data.hpp"
#include "zeta/error.hpp"
#include "zeta/hdf5.hpp"
#include "zeta/options.hpp"
#include "zeta/run.hpp"
#include "zeta/train.hpp"

namespace zeta {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kMaxNameLength = 80;

// The per-epoch metrics that the table reports, as named in metrics.csv.
const std::vector<std::string> kMetrics = {"reconstruction_error", "pseudo_log_likelihood",
                                           "free_energy_train", "free_energy_heldout"};

std::string Trim(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(path + ": cannot open the file");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteTextAtomically(const std::string& path, const std::string& text) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << text;
    if (!out) throw Error(path + ": cannot write");
  }
  fs::rename(temp, path);
}

std::string Hex32(uint64_t hash) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "%08x", static_cast<unsigned>(hash & 0xffffffffU));
  return buffer;
}

bool NameSafe(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '+' || c == '-';
}

// Splits a CSV line of metrics.csv (plain numbers and names: no quoting).
std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> fields;
  std::istringstream in(line);
  std::string field;
  while (std::getline(in, field, ',')) fields.push_back(Trim(field));
  return fields;
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\n") == std::string::npos) return value;
  std::string quoted = "\"";
  for (const char c : value) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

// A number to 6 significant digits; anything else unchanged, with '|' escaped.
std::string MarkdownCell(const std::string& value) {
  char* end = nullptr;
  const double number = std::strtod(value.c_str(), &end);
  if (!value.empty() && end == value.c_str() + value.size() && std::isfinite(number) &&
      value.find_first_of(".eE") != std::string::npos) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.6g", number);
    return buffer;
  }
  std::string escaped;
  for (const char c : value) {
    if (c == '|') {
      escaped += "\\|";
    } else {
      escaped += c == '\n' ? ' ' : c;
    }
  }
  return escaped;
}

nlohmann::json PairsToJson(const KeyValues& values) {
  auto out = nlohmann::json::array();
  for (const auto& [key, value] : values) out.push_back({key, value});
  return out;
}

KeyValues PairsFromJson(const nlohmann::json& pairs) {
  KeyValues out;
  for (const auto& pair : pairs) {
    out.emplace_back(pair.at(0).get<std::string>(), pair.at(1).get<std::string>());
  }
  return out;
}

struct RunRow {
  std::string status = "not-started";
  std::string message;
  std::string epoch;
  std::string step;
  std::string train_seconds;
  std::map<std::string, std::string> metrics;
  std::string log_likelihood;
  std::string log_likelihood_se;
  std::string eval_split;
};

// Reads what a run directory holds; a broken file marks the row instead of failing the table.
RunRow ReadRun(const std::string& run_dir) {
  RunRow row;
  const std::string record_path = run_dir + "/run.json";
  if (!fs::exists(record_path)) return row;
  try {
    const auto record = ReadJson(record_path);
    row.status = record.value("status", std::string("running"));
    row.message = record.value("message", std::string());
    if (record.contains("epoch")) row.epoch = std::to_string(record["epoch"].get<int64_t>());
    if (record.contains("step")) row.step = std::to_string(record["step"].get<int64_t>());
  } catch (const std::exception& e) {
    row.status = "failed";
    row.message = e.what();
    return row;
  }

  if (std::ifstream in(run_dir + "/metrics.csv"); in) {
    std::string line;
    std::getline(in, line);
    const auto header = SplitCsv(line);
    std::vector<std::string> last;
    double seconds = 0;
    while (std::getline(in, line)) {
      if (Trim(line).empty()) continue;
      last = SplitCsv(line);
      for (std::size_t i = 0; i < header.size() && i < last.size(); ++i) {
        if (header[i] == "seconds") seconds += std::strtod(last[i].c_str(), nullptr);
      }
    }
    for (std::size_t i = 0; i < header.size() && i < last.size(); ++i) {
      row.metrics[header[i]] = last[i];
    }
    if (!last.empty()) row.train_seconds = FormatValue(seconds);
  }

  // What `zeta eval` wrote next to the model: model.eval.<split>.h5, the test split's
  // when there are several.
  std::vector<fs::path> evaluations;
  for (const auto& entry : fs::directory_iterator(run_dir)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("model.eval.") && name.ends_with(".h5")) {
      evaluations.push_back(entry.path());
    }
  }
  std::sort(evaluations.begin(), evaluations.end());
  const auto test = std::find_if(evaluations.begin(), evaluations.end(), [](const fs::path& p) {
    return p.filename() == "model.eval.test.h5";
  });
  if (!evaluations.empty()) {
    try {
      const auto file =
          h5::File::OpenRead((test != evaluations.end() ? *test : evaluations.front()).string());
      row.log_likelihood = FormatValue(file.DoubleAttribute("/eval", "log_likelihood"));
      row.log_likelihood_se = FormatValue(file.DoubleAttribute("/eval", "log_likelihood_se"));
      row.eval_split = file.StringAttribute("/eval", "split");
    } catch (const Error& e) {
      row.message += (row.message.empty() ? "" : "; ") + std::string(e.what());
    }
  }
  return row;
}

// The value of text that is wholly a finite number ("0.01", "1e-2", "64"), else nothing.
std::optional<double> ParseNumber(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || errno != 0 || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

SweepSpec ParseSweepSpec(const std::string& text, const std::string& origin) {
  SweepSpec spec;
  std::set<std::string> seen;
  std::istringstream in(text);
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = origin + ":" + std::to_string(number) + ": ";
    const auto content = Trim(line.substr(0, line.find('#')));
    if (content.empty()) continue;
    if (content.front() == '[') {
      throw UsageError(where + "sections are not supported in a sweep spec, found '" + content +
                       "'");
    }
    const auto equals = content.find('=');
    if (equals == std::string::npos) {
      throw UsageError(where + "expected 'key = value' or 'key = v1, v2, ...', found '" + content +
                       "'");
    }
    SweepKey key{Trim(content.substr(0, equals)), {}};
    if (key.key.empty()) throw UsageError(where + "a key is missing before '='");
    if (!seen.insert(key.key).second) {
      throw UsageError(where + "key '" + key.key +
                       "' is given twice (list its values on one "
                       "line: " +
                       key.key + " = a, b)");
    }
    std::istringstream values(content.substr(equals + 1));
    std::string value;
    std::set<std::string> distinct;
    std::map<double, std::string> numbers;  // spellings of one number (0.01, 1e-2) run once
    while (std::getline(values, value, ',')) {
      value = Trim(value);
      if (value.empty()) throw UsageError(where + "key '" + key.key + "' has an empty value");
      if (!distinct.insert(value).second) {
        throw UsageError(where + "key '" + key.key + "' lists '" + value + "' twice");
      }
      if (const auto parsed = ParseNumber(value)) {
        const auto [earlier, fresh] = numbers.emplace(*parsed, value);
        if (!fresh) {
          throw UsageError(where + "key '" + key.key + "' lists '" + earlier->second + "' and '" +
                           value + "', the same number twice");
        }
      }
      key.values.push_back(value);
    }
    if (key.values.empty()) throw UsageError(where + "key '" + key.key + "' has no value");
    spec.keys.push_back(std::move(key));
  }
  return spec;
}

std::vector<SweepPoint> ExpandSweep(const SweepSpec& spec) {
  // Mixed-radix counting with the last key as the lowest digit.
  std::size_t total = 1;
  for (const auto& key : spec.keys) total *= key.values.size();
  std::vector<SweepPoint> points;
  points.reserve(total);
  for (std::size_t index = 0; index < total; ++index) {
    SweepPoint point;
    std::size_t rest = index;
    std::vector<std::size_t> digits(spec.keys.size());
    for (std::size_t k = spec.keys.size(); k-- > 0;) {
      digits[k] = rest % spec.keys[k].values.size();
      rest /= spec.keys[k].values.size();
    }
    for (std::size_t k = 0; k < spec.keys.size(); ++k) {
      const auto& key = spec.keys[k];
      point.values.emplace_back(key.key, key.values[digits[k]]);
      if (key.values.size() > 1) point.swept.emplace_back(key.key, key.values[digits[k]]);
    }
    point.name = PointName(point.swept);
    points.push_back(std::move(point));
  }
  return points;
}

std::string PointName(const KeyValues& swept) {
  if (swept.empty()) return "single";
  std::string name;
  std::string exact;
  bool changed = false;
  for (const auto& [key, value] : swept) {
    if (!name.empty()) name += '_';
    name += key + '=';
    for (const char c : value) {
      changed = changed || !NameSafe(c);
      name += NameSafe(c) ? c : '-';
    }
    exact += key + '=' + value + '\n';
  }
  if (!changed && name.size() <= kMaxNameLength) return name;
  const auto hash = Fnv1a(reinterpret_cast<const uint8_t*>(exact.data()), exact.size());
  const std::size_t keep = std::min(name.size(), kMaxNameLength - 9);
  return name.substr(0, keep) + '_' + Hex32(hash);
}

std::string ResolvePoint(const SweepPoint& point, const std::string& run_dir,
                         const std::string& origin) {
  std::string text;
  for (const auto& [key, value] : point.values) text += key + " = " + value + "\n";
  text += "run_dir = " + run_dir + "\n";
  TrainConfig config;
  OptionTable table("zeta train", "a point of a sweep");
  DeclareTrainOptions(&config, &table);
  table.ParseConfigText(text, origin + " (point " + point.name + ")");
  return table.Resolved();
}

std::vector<SweepPoint> WriteSweep(const std::string& spec_path, const std::string& out) {
  const std::string spec_text = ReadText(spec_path);
  const auto spec = ParseSweepSpec(spec_text, spec_path);
  bool has_data = false;
  for (const auto& key : spec.keys) {
    if (key.key == "run_dir") {
      throw UsageError(spec_path + ": sets run_dir, but each point runs in its own folder under " +
                       out + " (remove run_dir, choose the folder with --out)");
    }
    has_data = has_data || key.key == "data";
  }
  if (!has_data) throw UsageError(spec_path + ": no 'data' key: a sweep needs the data file");

  std::string folder = out;
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
  const auto points = ExpandSweep(spec);
  std::vector<std::string> configs;
  auto manifest_points = nlohmann::json::array();
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& point = points[i];
    const std::string run_dir = folder + "/" + point.name;
    configs.push_back(ResolvePoint(point, run_dir, spec_path));
    manifest_points.push_back({{"index", i},
                               {"name", point.name},
                               {"config", run_dir + "/config.ini"},
                               {"run_dir", run_dir},
                               {"swept", PairsToJson(point.swept)}});
  }
  auto swept_keys = nlohmann::json::array();
  for (const auto& key : spec.keys) {
    if (key.values.size() > 1) swept_keys.push_back(key.key);
  }
  const nlohmann::json manifest = {
      {"spec", spec_path}, {"swept_keys", swept_keys}, {"points", manifest_points}};

  // Expanding again is harmless only when every file would stay as it is.
  const std::string manifest_path = folder + "/sweep.json";
  if (fs::exists(manifest_path)) {
    const auto existing = ReadJson(manifest_path);
    bool same = existing.value("points", nlohmann::json()) == manifest_points;
    for (std::size_t i = 0; same && i < points.size(); ++i) {
      const auto path = manifest_points[i]["config"].get<std::string>();
      same = fs::exists(path) && ReadText(path) == configs[i];
    }
    if (!same) {
      throw UsageError(folder + " already holds a different sweep (from " +
                       existing.value("spec", std::string("?")) +
                       "); choose another --out or remove that folder");
    }
  }
  fs::create_directories(folder);
  std::string list;
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& entry = manifest_points[i];
    fs::create_directories(entry["run_dir"].get<std::string>());
    WriteTextAtomically(entry["config"].get<std::string>(), configs[i]);
    list += entry["config"].get<std::string>() + "\n";
  }
  WriteTextAtomically(folder + "/configs.txt", list);
  WriteTextAtomically(folder + "/sweep.ini", spec_text);
  WriteJsonAtomically(manifest_path, manifest);
  return points;
}

SweepTable CollectSweep(const std::string& dir) {
  const std::string manifest_path = dir + "/sweep.json";
  if (!fs::exists(manifest_path)) {
    throw UsageError(dir + ": holds no sweep.json; expected a folder made by 'zeta sweep expand'");
  }
  const auto manifest = ReadJson(manifest_path);
  SweepTable table;
  std::vector<std::string> swept_keys;
  try {
    for (const auto& key : manifest.at("swept_keys")) swept_keys.push_back(key.get<std::string>());
    table.columns = {"index", "run", "status"};
    table.columns.insert(table.columns.end(), swept_keys.begin(), swept_keys.end());
    for (const char* column : {"epoch", "step", "train_seconds"}) table.columns.push_back(column);
    table.columns.insert(table.columns.end(), kMetrics.begin(), kMetrics.end());
    for (const char* column : {"log_likelihood", "log_likelihood_se", "eval_split", "message"}) {
      table.columns.push_back(column);
    }

    for (const auto& point : manifest.at("points")) {
      const auto run = ReadRun(point.at("run_dir").get<std::string>());
      const auto swept = PairsFromJson(point.at("swept"));
      std::vector<std::string> row = {std::to_string(point.at("index").get<int64_t>()),
                                      point.at("name").get<std::string>(), run.status};
      for (const auto& key : swept_keys) {
        std::string value;
        for (const auto& [k, v] : swept) {
          if (k == key) value = v;
        }
        row.push_back(value);
      }
      row.insert(row.end(), {run.epoch, run.step, run.train_seconds});
      for (const auto& metric : kMetrics) {
        const auto found = run.metrics.find(metric);
        row.push_back(found == run.metrics.end() ? "" : found->second);
      }
      row.insert(row.end(),
                 {run.log_likelihood, run.log_likelihood_se, run.eval_split, run.message});
      if (run.status == "completed") ++table.completed;
      table.rows.push_back(std::move(row));
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(manifest_path + ": not a sweep manifest (" + e.what() + ")");
  }
  return table;
}

std::string SweepCsv(const SweepTable& table) {
  std::string out;
  for (std::size_t i = 0; i < table.columns.size(); ++i) {
    out += (i ? "," : "") + CsvField(table.columns[i]);
  }
  out += "\n";
  for (const auto& row : table.rows) {
    for (std::size_t i = 0; i < row.size(); ++i) out += (i ? "," : "") + CsvField(row[i]);
    out += "\n";
  }
  return out;
}

std::string SweepMarkdown(const SweepTable& table) {
  std::size_t status_column = 0;
  while (status_column < table.columns.size() && table.columns[status_column] != "status") {
    ++status_column;
  }
  std::string out = "|";
  for (const auto& column : table.columns) out += " " + column + " |";
  out += "\n|";
  for (std::size_t i = 0; i < table.columns.size(); ++i) out += " --- |";
  out += "\n";
  for (const auto& row : table.rows) {
    out += "|";
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::string cell = MarkdownCell(row[i]);
      if (i == status_column && row[i] != "completed") cell = "**" + cell + "**";
      out += " " + cell + " |";
    }
    out += "\n";
  }
  return out;
}

void WriteSweepTables(const std::string& dir, const SweepTable& table) {
  WriteTextAtomically(dir + "/sweep.csv", SweepCsv(table));
  WriteTextAtomically(dir + "/sweep.md", SweepMarkdown(table));
}

}  // namespace zeta
