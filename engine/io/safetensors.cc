#include "engine/io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/short_quote.h"
#include "engine/ops.h"

namespace mt::io {
namespace {

using nlohmann::json;

const char* SafetensorsDType(DType d) {
  switch (d) {
    case DType::kFloat32:
      return "F32";
    case DType::kFloat64:
      return "F64";
    case DType::kInt64:
      return "I64";
  }
  return "?";
}

bool IsCount(const json& v) { return v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0); }

// dtype: string; shape: array of non-negative integers; data_offsets: two non-negative integers.
bool WellTypedEntry(const json& e) {
  if (!e.is_object()) return false;
  auto dtype = e.find("dtype"), shape = e.find("shape"), offsets = e.find("data_offsets");
  if (dtype == e.end() || shape == e.end() || offsets == e.end()) return false;
  if (!dtype->is_string() || !shape->is_array() || !offsets->is_array() || offsets->size() != 2) {
    return false;
  }
  for (const json& d : *shape) {
    if (!IsCount(d)) return false;
  }
  return IsCount((*offsets)[0]) && IsCount((*offsets)[1]);
}

absl::StatusOr<DType> ParseDType(const std::string& s, const std::string& origin,
                                 const std::string& name) {
  if (s == "F32") return DType::kFloat32;
  if (s == "F64") return DType::kFloat64;
  if (s == "I64") return DType::kInt64;
  return absl::InvalidArgumentError(absl::StrCat(origin, ": tensor '", ShortQuote(name),
                                                 "' has dtype ", ShortQuote(s),
                                                 "; mt reads F32, F64 and I64"));
}

std::string ErrnoText() { return std::strerror(errno); }

absl::Status ParseMetadata(const json& value, const std::string& origin,
                           std::map<std::string, std::string>* out) {
  if (!value.is_object()) {
    return absl::DataLossError(absl::StrCat(origin, ": __metadata__ must be an object"));
  }
  for (auto m = value.begin(); m != value.end(); ++m) {
    if (!m.value().is_string()) {
      return absl::DataLossError(
          absl::StrCat(origin, ": metadata '", m.key(), "' must be a string"));
    }
    (*out)[m.key()] = m.value().get<std::string>();
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Tensor> TensorFile::Get(const std::string& name) const {
  for (const auto& [n, t] : tensors) {
    if (n == name) return t;
  }
  std::string have;
  for (const auto& [n, t] : tensors) have += (have.empty() ? "" : ", ") + n;
  return absl::NotFoundError(absl::StrCat("no tensor named '", name, "' (have: ", have, ")"));
}

absl::StatusOr<std::string> EncodeSafetensors(const TensorFile& file) {
  json header = json::object();
  std::set<std::string> names;
  size_t offset = 0;
  for (const auto& [name, t] : file.tensors) {
    if (name.empty() || name == "__metadata__" || !names.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("safetensors: tensor name '", name, "' is empty, reserved or repeated"));
    }
    size_t nbytes = t.numel() * ElementSize(t.dtype());
    header[name] = {{"dtype", SafetensorsDType(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + nbytes}}};
    offset += nbytes;
  }
  if (!file.metadata.empty()) header["__metadata__"] = file.metadata;
  std::string text = header.dump();
  // Pad the header with spaces so the data starts 8-byte aligned (allowed by the format).
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');
  std::string out(8, '\0');
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  out += text;
  out.reserve(out.size() + offset);
  for (const auto& [name, t] : file.tensors) {
    std::vector<char> dense(t.numel() * ElementSize(t.dtype()));
    if (!dense.empty()) {
      // To(cpu): tensors of a model trained on a GPU are copied to the host first.
      Tensor c = Contiguous(t.Detach()).To(Device::CPU());
      std::memcpy(dense.data(), c.raw_data(), dense.size());
    }
    out.append(dense.data(), dense.size());
  }
  return out;
}

absl::StatusOr<TensorFile> DecodeSafetensors(const std::string& bytes, const std::string& origin) {
  if (bytes.size() < 8) {
    return absl::DataLossError(absl::StrCat(origin, ": ", bytes.size(),
                                            " bytes is too short for a safetensors file (>= 8)"));
  }
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= static_cast<uint64_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  if (n > bytes.size() - 8) {
    return absl::DataLossError(absl::StrCat(origin, ": header length ", n, " exceeds the file (",
                                            bytes.size(), " bytes); the file is truncated"));
  }
  json header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + n, nullptr, false);
  if (header.is_discarded() || !header.is_object()) {
    return absl::DataLossError(absl::StrCat(origin, ": the header is not a JSON object"));
  }
  const size_t data_start = 8 + n, data_size = bytes.size() - data_start;
  TensorFile file;
  // Keep file order (by data offset) so names come back in the order they were written.
  std::vector<std::pair<size_t, std::string>> order;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (absl::Status s = ParseMetadata(it.value(), origin, &file.metadata); !s.ok()) return s;
      continue;
    }
    // Every field's JSON type is checked before it is read: a get<> of the wrong type throws,
    // which would surface as UNKNOWN instead of saying the file is damaged.
    if (!WellTypedEntry(it.value())) {
      return absl::DataLossError(absl::StrCat(
          origin, ": entry '", ShortQuote(it.key()),
          "' needs dtype (a string), shape (an array of non-negative integers) and data_offsets "
          "[begin, end] (non-negative integers)"));
    }
    order.emplace_back(it.value()["data_offsets"][0].get<size_t>(), it.key());
  }
  std::sort(order.begin(), order.end());
  for (const auto& [begin_unused, name] : order) {
    const json& e = header[name];
    absl::StatusOr<DType> dtype = ParseDType(e["dtype"].get<std::string>(), origin, name);
    if (!dtype.ok()) return dtype.status();
    Shape shape;
    // The element count is accumulated with an overflow check: a shape like [2^40, 2^40] must
    // be refused, not wrap around to a small size that matches the data offsets.
    uint64_t count = 1;
    bool overflow = false;
    for (const json& d : e["shape"]) {
      const uint64_t v = d.get<uint64_t>();
      if (v > static_cast<uint64_t>(INT64_MAX) ||
          (v != 0 && count > static_cast<uint64_t>(INT64_MAX) / 8 / v)) {
        overflow = true;
      }
      count *= v;
      shape.push_back(static_cast<int64_t>(v));
    }
    if (overflow) {
      return absl::DataLossError(
          absl::StrCat(origin, ": '", ShortQuote(name), "' has a shape too large to be real"));
    }
    size_t begin = e["data_offsets"][0].get<size_t>(), end = e["data_offsets"][1].get<size_t>();
    size_t want = static_cast<size_t>(count) * ElementSize(*dtype);
    if (end < begin || end - begin != want || end > data_size) {
      return absl::DataLossError(absl::StrCat(
          origin, ": '", ShortQuote(name), "' (", ShapeToString(shape), " ", DTypeName(*dtype), ", ", want,
          " bytes) has data_offsets [", begin, ", ", end, ") outside or inconsistent with the ",
          data_size, " data bytes"));
    }
    Tensor t = Tensor::Empty(shape, *dtype);
    if (want) std::memcpy(t.raw_data(), bytes.data() + data_start + begin, want);
    file.tensors.emplace_back(name, t);
  }
  return file;
}

