#include "base/logging.h"

#include <string>

namespace wharf::logging {

void init(std::string_view level) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %-5l %v");
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace wharf::logging
