// Options of every subcommand, each declared once with its default, help and bounds, read
// from the command line and an optional INI file (the command line wins).
#pragma once

#include <boost/program_options.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace zeta {

// Bounds of a numeric option (inclusive), or the allowed words of a text option.
struct Bounds {
  std::optional<double> min;
  std::optional<double> max;
  std::vector<std::string> choices;
};
inline Bounds AtLeast(double min) { return {.min = min, .max = {}, .choices = {}}; }
inline Bounds Between(double min, double max) { return {.min = min, .max = max, .choices = {}}; }
inline Bounds OneOf(std::vector<std::string> choices) {
  return {.min = {}, .max = {}, .choices = std::move(choices)};
}

// Whether an option changes what a run computes (and so must agree between a checkpoint
// and the run that resumes it) or only how the run goes (paths, logging, threads).
enum class Role { kResult, kRunOnly };

class OptionTable {
 public:
  // `usage` is the first line of --help, `summary` the paragraph under it.
  OptionTable(std::string usage, std::string summary);

  // Declares an option whose default is the field's current value.
  template <class T>
  OptionTable& Add(const std::string& name, T* field, const std::string& help,
                   const Bounds& bounds = {}, Role role = Role::kResult);
  // A switch without a value (false unless given).
  OptionTable& Switch(const std::string& name, bool* field, const std::string& help,
                      Role role = Role::kRunOnly);
  // The option that names an INI file to read further options from.
  OptionTable& ConfigFile(std::string* field);
  // A positional argument, in the order declared.
  OptionTable& Positional(const std::string& name, std::string* field, const std::string& help);

  // Parses the arguments after the subcommand; returns false when --help was asked for
  // (the help text was printed). Throws UsageError naming the option or file on a bad value,
  // an unknown option or key, or a value out of bounds (a value read from a config file is
  // reported with that file's name).
  [[nodiscard]] bool Parse(const std::vector<std::string>& args);
  // Parses INI text (for example the config stored in a checkpoint) as the config file;
  // `origin` names it in errors. The keys `config` and `help` are refused there.
  void ParseConfigText(const std::string& text, const std::string& origin);

  // True when the option was set on the command line or in a config (not defaulted).
  [[nodiscard]] bool Given(const std::string& name) const;
  // "key = value" lines of every option in declaration order: an INI file that reproduces
  // the settings. With `role`, only the options of that role.
  [[nodiscard]] std::string Resolved(std::optional<Role> role = std::nullopt) const;
  [[nodiscard]] std::string Help() const;

 private:
  struct Entry {
    std::string name;
    Role role;
    std::function<std::string()> print;
    // What is wrong with the value ("5 is out of range, expected ..."), empty when nothing.
    std::function<std::string()> check;
  };
  void Finish(const boost::program_options::variables_map& vm);
  // The arguments with each option name spelt as declared ('-' and '_' are interchangeable).
  [[nodiscard]] std::vector<std::string> Normalized(const std::vector<std::string>& args) const;

  std::string usage_;
  std::string summary_;
  boost::program_options::options_description options_;
  boost::program_options::positional_options_description positional_;
  std::vector<std::pair<std::string, std::string>> positional_help_;
  std::vector<Entry> entries_;
  std::string* config_file_ = nullptr;
  std::vector<std::string> pending_config_;    // config texts not yet parsed
  std::map<std::string, std::string> origin_;  // option -> config file its value came from
  boost::program_options::variables_map given_;
};

// Text form of a value that reads back to the same value (shortest round-trip for reals).
[[nodiscard]] std::string FormatValue(double value);
[[nodiscard]] std::string FormatValue(int64_t value);
[[nodiscard]] std::string FormatValue(const std::string& value);
[[nodiscard]] std::string FormatValue(int value);
[[nodiscard]] std::string FormatValue(uint64_t value);
[[nodiscard]] std::string FormatValue(bool value);

}  // namespace zeta
