// An output destination that is either stdout ("-" or empty path) or a file written
// atomically: data goes to a temporary file beside the target, renamed over it only by
// commit(). An error before commit() leaves no partial output file behind. A target that
// exists and is not a regular file (/dev/null, a FIFO, a tty) is written directly: renaming
// over it would replace the device.
#pragma once

#include <fstream>
#include <iostream>
#include <string>

namespace kperf {

class OutputFile {
 public:
  explicit OutputFile(std::string path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::ostream& stream() { return path_.empty() ? std::cout : file_; }
  // Flushes, checks for write errors and moves the file into place. Throws on failure.
  void commit();

 private:
  std::string path_;
  std::string tmp_;  // empty: writing the target directly
  std::ofstream file_;
  bool committed_ = false;
};

}  // namespace kperf