absl::Status WriteSafetensors(const std::string& path, const TensorFile& file) {
  absl::StatusOr<std::string> bytes = EncodeSafetensors(file);
  if (!bytes.ok()) return bytes.status();
  return WriteFileAtomically(path, *bytes);
}

absl::StatusOr<TensorFile> ReadSafetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", ErrnoText()));
  std::stringstream ss;
  ss << in.rdbuf();
  return DecodeSafetensors(ss.str(), path);
}

absl::StatusOr<std::map<std::string, std::string>> ReadSafetensorsMetadata(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", ErrnoText()));
  in.seekg(0, std::ios::end);
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  in.seekg(0);
  unsigned char len_bytes[8];
  if (size < 8 || !in.read(reinterpret_cast<char*>(len_bytes), 8)) {
    return absl::DataLossError(absl::StrCat(path, ": too short for a safetensors file"));
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | len_bytes[i];
  if (n > size - 8) {
    return absl::DataLossError(absl::StrCat(path, ": header length ", n, " exceeds the file (",
                                            size, " bytes); the file is truncated"));
  }
  std::string header(n, '\0');
  if (!in.read(header.data(), static_cast<std::streamsize>(n))) {
    return absl::DataLossError(absl::StrCat(path, ": cannot read the header"));
  }
  json j = json::parse(header, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat(path, ": the header is not a JSON object"));
  }
  std::map<std::string, std::string> meta;
  if (auto it = j.find("__metadata__"); it != j.end()) {
    if (absl::Status s = ParseMetadata(*it, path, &meta); !s.ok()) return s;
  }
  return meta;
}

}  // namespace mt::io
