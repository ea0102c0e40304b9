#include "engine/data/mnist.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/data/input_file.h"

namespace mt::data {

namespace {

constexpr int kNumClasses = 10;
constexpr int kImagesHeaderBytes = 16;  // magic, count, rows, cols
constexpr int kLabelsHeaderBytes = 8;   // magic, count
// Payload is read in pieces so that a corrupt header claiming billions of images fails at the
// end of the real data instead of first allocating what it claims.
constexpr size_t kReadChunk = size_t{16} << 20;

int32_t BigEndian32(const unsigned char* p) {
  return static_cast<int32_t>((uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) |
                              (uint32_t{p[2]} << 8) | uint32_t{p[3]});
}

std::string MagicName(int32_t magic) {
  if (magic == kIdxImagesMagic) return " (the magic of an IDX image file)";
  if (magic == kIdxLabelsMagic) return " (the magic of an IDX label file)";
  return "";
}

// Reads the header of an IDX file: the magic number, then `num_dims` big-endian int32 sizes.
absl::Status ReadIdxHeader(InputFile& file, int32_t expected_magic, int num_dims,
                           std::vector<int64_t>* dims) {
  const char* kind = expected_magic == kIdxImagesMagic ? "image" : "label";
  const size_t header_bytes = 4 + 4 * static_cast<size_t>(num_dims);
  std::array<unsigned char, kImagesHeaderBytes> header{};
  absl::StatusOr<size_t> got = file.Read(header.data(), header_bytes);
  if (!got.ok()) return got.status();
  if (*got < 4) {
    return absl::DataLossError(absl::StrCat(file.path(), ": truncated header: the file holds ",
                                            *got, " bytes, an IDX ", kind, " file header is ",
                                            header_bytes, " bytes"));
  }
  const int32_t magic = BigEndian32(header.data());
  if (magic != expected_magic) {
    std::string hint;
    if (magic == kIdxImagesMagic || magic == kIdxLabelsMagic) {
      hint = "; were the image and label paths swapped?";
    }
    return absl::InvalidArgumentError(absl::StrFormat(
        "%s: not an IDX %s file: magic number is 0x%08x (%d)%s, expected 0x%08x (%d)%s",
        file.path(), kind, static_cast<uint32_t>(magic), magic, MagicName(magic),
        static_cast<uint32_t>(expected_magic), expected_magic, hint));
  }
  if (*got < header_bytes) {
    return absl::DataLossError(absl::StrCat(file.path(), ": truncated header: the file holds ",
                                            *got, " bytes, an IDX ", kind, " file header is ",
                                            header_bytes, " bytes"));
  }
  dims->clear();
  static constexpr const char* kDimNames[] = {"count", "rows", "cols"};
  for (int d = 0; d < num_dims; ++d) {
    const int32_t size = BigEndian32(header.data() + 4 + 4 * d);
    // A count of zero is an empty but well-formed split; an image with no rows is not.
    const bool ok = d == 0 ? size >= 0 : size > 0;
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat(
          file.path(), ": header field ", kDimNames[d], " is ", size, ", expected ",
          d == 0 ? "a count >= 0" : "a positive size"));
    }
    dims->push_back(size);
  }
  return absl::OkStatus();
}

// Reads exactly `n` payload bytes after the header, then checks that nothing follows them.
absl::Status ReadPayload(InputFile& file, uint64_t n, const std::string& what,
                         std::vector<uint8_t>* out) {
  out->clear();
  out->reserve(static_cast<size_t>(std::min<uint64_t>(n, kReadChunk)));
  uint64_t done = 0;
  while (done < n) {
    const size_t chunk = static_cast<size_t>(std::min<uint64_t>(n - done, kReadChunk));
    out->resize(static_cast<size_t>(done) + chunk);
    absl::StatusOr<size_t> got = file.Read(out->data() + done, chunk);
    if (!got.ok()) {
      return absl::Status(got.status().code(),
                          absl::StrCat(got.status().message(), "; the header promises ", n,
                                       " bytes of ", what));
    }
    done += *got;
    if (*got < chunk) {
      return absl::DataLossError(absl::StrCat(file.path(), ": truncated ", what,
                                              ": the header promises ", n,
                                              " bytes but the file ends after ", done, " of them"));
    }
  }
  // Reading past the end also makes zlib verify the gzip CRC and length trailer.
  unsigned char extra[64];
  absl::StatusOr<size_t> got = file.Read(extra, sizeof(extra));
  if (!got.ok()) return got.status();
  if (*got > 0) {
    return absl::DataLossError(absl::StrCat(
        file.path(), ": file is longer than its header says: expected exactly ", n, " bytes of ",
        what, " after the header, found more (wrong count field or two files concatenated?)"));
  }
  return absl::OkStatus();
}

absl::Status LoadImages(const std::string& path, MnistSplit* split) {
  absl::StatusOr<std::unique_ptr<InputFile>> file = InputFile::Open(path);
  if (!file.ok()) return file.status();
  std::vector<int64_t> dims;
  absl::Status status = ReadIdxHeader(**file, kIdxImagesMagic, 3, &dims);
  if (!status.ok()) return status;
  split->count = dims[0];
  split->rows = dims[1];
  split->cols = dims[2];
  // Three int32 sizes can overflow 64 bits between them.
  const uint64_t image_bytes = static_cast<uint64_t>(dims[1]) * static_cast<uint64_t>(dims[2]);
  const uint64_t total = image_bytes * static_cast<uint64_t>(dims[0]);
  if (image_bytes != 0 && total / image_bytes != static_cast<uint64_t>(dims[0])) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": header sizes ", dims[0], " x ",
                                                   dims[1], " x ", dims[2], " overflow"));
  }
  return ReadPayload(**file, total,
                     absl::StrCat("pixel data (", dims[0], " images of ", dims[1], "x", dims[2],
                                  ")"),
                     &split->pixels);
}

