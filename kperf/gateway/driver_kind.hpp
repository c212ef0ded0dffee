// The gateway drivers `kperf profile --driver` names: the built-in lab gateway, a local
// Kong, or Kong's Docker image; their names on the command line and in the reports.
#pragma once

#include <map>
#include <string>

namespace kperf {

enum class DriverKind { lab, local, docker };

// The --driver names (the keys CLI11 checks the option against).
inline const std::map<std::string, DriverKind>& driver_kinds() {
  static const std::map<std::string, DriverKind> kinds{
      {"lab", DriverKind::lab}, {"local", DriverKind::local}, {"docker", DriverKind::docker}};
  return kinds;
}

// "lab", "local" or "docker": the --driver name, as the reports write it.
inline std::string to_string(DriverKind kind) {
  switch (kind) {
    case DriverKind::lab:
      return "lab";
    case DriverKind::local:
      return "local";
    case DriverKind::docker:
      return "docker";
  }
  return "lab";
}

}  // namespace kperf
