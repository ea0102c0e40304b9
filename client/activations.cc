#include "client/activations.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/png_grid.h"
#include "nlohmann/json.hpp"

namespace mt::client {
namespace {

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

absl::Status WriteBytes(const std::string& path, const std::string& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) {
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  ok &= std::fclose(f) == 0;
  if (!ok) {
    return absl::InternalError(absl::StrCat("cannot write ", path, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

// Little-endian whatever the host, so the files mean the same everywhere.
std::string Float32LittleEndian(const std::vector<float>& data) {
  std::string out(data.size() * 4, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &data[i], 4);
    for (int k = 0; k < 4; ++k) out[i * 4 + k] = static_cast<char>((bits >> (8 * k)) & 0xFF);
  }
  return out;
}

}  // namespace

absl::Status ActivationAssembler::Add(const v1::ActivationChunk& chunk) {
  if (!any_chunk_) {
    label_ = chunk.label();
    any_chunk_ = true;
  }
  const std::string& name = chunk.layer();
  if (name.empty()) return absl::DataLossError("the daemon sent a chunk with no layer name");

  auto it = index_.find(name);
  if (it == index_.end()) {
    if (chunk.shape().empty()) {
      return absl::DataLossError(
          absl::StrCat("layer ", name, ": its first chunk carries no shape"));
    }
    int64_t values = 1;
    for (int64_t d : chunk.shape()) {
      if (d < 0 || (d > 0 && values > max_values_ / d)) {
        return absl::DataLossError(absl::StrCat(
            "layer ", name, ": shape ", ShapeString({chunk.shape().begin(), chunk.shape().end()}),
            " is negative or larger than ", max_values_, " values"));
      }
      values *= d;
    }
    if (values > max_values_ - allocated_values_) {
      return absl::DataLossError(absl::StrCat("layer ", name, ": its ", values,
                                              " values would take the answer past ", max_values_,
                                              " values in all"));
    }
    allocated_values_ += values;
    Pending p;
    p.tensor.layer = name;
    p.tensor.shape.assign(chunk.shape().begin(), chunk.shape().end());
    p.tensor.data.assign(values, 0.0f);
    it = index_.emplace(name, layers_.size()).first;
    layers_.push_back(std::move(p));
  }
  Pending& p = layers_[it->second];
  if (p.complete) {
    return absl::DataLossError(absl::StrCat("layer ", name, ": a chunk after its last one"));
  }
  if (!chunk.shape().empty() && !std::equal(chunk.shape().begin(), chunk.shape().end(),
                                            p.tensor.shape.begin(), p.tensor.shape.end())) {
    return absl::DataLossError(
        absl::StrCat("layer ", name, ": shape changed from ", ShapeString(p.tensor.shape), " to ",
                     ShapeString({chunk.shape().begin(), chunk.shape().end()})));
  }

  const int64_t total = static_cast<int64_t>(p.tensor.data.size());
  const int64_t begin = chunk.offset();
  const int64_t count = chunk.data_size();
  if (begin < 0 || begin > total || count > total - begin) {
    return absl::DataLossError(absl::StrCat("layer ", name, ": chunk at offset ", begin, " with ",
                                            count, " values runs outside the tensor's ", total,
                                            " values"));
  }
  if (count > 0) {
    const int64_t end = begin + count;
    auto next = p.ranges.upper_bound(begin);
    bool overlaps = next != p.ranges.end() && next->first < end;
    if (next != p.ranges.begin() && std::prev(next)->second > begin) overlaps = true;
    if (overlaps) {
      return absl::DataLossError(absl::StrCat("layer ", name, ": chunk at offset ", begin,
                                              " overlaps values already received"));
    }
    p.ranges.emplace(begin, end);
    std::copy(chunk.data().begin(), chunk.data().end(), p.tensor.data.begin() + begin);
    p.received += count;
  }
  if (chunk.last()) {
    if (p.received != total) {
      return absl::DataLossError(absl::StrCat("layer ", name, ": its last chunk came with ",
                                              p.received, " of ", total, " values received"));
    }
    p.complete = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LayerTensor>> ActivationAssembler::Finish() {
  std::vector<LayerTensor> out;
  for (Pending& p : layers_) {
    if (!p.complete) {
      return absl::DataLossError(absl::StrCat("the stream ended before layer ", p.tensor.layer,
                                              " was complete (", p.received, " of ",
                                              p.tensor.data.size(), " values)"));
    }
    out.push_back(std::move(p.tensor));
  }
  layers_.clear();
  index_.clear();
  return out;
}

std::string LayerFileStem(const std::string& layer) {
  std::string stem = layer;
  for (char& c : stem) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  if (stem.empty() || stem[0] == '.') stem = "layer_" + stem;
  return stem;
}

absl::Status MakeDirs(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST) {
      return absl::InternalError(
          absl::StrCat("cannot create ", prefix, ": ", std::strerror(errno)));
    }
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(dir, " is not a folder"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<WrittenLayer>> WriteActivationFiles(
    const std::string& dir, const std::vector<LayerTensor>& layers) {
  if (absl::Status s = MakeDirs(dir); !s.ok()) return s;
  std::vector<WrittenLayer> written;
  std::set<std::string> stems;
  for (const LayerTensor& t : layers) {
    // Two names that sanitise alike must not overwrite each other.
    std::string stem = LayerFileStem(t.layer);
    for (int n = 2; !stems.insert(stem).second; ++n) {
      stem = absl::StrCat(LayerFileStem(t.layer), "-", n);
    }
    const std::string base = dir.back() == '/' ? dir + stem : dir + "/" + stem;
    WrittenLayer w{t.layer, t.shape, {}, ""};

    if (absl::Status s = WriteBytes(base + ".f32", Float32LittleEndian(t.data)); !s.ok()) {
      return s;
    }
    w.paths.push_back(base + ".f32");
    nlohmann::json meta = {{"shape", t.shape}, {"dtype", "float32"}, {"layer", t.layer}};
    if (absl::Status s = WriteBytes(base + ".json", meta.dump() + "\n"); !s.ok()) return s;
    w.paths.push_back(base + ".json");

    const std::vector<int64_t>& d = t.shape;
    absl::StatusOr<GrayImage> picture = absl::UnimplementedError("");
    if (d.size() == 4 && d[0] > 0 && d[1] * d[2] * d[3] > 0) {
      picture = FeatureMapGrid(t.data.data(), d[1], d[2], d[3]);
    } else if (d.size() == 3 && d[0] > 0 && d[1] * d[2] > 0) {
      picture = ChannelRows(t.data.data(), d[1], d[2]);
    }
    if (picture.ok()) {
      if (absl::Status s = WritePngFile(*picture, base + ".png"); !s.ok()) return s;
      w.paths.push_back(base + ".png");
    } else if (picture.status().code() != absl::StatusCode::kUnimplemented) {
      w.warning = absl::StrCat("no picture of ", t.layer, ": ", picture.status().message());
    }
    written.push_back(std::move(w));
  }
  return written;
}

}  // namespace mt::client
