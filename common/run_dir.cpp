// Run directories: creation with an owner file, and removal of those whose owner died.
#include "common/run_dir.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include <fmt/core.h>

#include "common/proc_stat.hpp"

namespace kperf::common {

namespace fs = std::filesystem;

namespace {

constexpr const char* kOwnerFile = "owner";

// The start time of a process (field 22 of /proc/PID/stat) as text; empty when the
// process does not exist.
std::string start_time(long pid) {
  const auto stat = read_proc_stat(static_cast<pid_t>(pid));
  return stat ? std::to_string(stat->start_time) : std::string();
}

}  // namespace

fs::path temp_root() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? fs::path(tmp) : fs::path("/tmp");
}

int remove_stale_run_dirs(const fs::path& root, std::string_view prefix) {
  int removed = 0;
  std::error_code ec;
  const std::string lead = std::string(prefix) + "-";
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(lead, 0) != 0) continue;
    std::error_code type_ec;
    if (!it->is_directory(type_ec) || it->is_symlink(type_ec)) continue;
    std::ifstream owner(it->path() / kOwnerFile);
    long pid = 0;
    std::string started;
    if (!(owner >> pid >> started) || pid <= 0) continue;
    if (start_time(pid) == started) continue;  // its kperf still runs
    std::error_code rm_ec;
    if (fs::remove_all(it->path(), rm_ec) > 0 && !rm_ec) ++removed;
  }
  return removed;
}

fs::path make_run_dir(std::string_view prefix) {
  const fs::path root = temp_root();
  remove_stale_run_dirs(root, prefix);
  std::string templ = (root / fmt::format("{}-XXXXXX", prefix)).string();
  if (!::mkdtemp(templ.data())) {
    throw std::runtime_error(fmt::format("cannot create {}: {}", templ, std::strerror(errno)));
  }
  const fs::path dir = templ;
  std::ofstream owner(dir / kOwnerFile);
  owner << ::getpid() << ' ' << start_time(::getpid()) << '\n';
  if (!owner.flush()) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    throw std::runtime_error(fmt::format("cannot write {}", (dir / kOwnerFile).string()));
  }
  return dir;
}

}  // namespace kperf::common
