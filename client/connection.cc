#include "client/connection.h"

#include <arpa/inet.h>
#include <grpcpp/support/client_interceptor.h>

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace mt::client {
namespace {

// Adds the authorization header to each call. An interceptor rather than call credentials:
// gRPC sends call credentials only over TLS, and a token on a loopback daemon without TLS is
// a supported set-up.
class BearerInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerInterceptor(const std::string* header) : header_(header) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", *header_});
    }
    methods->Proceed();
  }

 private:
  const std::string* header_;  // owned by the factory, which the channel keeps
};

class BearerInterceptorFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerInterceptorFactory(const std::string& token) : header_("Bearer " + token) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo*) override {
    return new BearerInterceptor(&header_);
  }

 private:
  const std::string header_;
};

}  // namespace

std::shared_ptr<grpc::Channel> OpenChannel(const Connection& c,
                                           const grpc::ChannelArguments& channel_args) {
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  if (!c.ca_pem.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = c.ca_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> factories;
  if (!c.token.empty()) factories.push_back(std::make_unique<BearerInterceptorFactory>(c.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(c.server, credentials,
                                                                 channel_args,
                                                                 std::move(factories));
}

bool IsLoopbackTarget(const std::string& server) {
  if (server.rfind("unix:", 0) == 0) return true;
  std::string host;
  if (!server.empty() && server[0] == '[') {
    const size_t close = server.find(']');
    if (close == std::string::npos) return false;
    host = server.substr(1, close - 1);
  } else {
    host = server.substr(0, server.rfind(':'));
  }
  host = absl::AsciiStrToLower(host);
  if (host == "localhost") return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

std::string TrimToken(const std::string& text) {
  return std::string(absl::StripAsciiWhitespace(text));
}

bool IsSendableToken(const std::string& token) {
  for (char ch : token) {
    if (ch <= 0x20 || ch >= 0x7f) return false;  // also every byte >= 0x80 (char is signed)
  }
  return true;
}

std::string RpcErrorText(const grpc::Status& s, const std::string& server, bool tls) {
  switch (s.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      return absl::StrCat("cannot reach the mt daemon at ", server,
                          !tls ? " (is `bazel run //server` running? if it serves TLS, pass "
                                 "--tls-ca CA.pem)"
                               : " over TLS (is `bazel run //server` running with --tls_cert, "
                                 "and is --tls-ca the CA that signed it?)",
                          s.error_message().empty() ? "" : ": ", s.error_message());
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat("the mt daemon at ", server, " did not answer in time");
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StrCat("the mt daemon at ", server,
                          " does not implement this call: ", s.error_message());
    default:
      return s.error_message().empty() ? absl::StrCat("gRPC error ", s.error_code())
                                       : s.error_message();
  }
}

}  // namespace mt::client
