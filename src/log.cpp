// Logger set-up per rank.
#include "zeta/log.hpp"

#include <spdlog/sinks/stdout_sinks.h>

#include "zeta/error.hpp"

namespace zeta::log {

void Init(int rank, int size, const std::string& verbosity) {
  auto level = spdlog::level::from_str(verbosity);
  if (level == spdlog::level::off && verbosity != "off") {
    throw UsageError("option --verbosity: '" + verbosity +
                     "' is not one of debug, info, warn, error");
  }
  spdlog::drop("zeta");
  auto logger = spdlog::stderr_logger_st("zeta");
  if (rank == 0) {
    logger->set_pattern("%Y-%m-%d %H:%M:%S %^%l%$: %v");
  } else {
    logger->set_pattern("%Y-%m-%d %H:%M:%S [rank " + std::to_string(rank) + "/" +
                        std::to_string(size) + "] %^%l%$: %v");
    level = std::max(level, spdlog::level::warn);
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace zeta::log
