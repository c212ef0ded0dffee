// Incremental HTTP/1.1 response parser for the load generator's hot path: status line,
// the headers that frame the message (Content-Length, Transfer-Encoding: chunked,
// Connection), and the body, fed in arbitrary pieces. Allocation-free once warmed up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kperf::loadgen {

class ResponseParser {
 public:
  enum class Result { kNeedMore, kComplete, kError };

  // Starts a new response; `head` = the request was HEAD (no body follows).
  void reset(bool head = false);

  // Consumes bytes of data until the response is complete, more is needed, or an error.
  // `consumed` is how many bytes belong to this response (the rest start the next one).
  Result feed(const char* data, size_t len, size_t& consumed);

  // The peer closed the connection: completes a response delimited by the close,
  // otherwise reports an error if a response was in progress (kNeedMore if none was).
  Result finish_eof();

  int status() const { return status_; }
  bool keep_alive() const { return keep_alive_; }
  // True once any byte of the current response has been consumed.
  bool started() const { return started_; }

  static constexpr size_t kMaxLineLength = 64 * 1024;

 private:
  enum class State { kStatus, kHeader, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailer, kUntilClose, kDone };

  // Processes one complete line (without CR/LF); returns false on a protocol error.
  bool on_line(const char* line, size_t len);
  bool on_status_line(const char* line, size_t len);
  bool on_header_line(const char* line, size_t len);
  bool on_headers_end();
  bool on_chunk_size_line(const char* line, size_t len);

  State state_ = State::kStatus;
  std::string line_;  // a line split across feeds
  int status_ = 0;
  bool head_ = false;
  bool http10_ = false;
  bool keep_alive_ = true;
  bool chunked_ = false;
  bool has_length_ = false;
  bool started_ = false;
  uint64_t remaining_ = 0;
};

}  // namespace kperf::loadgen
