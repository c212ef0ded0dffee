// ResponseParser: a line-oriented state machine; lines are parsed in place when they do
// not straddle reads, through a reusable buffer when they do.
#include "loadgen/response_parser.hpp"

#include <cstring>

namespace kperf::loadgen {

namespace {

inline char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

// Whether a[0, len) equals the lower-case literal, ignoring case (its length is known at
// compile time: no strlen per header).
template <size_t N>
bool iequals(const char* a, size_t len, const char (&lit)[N]) {
  if (len != N - 1) return false;
  for (size_t i = 0; i < N - 1; ++i) {
    if (lower(a[i]) != lit[i]) return false;
  }
  return true;
}

// Whether a comma-separated header value holds the token (case-insensitive).
template <size_t N>
bool has_token(const char* v, size_t len, const char (&token)[N]) {
  size_t i = 0;
  while (i < len) {
    while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) ++i;
    size_t start = i;
    while (i < len && v[i] != ',') ++i;
    size_t end = i;
    while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t')) --end;
    if (iequals(v + start, end - start, token)) return true;
  }
  return false;
}

// Whether the last token of a comma-separated value is the given one.
template <size_t N>
bool last_token_is(const char* v, size_t len, const char (&token)[N]) {
  size_t end = len;
  while (end > 0 && (v[end - 1] == ' ' || v[end - 1] == '\t')) --end;
  size_t start = end;
  while (start > 0 && v[start - 1] != ',') --start;
  while (start < end && (v[start] == ' ' || v[start] == '\t')) ++start;
  return iequals(v + start, end - start, token);
}

}  // namespace

void ResponseParser::reset(bool head) {
  state_ = State::kStatus;
  line_.clear();
  status_ = 0;
  head_ = head;
  http10_ = false;
  keep_alive_ = true;
  chunked_ = false;
  has_length_ = false;
  started_ = false;
  remaining_ = 0;
}

ResponseParser::Result ResponseParser::feed(const char* data, size_t len, size_t& consumed) {
  size_t pos = 0;
  if (len > 0) started_ = true;
  while (pos < len) {
    switch (state_) {
      case State::kBody:
      case State::kChunkData: {
        const size_t avail = len - pos;
        const size_t take = remaining_ < avail ? static_cast<size_t>(remaining_) : avail;
        pos += take;
        remaining_ -= take;
        if (remaining_ == 0) {
          if (state_ == State::kBody) {
            state_ = State::kDone;
            consumed = pos;
            return Result::kComplete;
          }
          state_ = State::kChunkDataEnd;
        }
        break;
      }
      case State::kUntilClose:
        pos = len;
        break;
      case State::kDone:
        consumed = pos;
        return Result::kComplete;
      default: {
        // A line-oriented state (status, header, chunk size, chunk end, trailer).
        const char* nl = static_cast<const char*>(std::memchr(data + pos, '\n', len - pos));
        if (nl == nullptr) {
          if (line_.size() + (len - pos) > kMaxLineLength) {
            consumed = len;
            return Result::kError;
          }
          line_.append(data + pos, len - pos);
          pos = len;
          break;
        }
        const size_t piece = static_cast<size_t>(nl - (data + pos));
        const char* line;
        size_t line_len;
        if (line_.empty()) {
          line = data + pos;
          line_len = piece;
        } else {
          if (line_.size() + piece > kMaxLineLength) {
            consumed = len;
            return Result::kError;
          }
          line_.append(data + pos, piece);
          line = line_.data();
          line_len = line_.size();
        }
        if (line_len > 0 && line[line_len - 1] == '\r') --line_len;
        pos += piece + 1;
        const bool ok = on_line(line, line_len);
        line_.clear();
        if (!ok) {
          consumed = pos;
          return Result::kError;
        }
        if (state_ == State::kDone) {
          consumed = pos;
          return Result::kComplete;
        }
        break;
      }
    }
  }
  consumed = pos;
  if (state_ == State::kDone) return Result::kComplete;
  return Result::kNeedMore;
}

ResponseParser::Result ResponseParser::finish_eof() {
  if (state_ == State::kUntilClose) {
    state_ = State::kDone;
    return Result::kComplete;
  }
  if (state_ == State::kDone) return Result::kComplete;
  if (state_ == State::kStatus && !started_) return Result::kNeedMore;
  return Result::kError;
}

