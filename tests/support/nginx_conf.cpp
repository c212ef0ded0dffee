// The tests' minimal nginx configuration.
#include "tests/support/nginx_conf.hpp"

#include <fstream>
#include <stdexcept>

namespace kperf::test {

void write_nginx_conf(const TempDir& dir, int port, const std::string& location_body, bool lua) {
  std::ofstream conf(dir.file("nginx.conf"));
  if (lua) {
    conf << "load_module /usr/lib/nginx/modules/ndk_http_module.so;\n"
            "load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;\n";
  }
  const std::string& d = dir.path();
  conf << "daemon off;\nmaster_process on;\nworker_processes 1;\n"
       << "error_log " << d << "/error.log;\npid " << d << "/nginx.pid;\n"
       << "events { worker_connections 256; }\nhttp {\n  access_log off;\n"
       << "  client_body_temp_path " << d << "/body;\n  proxy_temp_path " << d << "/proxy;\n"
       << "  fastcgi_temp_path " << d << "/fastcgi;\n  uwsgi_temp_path " << d << "/uwsgi;\n"
       << "  scgi_temp_path " << d << "/scgi;\n"
       << "  server {\n    listen 127.0.0.1:" << port << ";\n    location / { " << location_body << " }\n  }\n}\n";
  if (!conf) throw std::runtime_error("cannot write " + dir.file("nginx.conf"));
}

}  // namespace kperf::test
