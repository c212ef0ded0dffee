// The agent's HTTP/1.1 server (Boost.Beast on one Asio thread): accepts on the --listen
// address, routes each request (routes.hpp), hands profile requests to the ScrapeSession
// and writes its answer when the window ends. While a scrape waits it watches the
// connection: a client that goes away cancels its scrape. Bounded: connections, header
// size, idle time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "kperf/agent/listen_address.hpp"
#include "kperf/agent/routes.hpp"
#include "kperf/agent/scrape_session.hpp"

namespace kperf::agent {

class HttpServer {
 public:
  // Binds now: throws std::runtime_error (one line) when the address cannot be used.
  HttpServer(boost::asio::io_context& io, const ListenAddress& addr, ScrapeSession& session, std::string spec);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound port (the asked one, or the kernel's pick for port 0).
  std::uint16_t port() const { return port_; }
  // Stops accepting and closes every connection (on the io thread).
  void stop();

  class Connection;

 private:
  void accept();
  AgentView view() const;

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer retry_;
  ScrapeSession& session_;
  std::string spec_;
  std::string authority_;
  std::uint16_t port_ = 0;
  std::set<std::shared_ptr<Connection>> connections_;  // io thread only
  bool stopped_ = false;
};

}  // namespace kperf::agent
