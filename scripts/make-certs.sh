#!/usr/bin/env bash
# A self-signed CA and a server certificate it signs, for a first remote set-up of the daemon
# (README "Remote use"). openssl from Debian; nothing leaves this machine.
#
#   scripts/make-certs.sh [-o DIR] [NAME_OR_IP ...]
#
# NAME_OR_IP: the names and addresses clients will use in --server (the certificate's SANs);
# default: localhost 127.0.0.1. DIR (default ./certs) receives:
#   ca.pem      give to clients (mt-client --tls-ca ca.pem)
#   ca.key      keep offline: it signs certificates every client trusts
#   server.pem  --tls_cert for the daemon
#   server.key  --tls_key for the daemon (mode 600)
set -euo pipefail

out=certs
if [ "${1:-}" = "-o" ]; then
  [ $# -ge 2 ] || { echo "usage: $0 [-o DIR] [NAME_OR_IP ...]" >&2; exit 2; }
  out=$2
  shift 2
fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then names=(localhost 127.0.0.1); fi

san=""
for n in "${names[@]}"; do
  if [[ "$n" =~ ^[0-9.]+$ || "$n" == *:* ]]; then kind=IP; else kind=DNS; fi
  san="${san:+$san,}$kind:$n"
done

command -v openssl >/dev/null || { echo "make-certs: openssl not found (apt-get install openssl)" >&2; exit 1; }
mkdir -p "$out"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# EC P-256 keys: small and quick to make; every TLS stack gRPC uses accepts them.
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
  -subj "/CN=mt self-signed CA" -keyout "$out/ca.key" -out "$out/ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -subj "/CN=${names[0]}" -keyout "$out/server.key" -out "$tmp/server.csr" \
  2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
  "$san" >"$tmp/ext"
openssl x509 -req -in "$tmp/server.csr" -CA "$out/ca.pem" -CAkey "$out/ca.key" \
  -set_serial "0x$(openssl rand -hex 16)" -days 825 -extfile "$tmp/ext" -out "$out/server.pem" \
  2>"$tmp/log" || { cat "$tmp/log" >&2; exit 1; }
chmod 644 "$out/ca.pem" "$out/server.pem"

echo "make-certs: wrote $out/ca.pem, $out/ca.key, $out/server.pem, $out/server.key ($san)" >&2
