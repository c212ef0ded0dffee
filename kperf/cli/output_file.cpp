// OutputFile: temp file + rename, so failed commands never leave half-written output.
#include "kperf/cli/output_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

namespace kperf {

OutputFile::OutputFile(std::string path) : path_(path == "-" ? std::string() : std::move(path)) {
  if (path_.empty()) return;
  struct stat st {};
  const bool special = ::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode);
  if (!special) tmp_ = fmt::format("{}.tmp.{}", path_, ::getpid());
  file_.open(special ? path_ : tmp_, std::ios::binary | std::ios::trunc);
  if (!file_) {
    throw std::runtime_error(fmt::format("cannot write {}: {}", path_, std::strerror(errno)));
  }
}

OutputFile::~OutputFile() {
  if (!path_.empty() && !committed_) {
    file_.close();
    if (!tmp_.empty()) std::remove(tmp_.c_str());
  }
}

void OutputFile::commit() {
  if (path_.empty()) {
    std::cout.flush();
    if (!std::cout) throw std::runtime_error("error writing to standard output");
    committed_ = true;
    return;
  }
  file_.flush();
  file_.close();
  if (file_.fail()) throw std::runtime_error(fmt::format("error writing {}", path_));
  if (!tmp_.empty() && std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    throw std::runtime_error(fmt::format("cannot create {}: {}", path_, std::strerror(errno)));
  }
  committed_ = true;
}

}  // namespace kperf
