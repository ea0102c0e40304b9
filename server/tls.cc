#include "server/tls.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace mt::server {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, const char* flag) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", flag, " file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

absl::StatusOr<TlsFiles> LoadTlsFiles(const std::string& cert_path, const std::string& key_path) {
  if (cert_path.empty() != key_path.empty()) {
    return absl::InvalidArgumentError(
        "TLS needs both --tls_cert and --tls_key (scripts/make-certs.sh makes a pair)");
  }
  TlsFiles f;
  absl::StatusOr<std::string> cert = ReadFile(cert_path, "--tls_cert");
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = ReadFile(key_path, "--tls_key");
  if (!key.ok()) return key.status();
  f.cert_pem = std::move(*cert);
  f.key_pem = std::move(*key);

  BIO* cb = BIO_new_mem_buf(f.cert_pem.data(), static_cast<int>(f.cert_pem.size()));
  X509* x509 = PEM_read_bio_X509(cb, nullptr, nullptr, nullptr);
  BIO_free(cb);
  BIO* kb = BIO_new_mem_buf(f.key_pem.data(), static_cast<int>(f.key_pem.size()));
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(kb, nullptr, nullptr, nullptr);
  BIO_free(kb);
  ERR_clear_error();
  absl::Status s = absl::OkStatus();
  if (x509 == nullptr) {
    s = absl::InvalidArgumentError(
        absl::StrCat("--tls_cert ", cert_path, " holds no PEM certificate"));
  } else if (pkey == nullptr) {
    s = absl::InvalidArgumentError(absl::StrCat(
        "--tls_key ", key_path, " holds no unencrypted PEM private key"));
  } else if (X509_check_private_key(x509, pkey) != 1) {
    ERR_clear_error();
    s = absl::InvalidArgumentError(absl::StrCat("--tls_key ", key_path,
                                                " is not the key of the certificate in ",
                                                cert_path));
  }
  X509_free(x509);
  EVP_PKEY_free(pkey);
  if (!s.ok()) return s;
  return f;
}

}  // namespace mt::server
