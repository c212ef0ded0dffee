// Whole-file reads with one failure behaviour per caller's need (see text_file.hpp).
#include "common/text_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fmt/core.h>

#include "common/unique_fd.hpp"

namespace kperf::common {

namespace {

// Reads until EOF with read(2): /proc files report size 0, so no stat-sized read. Sets
// errno and returns false on failure.
bool read_all(const std::filesystem::path& path, std::string& out) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  out.clear();
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n == 0) return true;
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

bool read_file_into(const std::filesystem::path& path, std::string& out) { return read_all(path, out); }

std::optional<std::string> read_file(const std::filesystem::path& path) {
  std::string out;
  if (!read_all(path, out)) return std::nullopt;
  return out;
}

std::string read_file_or_empty(const std::filesystem::path& path) { return read_file(path).value_or(""); }

std::string read_file_or_throw(const std::filesystem::path& path, std::string_view what) {
  std::string out;
  if (!read_all(path, out)) {
    throw std::runtime_error(fmt::format("{} {}: cannot read: {}", what, path.string(), std::strerror(errno)));
  }
  return out;
}

}  // namespace kperf::common
