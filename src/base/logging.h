// One line per event: time, level, component, message.
//   2026-11-21T14:30:00.123 info  [storage] recovered partition t-0 ...
// Components are short lowercase words naming the folder or subsystem.
#pragma once

#include <string_view>

#include <spdlog/spdlog.h>

namespace wharf::logging {

// Installs the line format and level ("trace".."off"). Safe to call again.
void init(std::string_view level = "info");

}  // namespace wharf::logging

#define WLOG_(lvl, component, ...) \
  ::spdlog::log(lvl, "[{}] {}", component, ::fmt::format(__VA_ARGS__))
#define WLOG_DEBUG(component, ...) WLOG_(::spdlog::level::debug, component, __VA_ARGS__)
#define WLOG_INFO(component, ...) WLOG_(::spdlog::level::info, component, __VA_ARGS__)
#define WLOG_WARN(component, ...) WLOG_(::spdlog::level::warn, component, __VA_ARGS__)
#define WLOG_ERROR(component, ...) WLOG_(::spdlog::level::err, component, __VA_ARGS__)
