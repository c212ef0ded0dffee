// Beast connections: read a request, answer it (now, or when its scrape's window ends),
// keep-alive, watch for the client leaving while it waits.
#include "kperf/agent/http_server.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <optional>
#include <stdexcept>

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fmt/core.h>

namespace kperf::agent {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {
constexpr std::size_t kMaxConnections = 256;
constexpr auto kReadTimeout = std::chrono::seconds(30);   // a request's headers, and keep-alive idling
constexpr auto kWriteTimeout = std::chrono::seconds(60);  // a profile to a slow reader
constexpr std::uint32_t kMaxHeader = 8 * 1024;
constexpr std::uint64_t kMaxBody = 8 * 1024;
}  // namespace

class HttpServer::Connection : public std::enable_shared_from_this<HttpServer::Connection> {
 public:
  Connection(HttpServer& server, tcp::socket socket) : server_(server), stream_(std::move(socket)) {}

  void start() { read(); }

  void close() {
    if (closed_) return;
    closed_ = true;
    if (scrape_) server_.session_.cancel(scrape_);
    scrape_.reset();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    server_.connections_.erase(shared_from_this());
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeader);
    parser_->body_limit(kMaxBody);
    stream_.expires_after(kReadTimeout);
    http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    });
  }

  void on_read(beast::error_code ec) {
    if (closed_) return;
    if (ec == http::error::header_limit || ec == http::error::body_limit || ec == http::error::bad_method ||
        ec == http::error::bad_target || ec == http::error::bad_version || ec == http::error::bad_field) {
      keep_alive_ = false;
      send(text_reply(400, fmt::format("bad request: {}", ec.message())));
      return;
    }
    if (ec) return close();  // the client left, or was idle too long
    const auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    const auto method = req.method_string();
    const auto target = req.target();
    const Routed r = route(std::string_view(method.data(), method.size()),
                           std::string_view(target.data(), target.size()), server_.view());
    if (r.reply) return send(*r.reply);
    // A scrape: nothing to read or write until its window ends; the stream does not time out meanwhile.
    stream_.expires_never();
    std::weak_ptr<Connection> weak = weak_from_this();
    asio::io_context& io = server_.io_;
    scrape_ = server_.session_.submit(r.scrape_seconds, [weak, &io](ScrapeResult res) {
      asio::post(io, [weak, res = std::move(res)]() mutable {
        if (auto self = weak.lock()) self->on_scrape_done(std::move(res));
      });
    });
    watch();
  }

  // Waits for the socket to become readable while the scrape is pending: EOF or an error
  // means the client went away; bytes (a pipelined request) are left for later.
  void watch() {
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (self->closed_ || !self->scrape_ || ec == asio::error::operation_aborted) return;
      if (!ec) {
        char byte;
        const ssize_t n = ::recv(self->stream_.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0) return;                                       // pipelined bytes: stop watching
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return self->watch();  // spurious
      }
      self->close();  // EOF or error: cancels the scrape
    });
  }

  void on_scrape_done(ScrapeResult res) {
    if (closed_ || !scrape_) return;
    scrape_.reset();
    beast::error_code ec;
    stream_.socket().cancel(ec);  // the watch
    if (res.status == 200) {
      Reply r;
      r.content_type = "application/octet-stream";
      r.body = std::move(res.body);
      send(r, true);
    } else {
      send(text_reply(res.status, res.body));
    }
  }

  void send(const Reply& reply, bool profile = false) {
    auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(reply.status), version_);
    res->set(http::field::server, "kperf-agent");
    res->set(http::field::content_type, reply.content_type);
    res->set(http::field::cache_control, "no-store");
    res->set("X-Content-Type-Options", "nosniff");
    if (reply.status == 405) res->set(http::field::allow, "GET");
    if (reply.status == 503) res->set(http::field::retry_after, "1");
    if (profile) res->set(http::field::content_disposition, "attachment; filename=\"profile\"");
    res->keep_alive(keep_alive_);
    res->body() = reply.body;
    res->prepare_payload();
    stream_.expires_after(kWriteTimeout);
    http::async_write(stream_, *res, [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
      if (self->closed_) return;
      if (ec || !self->keep_alive_) return self->close();
      self->read();
    });
  }

  HttpServer& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Scrape> scrape_;
  bool keep_alive_ = false;
  unsigned version_ = 11;
  bool closed_ = false;
};

HttpServer::HttpServer(asio::io_context& io, const ListenAddress& addr, ScrapeSession& session, std::string spec)
    : io_(io), acceptor_(io), retry_(io), session_(session), spec_(std::move(spec)) {
  const tcp::endpoint ep(asio::ip::make_address(addr.host), addr.port);
  beast::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error(fmt::format("--listen {}: {}", addr.authority(), ec.message()));
  port_ = acceptor_.local_endpoint().port();
  ListenAddress bound = addr;
  bound.port = port_;
  authority_ = bound.authority();
  accept();
}

HttpServer::~HttpServer() = default;

void HttpServer::accept() {
  acceptor_.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (ec) {  // out of fds, say: try again a little later instead of spinning
      retry_.expires_after(std::chrono::milliseconds(100));
      retry_.async_wait([this](beast::error_code e) {
        if (!e && !stopped_) accept();
      });
      return;
    }
    {
      if (connections_.size() >= kMaxConnections) {
        beast::error_code ignored;
        socket.close(ignored);  // over the bound: refused by closing
      } else {
        auto c = std::make_shared<Connection>(*this, std::move(socket));
        connections_.insert(c);
        c->start();
      }
    }
    accept();
  });
}

void HttpServer::stop() {
  if (stopped_) return;
  stopped_ = true;
  beast::error_code ec;
  acceptor_.close(ec);
  retry_.cancel();
  const auto all = connections_;
  for (const auto& c : all) c->close();
}

AgentView HttpServer::view() const {
  return AgentView{spec_, authority_, session_.frequency(), session_.target(), session_.stats()};
}

}  // namespace kperf::agent
