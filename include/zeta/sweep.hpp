// Sweeps of training runs: a train config whose values may be lists is expanded into one
// resolved config per point of their Cartesian product, each with its own run directory;
// afterwards the runs' records, metrics and evaluations are gathered into one table.
//
// Layout of a sweep folder made by WriteSweep:
//   sweep.ini            the spec as given
//   sweep.json           the points: index, name, config path, run_dir, swept values
//   configs.txt          one config path per line, line i+1 for point i (job array task i)
//   <name>/config.ini    the resolved train config of a point; its run_dir is <name>/
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace zeta {

// One key of a spec with its values in the order written (a fixed key has one value).
struct SweepKey {
  std::string key;
  std::vector<std::string> values;
};

// A parsed spec: its keys in file order.
struct SweepSpec {
  std::vector<SweepKey> keys;
};

// Parses spec text: "key = value" or "key = v1, v2, ..." lines, blank lines and '#'
// comments. Refuses (UsageError naming `origin` and the line) a line without '=', an empty
// key or list element, a repeated key or value, and INI sections.
[[nodiscard]] SweepSpec ParseSweepSpec(const std::string& text, const std::string& origin);

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct SweepPoint {
  std::string name;  // stable run-directory name, from the swept values only
  KeyValues values;  // every key's value at this point, in spec order
  KeyValues swept;   // the keys with more than one value, in spec order
};

// The Cartesian product of the spec's lists in a stable order: like nested loops over the
// keys in file order, the last key varying fastest. Point i is the same for the same spec.
[[nodiscard]] std::vector<SweepPoint> ExpandSweep(const SweepSpec& spec);

// The run-directory name of a point: "key=value" for each swept key, joined by '_'
// ("hidden=64_learning_rate=0.01"), "single" when nothing is swept. Characters of a value
// outside [A-Za-z0-9.+-] become '-'; when that changed a value, or the name would be longer than
// 80 characters, it is shortened and ends in '_' and 8 hex digits of a hash of the exact
// values, so distinct points keep distinct names.
[[nodiscard]] std::string PointName(const KeyValues& swept);

// The resolved train config (every option of `zeta train`, INI text) of a point run in
// `run_dir`; an unknown key or a value out of bounds is a UsageError naming `origin`.
[[nodiscard]] std::string ResolvePoint(const SweepPoint& point, const std::string& run_dir,
                                       const std::string& origin);

// Expands the spec file into the folder `out` (layout above); returns the points. Refuses a
// spec that sets run_dir or lacks data, and a folder that already holds a different sweep;
// writing the same sweep again changes nothing. Files are written via temp + rename.
std::vector<SweepPoint> WriteSweep(const std::string& spec_path, const std::string& out);

// Results of a sweep: one row per point in point order.
struct SweepTable {
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;
  int64_t completed = 0;  // rows whose status is completed
};

// Reads sweep.json of the folder and, for each point, its run.json (status), the last row
// of metrics.csv (final metrics) and, where `zeta eval` wrote one next to the model,
// model.eval.<split>.h5 (the test split's when there are several). Columns: index, run,
// status, the swept keys, epoch, step, train_seconds (the sum over metrics.csv), the
// metrics, log_likelihood, log_likelihood_se, eval_split, message. Status is completed,
// checkpointed (stopped, resumable), running (in progress, or killed without a record),
// failed or not-started; an unreadable file marks its row instead of failing the table.
[[nodiscard]] SweepTable CollectSweep(const std::string& dir);

// The table as CSV (RFC 4180 quoting) and as a Markdown table (numbers to 6 significant
// digits, statuses other than completed in bold).
[[nodiscard]] std::string SweepCsv(const SweepTable& table);
[[nodiscard]] std::string SweepMarkdown(const SweepTable& table);
// Writes both into `dir` as sweep.csv and sweep.md (temp + rename).
void WriteSweepTables(const std::string& dir, const SweepTable& table);

}  // namespace zeta
