// Failure of an internal invariant: a bug, reported with the source line.
#include "zeta/error.hpp"

#include <sstream>

namespace zeta::detail {

void ThrowCheckFailure(const char* condition, const char* file, int line, const std::string& what) {
  std::ostringstream message;
  message << "internal error at " << file << ":" << line << ": " << what << " (" << condition
          << " does not hold)";
  throw Error(message.str());
}

}  // namespace zeta::detail