bool ResponseParser::on_line(const char* line, size_t len) {
  switch (state_) {
    case State::kStatus:
      return on_status_line(line, len);
    case State::kHeader:
      if (len == 0) return on_headers_end();
      return on_header_line(line, len);
    case State::kChunkSize:
      return on_chunk_size_line(line, len);
    case State::kChunkDataEnd:
      if (len != 0) return false;
      state_ = State::kChunkSize;
      return true;
    case State::kTrailer:
      if (len == 0) state_ = State::kDone;
      return true;
    default:
      return false;
  }
}

bool ResponseParser::on_status_line(const char* line, size_t len) {
  // "HTTP/1.x SSS[ reason]"
  if (len < 12 || std::memcmp(line, "HTTP/1.", 7) != 0) return false;
  if (line[7] != '0' && line[7] != '1') return false;
  if (line[8] != ' ') return false;
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
    status = status * 10 + (line[i] - '0');
  }
  if (len > 12 && line[12] != ' ') return false;
  if (status < 100) return false;
  status_ = status;
  http10_ = line[7] == '0';
  keep_alive_ = !http10_;
  state_ = State::kHeader;
  return true;
}

bool ResponseParser::on_header_line(const char* line, size_t len) {
  const char* colon = static_cast<const char*>(std::memchr(line, ':', len));
  if (colon == nullptr || colon == line) return false;
  const char first = lower(line[0]);
  if (first != 'c' && first != 't') return true;  // no header the parser reads
  const size_t name_len = static_cast<size_t>(colon - line);
  const char* v = colon + 1;
  size_t vlen = len - name_len - 1;
  while (vlen > 0 && (*v == ' ' || *v == '\t')) ++v, --vlen;
  while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t')) --vlen;
  switch (first) {
    case 'c':
      if (iequals(line, name_len, "content-length")) {
        if (vlen == 0 || vlen > 18) return false;
        uint64_t n = 0;
        for (size_t i = 0; i < vlen; ++i) {
          if (v[i] < '0' || v[i] > '9') return false;
          n = n * 10 + static_cast<uint64_t>(v[i] - '0');
        }
        if (has_length_ && n != remaining_) return false;
        has_length_ = true;
        remaining_ = n;
      } else if (iequals(line, name_len, "connection")) {
        if (has_token(v, vlen, "close")) keep_alive_ = false;
        else if (has_token(v, vlen, "keep-alive")) keep_alive_ = true;
      }
      break;
    case 't':
      if (iequals(line, name_len, "transfer-encoding")) chunked_ = last_token_is(v, vlen, "chunked");
      break;
    default:
      break;
  }
  return true;
}

bool ResponseParser::on_headers_end() {
  if (status_ < 200 && status_ != 101) {
    // An interim response (100 Continue, 103 Early Hints): the real one follows.
    const bool head = head_;
    const bool started = started_;
    reset(head);
    started_ = started;
    return true;
  }
  if (head_ || status_ == 204 || status_ == 304 || status_ == 101) {
    state_ = State::kDone;
    if (status_ == 101) keep_alive_ = false;
  } else if (chunked_) {
    state_ = State::kChunkSize;
  } else if (has_length_) {
    state_ = remaining_ == 0 ? State::kDone : State::kBody;
  } else {
    state_ = State::kUntilClose;
    keep_alive_ = false;
  }
  return true;
}

bool ResponseParser::on_chunk_size_line(const char* line, size_t len) {
  uint64_t n = 0;
  size_t i = 0;
  for (; i < len; ++i) {
    const char c = line[i];
    int d;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    else break;
    if (n > (UINT64_MAX >> 8)) return false;
    n = n * 16 + static_cast<uint64_t>(d);
  }
  if (i == 0) return false;
  while (i < len && (line[i] == ' ' || line[i] == '\t')) ++i;
  if (i < len && line[i] != ';') return false;
  if (n == 0) {
    state_ = State::kTrailer;
  } else {
    remaining_ = n;
    state_ = State::kChunkData;
  }
  return true;
}

}  // namespace kperf::loadgen
