// What surrounds a long computation: stop signals, the metrics file, the run record and
// progress reports.
#pragma once

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace zeta {

// SIGUSR1, SIGTERM and SIGINT set a flag that the work loop polls (ranks then agree on it);
// the handler does nothing else, so a second signal is harmless, but for a second SIGINT
// (Ctrl-C twice), which ends the process at once.
void InstallStopSignals();
[[nodiscard]] bool StopRequested();
void ClearStopRequest();

// An exclusive lock on a folder (flock on FOLDER/.lock), held for the object's life and
// released by the kernel when the process dies, so a killed run never leaves it stuck.
// Throws an Error when another process holds it. Node-local and most parallel file
// systems honour flock; some NFS set-ups do not (then the lock only guards one node).
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::string& folder);
  ~DirectoryLock();
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;

 private:
  int fd_ = -1;
};

// A CSV file with a fixed header, one row per call, flushed at once. On resume the rows
// after the checkpoint's step are dropped (they will be computed again).
class MetricsFile {
 public:
  MetricsFile(std::string path, std::vector<std::string> columns);
  // Keeps only rows whose first column `key_column` is <= max_key; creates the file with
  // its header when absent.
  void Truncate(const std::string& key_column, double max_key);
  void Append(const std::vector<std::string>& values);

 private:
  std::string path_;
  std::vector<std::string> columns_;
};

// The run record (run.json in the run directory): what reproduces the run and how it went.
// Written atomically by rank 0.
void WriteJsonAtomically(const std::string& path, const nlohmann::json& record);
[[nodiscard]] nlohmann::json ReadJson(const std::string& path);

// UTC time as ISO 8601.
[[nodiscard]] std::string UtcNow();
[[nodiscard]] std::string HostName();
// Peak resident memory of this process in bytes.
[[nodiscard]] int64_t PeakResidentBytes();

// Reports progress of a long loop on rank 0: a bar with rate and time left when standard
// error is a terminal (or, under mpirun, standard output is; ZETA_PROGRESS=bar or lines
// forces either); otherwise a plain line every `interval_seconds` (batch logs).
class Progress {
 public:
  Progress(std::string label, int64_t total, bool enabled, double interval_seconds = 30.0);
  void Update(int64_t done);
  void Finish();

 private:
  using Clock = std::chrono::steady_clock;
  std::string label_;
  int64_t total_;
  bool enabled_;
  bool terminal_;
  double interval_;
  Clock::time_point start_;
  Clock::time_point last_;
};

}  // namespace zeta