absl::Status LoadLabels(const std::string& path, std::vector<int64_t>* labels) {
  absl::StatusOr<std::unique_ptr<InputFile>> file = InputFile::Open(path);
  if (!file.ok()) return file.status();
  std::vector<int64_t> dims;
  absl::Status status = ReadIdxHeader(**file, kIdxLabelsMagic, 1, &dims);
  if (!status.ok()) return status;
  std::vector<uint8_t> bytes;
  status = ReadPayload(**file, static_cast<uint64_t>(dims[0]),
                       absl::StrCat("label data (", dims[0], " labels)"), &bytes);
  if (!status.ok()) return status;
  labels->resize(bytes.size());
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (bytes[i] >= kNumClasses) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": label ", static_cast<int>(bytes[i]), " at index ", i,
                       " is out of range, expected a digit 0-9"));
    }
    (*labels)[i] = bytes[i];
  }
  return absl::OkStatus();
}

// Finds the first of `names` that exists in `dir`.
absl::StatusOr<std::string> FindFile(const std::string& dir,
                                     const std::vector<std::string>& names) {
  for (const std::string& name : names) {
    std::string path = absl::StrCat(dir, "/", name);
    if (IsRegularFile(path)) return path;
  }
  return absl::NotFoundError(absl::StrCat(dir, ": no ", absl::StrJoin(names, " or "),
                                          " (scripts/fetch_data.sh downloads MNIST)"));
}

[[noreturn]] void DieBadIndex(const char* fn, int64_t i, int64_t index, int64_t count) {
  std::fprintf(stderr, "%s: indices[%lld] = %lld is outside [0, %lld)\n", fn,
               static_cast<long long>(i), static_cast<long long>(index),
               static_cast<long long>(count));
  std::abort();
}

}  // namespace

absl::StatusOr<MnistSplit> LoadMnistSplit(const std::string& images_path,
                                          const std::string& labels_path) {
  MnistSplit split;
  absl::Status status = LoadImages(images_path, &split);
  if (!status.ok()) return status;
  status = LoadLabels(labels_path, &split.labels);
  if (!status.ok()) return status;
  if (static_cast<int64_t>(split.labels.size()) != split.count) {
    return absl::InvalidArgumentError(absl::StrCat(
        labels_path, ": holds ", split.labels.size(), " labels but ", images_path, " holds ",
        split.count, " images; expected one label per image (files from different splits?)"));
  }
  return split;
}

absl::StatusOr<MnistSplit> LoadMnist(const std::string& dir, bool train) {
  std::string folder = dir;
  const std::string prefix = train ? "train" : "t10k";
  const std::string images_gz = prefix + "-images-idx3-ubyte.gz";
  if (!IsDirectory(folder)) {
    return absl::NotFoundError(
        absl::StrCat(dir, ": MNIST directory does not exist (scripts/fetch_data.sh fetches it)"));
  }
  // Accept the data root as well as the mnist/ folder inside it.
  if (!IsRegularFile(absl::StrCat(folder, "/", images_gz)) &&
      !IsRegularFile(absl::StrCat(folder, "/", prefix, "-images-idx3-ubyte")) &&
      IsDirectory(absl::StrCat(folder, "/mnist"))) {
    folder = absl::StrCat(folder, "/mnist");
  }
  absl::StatusOr<std::string> images = FindFile(
      folder, {images_gz, prefix + "-images-idx3-ubyte", prefix + "-images.idx3-ubyte"});
  if (!images.ok()) return images.status();
  absl::StatusOr<std::string> labels =
      FindFile(folder, {prefix + "-labels-idx1-ubyte.gz", prefix + "-labels-idx1-ubyte",
                        prefix + "-labels.idx1-ubyte"});
  if (!labels.ok()) return labels.status();
  return LoadMnistSplit(*images, *labels);
}

MnistSplit TakeFirst(const MnistSplit& split, int64_t n) {
  n = std::clamp<int64_t>(n, 0, split.count);
  MnistSplit out;
  out.count = n;
  out.rows = split.rows;
  out.cols = split.cols;
  out.pixels.assign(split.pixels.begin(), split.pixels.begin() + n * split.image_size());
  out.labels.assign(split.labels.begin(), split.labels.begin() + n);
  return out;
}

void NormalizeImages(const MnistSplit& split, const int64_t* indices, int64_t n, float* out) {
  // Only 256 possible inputs: a table keeps the per-pixel work to one load.
  static const std::array<float, 256> kTable = [] {
    std::array<float, 256> table{};
    for (int p = 0; p < 256; ++p) {
      const float x = static_cast<float>(p) / 255.0f;
      table[p] = (x - kMnistMean) / kMnistStd;
    }
    return table;
  }();
  const int64_t size = split.image_size();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t index = indices[i];
    if (index < 0 || index >= split.count) {
      DieBadIndex("NormalizeImages", i, index, split.count);
    }
    const uint8_t* src = split.pixels.data() + index * size;
    float* dst = out + i * size;
    for (int64_t j = 0; j < size; ++j) dst[j] = kTable[src[j]];
  }
}

void GatherLabels(const MnistSplit& split, const int64_t* indices, int64_t n, int64_t* out) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t index = indices[i];
    if (index < 0 || index >= split.count) DieBadIndex("GatherLabels", i, index, split.count);
    out[i] = split.labels[index];
  }
}

}  // namespace mt::data
