// The one error type of Zeta: what went wrong, for whom, and which exit code it earns.
#pragma once

#include <stdexcept>
#include <string>

namespace zeta {

// Exit codes of the zeta executable, documented in the README.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,        // runtime failure: bad data, I/O, divergence
  kExitUsage = 2,          // bad command line or config
  kExitCheckpointed = 75,  // stopped on a signal after writing a checkpoint (EX_TEMPFAIL)
};

// A user-facing failure. The message is one line that names the file or option, what was
// found and what was expected. `collective` says every rank raised it together (after
// agreement), so main may finalize MPI instead of aborting.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, int exit_code = kExitFailure, bool collective = false)
      : std::runtime_error(message), exit_code_(exit_code), collective_(collective) {}

  [[nodiscard]] int exit_code() const { return exit_code_; }
  [[nodiscard]] bool collective() const { return collective_; }

 private:
  int exit_code_;
  bool collective_;
};

// A bad command line, option value or config file (exit code 2).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message, kExitUsage) {}
};

namespace detail {
[[noreturn]] void ThrowCheckFailure(const char* condition, const char* file, int line,
                                    const std::string& what);
}  // namespace detail

}  // namespace zeta

// An internal invariant; its failure is a bug in Zeta and names the source line.
#define ZETA_CHECK(condition, what)                                              \
  do {                                                                           \
    if (!(condition)) {                                                          \
      ::zeta::detail::ThrowCheckFailure(#condition, __FILE__, __LINE__, (what)); \
    }                                                                            \
  } while (false)
