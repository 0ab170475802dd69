// Signals, metrics files, run records and progress reports.
#include "zeta/run.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "zeta/error.hpp"
#include "zeta/log.hpp"

namespace zeta {
namespace {

volatile std::sig_atomic_t g_stop_requested = 0;

extern "C" void OnStopSignal(int signal) {
  // A second Ctrl-C means "now": back to the default action, which ends the process.
  if (signal == SIGINT && g_stop_requested != 0) {
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
    return;
  }
  g_stop_requested = 1;
}

std::string Join(const std::vector<std::string>& values) {
  std::string out;
  for (std::size_t i = 0; i < values.size(); ++i) out += (i ? "," : "") + values[i];
  return out;
}

// Whether a person watches the progress on a terminal: standard error is one or, under
// mpirun, standard output is and the run is not a batch job. Open MPI gives ranks a pipe for
// standard error and a pseudo-terminal for standard output even when mpirun's own output
// goes to a file, so inside a Slurm, PBS or LSF job (where it always does) that terminal
// proves nothing. ZETA_PROGRESS=bar or lines overrides the guess.
bool ProgressOnTerminal() {
  if (const char* forced = std::getenv("ZETA_PROGRESS"); forced != nullptr) {
    if (std::string(forced) == "bar") return true;
    if (std::string(forced) == "lines") return false;
  }
  if (isatty(STDERR_FILENO) != 0) return true;
  for (const char* batch : {"SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID"}) {
    if (std::getenv(batch) != nullptr) return false;
  }
  return std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr && isatty(STDOUT_FILENO) != 0;
}

std::string FormatSeconds(double seconds) {
  const auto s = static_cast<int64_t>(seconds);
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buffer;
}

}  // namespace

void InstallStopSignals() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

bool StopRequested() { return g_stop_requested != 0; }
void ClearStopRequest() { g_stop_requested = 0; }

DirectoryLock::DirectoryLock(const std::string& folder) {
  const std::string path = folder + "/.lock";
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw Error(path + ": cannot create the lock file of the run directory");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd_);
    fd_ = -1;
    throw Error(folder + " is in use by another zeta process (" + path +
                " is locked); wait for it to end or choose another run_dir");
  }
}

DirectoryLock::~DirectoryLock() {
  if (fd_ >= 0) ::close(fd_);
}

MetricsFile::MetricsFile(std::string path, std::vector<std::string> columns)
    : path_(std::move(path)), columns_(std::move(columns)) {}

void MetricsFile::Truncate(const std::string& key_column, double max_key) {
  std::vector<std::string> kept;
  std::size_t key_index = 0;
  while (key_index < columns_.size() && columns_[key_index] != key_column) ++key_index;
  ZETA_CHECK(key_index < columns_.size(), "the key column must be one of the columns");
  if (std::ifstream in(path_); in) {
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string field;
      for (std::size_t i = 0; i <= key_index; ++i) std::getline(fields, field, ',');
      if (std::strtod(field.c_str(), nullptr) <= max_key) kept.push_back(line);
    }
  }
  const std::string temp = path_ + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << Join(columns_) << "\n";
    for (const auto& line : kept) out << line << "\n";
    if (!out) throw Error(path_ + ": cannot write the metrics file");
  }
  std::filesystem::rename(temp, path_);
}

void MetricsFile::Append(const std::vector<std::string>& values) {
  ZETA_CHECK(values.size() == columns_.size(), "a metrics row must fill every column");
  std::ofstream out(path_, std::ios::app);
  out << Join(values) << "\n";
  out.flush();
  if (!out) throw Error(path_ + ": cannot append to the metrics file");
}

void WriteJsonAtomically(const std::string& path, const nlohmann::json& record) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << record.dump(2) << "\n";
    if (!out) throw Error(path + ": cannot write");
  }
  std::filesystem::rename(temp, path);
}

nlohmann::json ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(path + ": cannot open for reading");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
}

std::string UtcNow() {
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return buffer;
}

std::string HostName() {
  char buffer[256] = {};
  gethostname(buffer, sizeof buffer - 1);
  return buffer;
}

int64_t PeakResidentBytes() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<int64_t>(usage.ru_maxrss) * 1024;
}

Progress::Progress(std::string label, int64_t total, bool enabled, double interval_seconds)
    : label_(std::move(label)),
      total_(std::max<int64_t>(total, 1)),
      enabled_(enabled),
      terminal_(ProgressOnTerminal()),
      interval_(terminal_ ? 0.2 : interval_seconds),
      start_(Clock::now()),
      last_(start_) {}

void Progress::Update(int64_t done) {
  if (!enabled_) return;
  const auto now = Clock::now();
  if (std::chrono::duration<double>(now - last_).count() < interval_ && done < total_) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction = static_cast<double>(done) / static_cast<double>(total_);
  const double rate = elapsed > 0 ? static_cast<double>(done) / elapsed : 0.0;
  const double left = rate > 0 ? static_cast<double>(total_ - done) / rate : 0.0;
  if (terminal_) {
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::fprintf(stderr, "\r%s [%s%s] %3.0f%%  %.1f/s  %s left ", label_.c_str(),
                 std::string(static_cast<std::size_t>(filled), '#').c_str(),
                 std::string(static_cast<std::size_t>(kWidth - filled), '.').c_str(),
                 100 * fraction, rate, FormatSeconds(left).c_str());
    std::fflush(stderr);
  } else {
    log::info("{}: {}/{} ({:.0f}%), {:.1f}/s, {} left", label_, done, total_, 100 * fraction, rate,
              FormatSeconds(left));
  }
}

void Progress::Finish() {
  if (enabled_ && terminal_) std::fprintf(stderr, "\n");
}

}  // namespace zeta
