// The agent's HTTP server over a real loopback socket, for everything that needs no
// sampler: index, /healthz, 400/404/405, keep-alive, and a client leaving before its
// scrape's window opens (the target here is this test process, followed by --pid).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "kperf/agent/http_server.hpp"

namespace kperf::agent {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Server {
  asio::io_context io;
  ScrapeSession session{FollowedTarget(getpid(), {}), 99};
  HttpServer server{io, parse_listen_address("127.0.0.1:0"), session, "--pid self"};
  std::thread thread{[this] { io.run(); }};
  ~Server() {
    asio::post(io, [this] {
      server.stop();
      io.stop();
    });
    thread.join();
    session.shutdown();
  }
};

// One request on a fresh connection (or `stream` when given).
http::response<http::string_body> get(int port, const std::string& target, http::verb verb = http::verb::get,
                                      beast::tcp_stream* stream = nullptr) {
  asio::io_context io;
  beast::tcp_stream own(io);
  beast::tcp_stream& s = stream ? *stream : own;
  if (!stream) s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::empty_body> req(verb, target, 11);
  req.set(http::field::host, "127.0.0.1");
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  return res;
}

TEST(HttpServer, AnswersTheRoutesThatNeedNoSampling) {
  Server srv;
  const int port = srv.server.port();
  ASSERT_GT(port, 0);
  auto r = get(port, "/");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_NE(r.body().find("/debug/pprof/profile"), std::string::npos);
  r = get(port, "/healthz");
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(r.body().rfind("ok\n", 0), 0u) << r.body();
  r = get(port, "/debug/pprof/profile?seconds=301");
  EXPECT_EQ(r.result_int(), 400);
  EXPECT_EQ(r.body(), "seconds=301 is out of range: give 1 to 300\n");
  r = get(port, "/nope");
  EXPECT_EQ(r.result_int(), 404);
  r = get(port, "/", http::verb::post);
  EXPECT_EQ(r.result_int(), 405);
  EXPECT_EQ(r[http::field::allow], "GET");
}

TEST(HttpServer, KeepsConnectionsAlive) {
  Server srv;
  asio::io_context io;
  beast::tcp_stream s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv.server.port()));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(get(0, "/healthz", http::verb::get, &s).result_int(), 200);
}

TEST(HttpServer, GarbageIs400) {
  Server srv;
  asio::io_context io;
  tcp::socket s(io);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv.server.port()));
  const std::string junk = "GET / HTTP/1.1\r\n" + std::string(9000, 'x') + ": y\r\n\r\n";
  asio::write(s, asio::buffer(junk));
  std::string got(64, '\0');
  boost::system::error_code ec;
  const size_t n = s.read_some(asio::buffer(got), ec);
  EXPECT_EQ(got.substr(0, std::min<size_t>(n, 12)), "HTTP/1.1 400");
}

TEST(HttpServer, RefusesToBindATakenPort) {
  Server srv;
  asio::io_context io;
  ListenAddress taken = parse_listen_address("127.0.0.1:0");
  taken.port = srv.server.port();
  try {
    HttpServer second(io, taken, srv.session, "--pid self");
    ADD_FAILURE() << "bound a taken port";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("--listen 127.0.0.1:"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kperf::agent
