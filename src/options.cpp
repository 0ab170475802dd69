// Option tables over Boost.Program_options.
#include "zeta/options.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>

#include "zeta/error.hpp"

namespace po = boost::program_options;

namespace zeta {

std::string FormatValue(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return {buffer, result.ptr};
}
std::string FormatValue(int64_t value) { return std::to_string(value); }
std::string FormatValue(int value) { return std::to_string(value); }
std::string FormatValue(uint64_t value) { return std::to_string(value); }
std::string FormatValue(const std::string& value) { return value; }
std::string FormatValue(bool value) { return value ? "true" : "false"; }

OptionTable::OptionTable(std::string usage, std::string summary)
    : usage_(std::move(usage)), summary_(std::move(summary)), options_("Options", 100, 50) {
  options_.add_options()("help,h", "print this help and exit");
}

template <class T>
OptionTable& OptionTable::Add(const std::string& name, T* field, const std::string& help,
                              const Bounds& bounds, Role role) {
  options_.add_options()(
      name.c_str(), po::value<T>(field)->default_value(*field, FormatValue(*field)), help.c_str());
  auto check = [field, bounds]() -> std::string {
    if constexpr (std::is_same_v<T, std::string>) {
      if (bounds.choices.empty()) return "";
      for (const auto& choice : bounds.choices) {
        if (*field == choice) return "";
      }
      std::string allowed;
      for (const auto& choice : bounds.choices) allowed += (allowed.empty() ? "" : ", ") + choice;
      return "'" + *field + "' is not one of " + allowed;
    } else {
      const auto value = static_cast<double>(*field);
      if (std::isnan(value)) {
        return std::string("nan is not a number, expected a value") +
               (bounds.min || bounds.max ? " in range" : "");
      }
      const bool low = bounds.min && value < *bounds.min;
      const bool high = bounds.max && value > *bounds.max;
      if (!low && !high) return "";
      std::string expected = bounds.min && bounds.max ? "in [" + FormatValue(*bounds.min) + ", " +
                                                            FormatValue(*bounds.max) + "]"
                             : bounds.min ? "at least " + FormatValue(*bounds.min)
                                          : "at most " + FormatValue(*bounds.max);
      return FormatValue(*field) + " is out of range, expected " + expected;
    }
  };
  entries_.push_back({name, role, [field]() { return FormatValue(*field); }, check});
  return *this;
}

template OptionTable& OptionTable::Add<int>(const std::string&, int*, const std::string&,
                                            const Bounds&, Role);
template OptionTable& OptionTable::Add<int64_t>(const std::string&, int64_t*, const std::string&,
                                                const Bounds&, Role);
template OptionTable& OptionTable::Add<uint64_t>(const std::string&, uint64_t*, const std::string&,
                                                 const Bounds&, Role);
template OptionTable& OptionTable::Add<double>(const std::string&, double*, const std::string&,
                                               const Bounds&, Role);
template OptionTable& OptionTable::Add<std::string>(const std::string&, std::string*,
                                                    const std::string&, const Bounds&, Role);

OptionTable& OptionTable::Switch(const std::string& name, bool* field, const std::string& help,
                                 Role role) {
  options_.add_options()(name.c_str(), po::bool_switch(field), help.c_str());
  entries_.push_back(
      {name, role, [field]() { return FormatValue(*field); }, []() { return std::string(); }});
  return *this;
}

OptionTable& OptionTable::ConfigFile(std::string* field) {
  config_file_ = field;
  options_.add_options()("config,c", po::value<std::string>(field),
                         "INI file of further options (key = value); the command line wins");
  return *this;
}

OptionTable& OptionTable::Positional(const std::string& name, std::string* field,
                                     const std::string& help) {
  options_.add_options()(name.c_str(), po::value<std::string>(field), help.c_str());
  positional_.add(name.c_str(), 1);
  positional_help_.emplace_back(name, help);
  return *this;
}

std::vector<std::string> OptionTable::Normalized(const std::vector<std::string>& args) const {
  // "--train-images" and "--train_images" both name the option declared either way.
  std::vector<std::string> out = args;
  for (auto& arg : out) {
    if (arg.rfind("--", 0) != 0 || arg.size() < 3) continue;
    const auto end = arg.find('=');
    const std::string name = arg.substr(2, end == std::string::npos ? end : end - 2);
    if (options_.find_nothrow(name, false) != nullptr) continue;
    std::string other = name;
    for (char& c : other) {
      if (c == '-') {
        c = '_';
      } else if (c == '_') {
        c = '-';
      }
    }
    if (options_.find_nothrow(other, false) != nullptr) {
      arg = "--" + other + (end == std::string::npos ? "" : arg.substr(end));
    }
  }
  return out;
}

bool OptionTable::Parse(const std::vector<std::string>& args) {
  try {
    po::store(
        po::command_line_parser(Normalized(args)).options(options_).positional(positional_).run(),
        given_);
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see --help)");
  }
  if (given_.count("help")) {
    std::cout << Help();
    return false;
  }
  if (config_file_ != nullptr && given_.count("config")) {
    const auto path = given_["config"].as<std::string>();
    std::ifstream in(path);
    if (!in) throw UsageError("--config " + path + ": cannot open the file");
    std::stringstream text;
    text << in.rdbuf();
    ParseConfigText(text.str(), path);
    return true;
  }
  Finish(given_);
  return true;
}

void OptionTable::ParseConfigText(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  try {
    const po::parsed_options parsed =
        po::parse_config_file(in, options_, /*allow_unregistered=*/false);
    for (const auto& option : parsed.options) {
      const std::string& key = option.string_key;
      if (key == "config" || key == "help") {
        throw UsageError(origin + ": key '" + key +
                         "' is not allowed in a config file, only on the command line");
      }
      // The command line wins: a value given there is not replaced by this one.
      if (given_.count(key) == 0 || given_[key].defaulted()) origin_[key] = origin;
    }
    po::store(parsed, given_);
  } catch (const po::error& e) {
    throw UsageError(origin + ": " + e.what());
  }
  Finish(given_);
}

void OptionTable::Finish(const po::variables_map& vm) {
  try {
    po::notify(const_cast<po::variables_map&>(vm));
  } catch (const po::error& e) {
    throw UsageError(std::string(e.what()) + " (see --help)");
  }
  for (const auto& entry : entries_) {
    const std::string problem = entry.check();
    if (problem.empty()) continue;
    // A value read from a config file is reported with that file's name in front.
    const auto file = origin_.find(entry.name);
    const std::string where = file == origin_.end() ? "" : file->second + ": ";
    throw UsageError(where + "option --" + entry.name + ": " + problem);
  }
}

bool OptionTable::Given(const std::string& name) const {
  return given_.count(name) > 0 && !given_[name].defaulted();
}

std::string OptionTable::Resolved(std::optional<Role> role) const {
  std::string out;
  for (const auto& entry : entries_) {
    if (role && entry.role != *role) continue;
    out += entry.name + " = " + entry.print() + "\n";
  }
  return out;
}

std::string OptionTable::Help() const {
  std::ostringstream out;
  out << "Usage: " << usage_ << "\n\n" << summary_ << "\n\n";
  if (!positional_help_.empty()) {
    out << "Arguments:\n";
    for (const auto& [name, help] : positional_help_) out << "  " << name << "  " << help << "\n";
    out << "\n";
  }
  out << options_ << "\n";
  return out.str();
}

}  // namespace zeta
