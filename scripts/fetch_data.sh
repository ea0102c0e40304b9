#!/usr/bin/env bash
# Puts the training data where mt looks for it: MNIST (4 gzipped IDX files) under DEST/mnist/
# and GLUE SST-2 (train.tsv, dev.tsv, test.tsv) under DEST/sst2/. Every file is checked against
# the SHA-256 published in shared/data/README.md, whichever way it arrived; a file that fails is
# deleted and the script exits non-zero. Files already present with the right checksum are left
# alone, so running it again is cheap and safe.
#
# Usage: scripts/fetch_data.sh [--from DIR | --download] [--dest DIR]
#   --from DIR   copy from a local mirror laid out like shared/data (mnist/, sst2/).
#                Default: $MT_DATA_MIRROR, else ../shared/data next to the repo if it exists.
#   --download   ignore any mirror and download from the public origins.
#   --dest DIR   where to put the data. Default: data/ in the repo root (git-ignored).
# Then, for example:
#   bazel test //engine/data:real_data_test --test_env=MT_DATA_DIR="$PWD/data"
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# path relative to DEST, then its SHA-256 (shared/data/README.md).
FILES=(
  mnist/train-images-idx3-ubyte.gz 440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609
  mnist/train-labels-idx1-ubyte.gz 3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c
  mnist/t10k-images-idx3-ubyte.gz 8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6
  mnist/t10k-labels-idx1-ubyte.gz f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6
  sst2/train.tsv 48eac26399f8456935f81dd9e3a745c1430adb6c62e233ccfe22db4a0d15d1d1
  sst2/dev.tsv 54a9c12c77e402fc14d6a66a506f24d999f596b0176eb777c972cccc2f9cc4b0
  sst2/test.tsv 69a938605609b3e6663b4487918fe1565eb293734e6e520d0366d1d412fd2a13
)

# yann.lecun.com has been flaky or refusing downloads for years; PyTorch's copy goes first.
MNIST_URLS=(
  https://ossci-datasets.s3.amazonaws.com/mnist/
  http://yann.lecun.com/exdb/mnist/
)
SST2_ZIP_URL=https://dl.fbaipublicfiles.com/glue/data/SST-2.zip

die() {
  echo "fetch_data: error: $*" >&2
  exit 1
}
say() { echo "fetch_data: $*" >&2; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

mirror="${MT_DATA_MIRROR:-}"
mirror_from="MT_DATA_MIRROR"
force_download=0
dest="$ROOT/data"
while (($#)); do
  case "$1" in
    --from)
      (($# >= 2)) || die "--from needs a directory"
      mirror="$2" mirror_from="--from"
      shift 2
      ;;
    --from=*) mirror="${1#--from=}" mirror_from="--from"; shift ;;
    --dest)
      (($# >= 2)) || die "--dest needs a directory"
      dest="$2"
      shift 2
      ;;
    --dest=*) dest="${1#--dest=}"; shift ;;
    --download) force_download=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

if ((force_download)); then
  [[ "$mirror_from" == "--from" ]] && die "--from and --download contradict each other"
  mirror=""
elif [[ -z "$mirror" && -d "$ROOT/../shared/data" ]]; then
  # This environment keeps a verified copy beside the repo; copying beats downloading.
  mirror="$(cd "$ROOT/../shared/data" && pwd)"
  mirror_from="found next to the repo"
fi
if [[ -n "$mirror" ]]; then
  [[ -d "$mirror" ]] || die "mirror directory '$mirror' (from $mirror_from) does not exist"
  mirror="$(cd "$mirror" && pwd)"
fi

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1" | cut -d' ' -f1; }
elif command -v shasum >/dev/null 2>&1; then
  sha256() { shasum -a 256 "$1" | cut -d' ' -f1; }
else
  die "need sha256sum or shasum to verify the data"
fi

# Downloads URL to FILE; false (with the tool's complaint on stderr) if it fails.
download() {
  local url="$1" file="$2"
  if command -v curl >/dev/null 2>&1; then
    curl -fL --silent --show-error --retry 2 --connect-timeout 20 -o "$file" "$url"
  elif command -v wget >/dev/null 2>&1; then
    wget -q --tries=3 --timeout=20 -O "$file" "$url"
  else
    echo "neither curl nor wget is installed" >&2
    return 1
  fi
}

mkdir -p "$dest/mnist" "$dest/sst2"
dest="$(cd "$dest" && pwd)"

# Partial files never carry a final name, so an interrupted run cannot leave a file that a later
# run would mistake for good; this removes them however the script ends.
tmp_files=()
cleanup() { ((${#tmp_files[@]})) && rm -f "${tmp_files[@]}"; return 0; }
trap cleanup EXIT

sst2_zip=""
# Writes the origin's copy of REL to FILE, or fails with a message saying what was tried.
fetch_from_origin() {
  local rel="$1" file="$2" url base
  case "$rel" in
    mnist/*)
      for base in "${MNIST_URLS[@]}"; do
        url="$base${rel#mnist/}"
        say "downloading $url"
        if download "$url" "$file"; then return 0; fi
        say "  failed: $url"
      done
      die "could not download $rel from any of: ${MNIST_URLS[*]}" \
        "(no network? Use --from DIR to copy from a local mirror laid out like shared/data)"
      ;;
    sst2/*)
      command -v unzip >/dev/null 2>&1 || die "need unzip to extract $rel from $SST2_ZIP_URL"
      if [[ -z "$sst2_zip" ]]; then
        sst2_zip="$dest/sst2/.SST-2.zip.part.$$"
        tmp_files+=("$sst2_zip")
        say "downloading $SST2_ZIP_URL"
        download "$SST2_ZIP_URL" "$sst2_zip" ||
          die "could not download $SST2_ZIP_URL for $rel" \
            "(no network? Use --from DIR to copy from a local mirror laid out like shared/data)"
      fi
      unzip -p "$sst2_zip" "SST-2/${rel#sst2/}" >"$file" ||
        die "$SST2_ZIP_URL has no SST-2/${rel#sst2/}; the archive's layout has changed"
      ;;
  esac
}

fetched=0
for ((i = 0; i < ${#FILES[@]}; i += 2)); do
  rel="${FILES[i]}" want="${FILES[i + 1]}"
  target="$dest/$rel"
  if [[ -f "$target" ]]; then
    if [[ "$(sha256 "$target")" == "$want" ]]; then
      say "ok       $rel (already present, checksum verified)"
      continue
    fi
    say "$rel is present but its checksum is wrong; fetching it again"
    rm -f "$target"
  fi

  part="$target.part.$$"
  tmp_files+=("$part")
  if [[ -n "$mirror" ]]; then
    src="$mirror/$rel"
    [[ -f "$src" ]] || die "mirror $mirror (from $mirror_from) has no $rel"
    cp "$src" "$part"
    chmod 0644 "$part"  # mirrors are often read-only; the copy should not be
  else
    src="the public origin"
    fetch_from_origin "$rel" "$part"
  fi

  got="$(sha256 "$part")"
  if [[ "$got" != "$want" ]]; then
    rm -f "$part"
    die "checksum mismatch for $rel copied from $src:" \
      "expected sha256 $want, got $got. The bad file was deleted; nothing was installed for it."
  fi
  mv "$part" "$target"
  fetched=$((fetched + 1))
  say "fetched  $rel (from ${mirror:-origin}, checksum verified)"
done

say "all $((${#FILES[@]} / 2)) files present and verified in $dest ($fetched fetched now)"
