// Logging: INFO and DEBUG from rank 0 only, warnings and errors from any rank with a
// "[rank r/n]" prefix, all on standard error (standard output carries results).
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace zeta::log {

// Sets up the process's logger; `verbosity` is one of debug, info, warn, error.
void Init(int rank, int size, const std::string& verbosity = "info");

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace zeta::log
