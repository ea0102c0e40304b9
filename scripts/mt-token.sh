#!/usr/bin/env bash
# A new random bearer token for the daemon's --tokens_file (README "Remote use").
#
#   scripts/mt-token.sh [-f TOKENS_FILE] USER [admin]
#
# Prints the token on stdout (give it to USER; it is not stored anywhere). With -f, appends
# "USER [admin] sha256:HEX" to TOKENS_FILE (created mode 600); without, prints that line on
# stderr for you to add. The daemon reads the file at start-up: restart it after a change.
set -euo pipefail

file=""
if [ "${1:-}" = "-f" ]; then
  [ $# -ge 2 ] || { echo "usage: $0 [-f TOKENS_FILE] USER [admin]" >&2; exit 2; }
  file=$2
  shift 2
fi
if [ $# -lt 1 ] || [ $# -gt 2 ] || { [ $# -eq 2 ] && [ "$2" != admin ]; }; then
  echo "usage: $0 [-f TOKENS_FILE] USER [admin]" >&2
  exit 2
fi
user=$1
if ! [[ "$user" =~ ^[A-Za-z0-9._@-]{1,64}$ ]]; then
  echo "mt-token: the user name must be 1-64 of A-Z a-z 0-9 . _ @ -" >&2
  exit 2
fi
role=${2:+ $2}

command -v openssl >/dev/null || { echo "mt-token: openssl not found (apt-get install openssl)" >&2; exit 1; }
token=$(openssl rand -hex 32)
hash=$(printf '%s' "$token" | openssl dgst -sha256 -r | cut -d' ' -f1)
line="$user$role sha256:$hash"

if [ -n "$file" ]; then
  (umask 077 && printf '%s\n' "$line" >>"$file")
  echo "mt-token: added $user$role to $file (restart the daemon to use it)" >&2
else
  echo "add to the tokens file: $line" >&2
fi
printf '%s\n' "$token"
