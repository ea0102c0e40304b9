#include "engine/io/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "engine/ops.h"

namespace mt::io {
namespace {

std::string TmpPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

TEST(Safetensors, RoundTripKeepsNamesOrderDtypesAndMetadata) {
  TensorFile f;
  f.tensors = {{"conv1.weight", Tensor::FromVector({1, 2, 3, 4, 5, 6}, {2, 3})},
               {"b", Tensor::FromVector({0.5}, {1}, DType::kFloat64)},
               {"ids", Tensor::FromInt64({7, -8}, {2})},
               {"empty", Tensor::Zeros({0, 4})},
               // A non-contiguous view is written in logical order.
               {"t", Transpose(Tensor::FromVector({1, 2, 3, 4, 5, 6}, {2, 3}), 0, 1)}};
  f.metadata = {{"epoch", "3"}, {"format", "pt"}};
  std::string path = TmpPath("a.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, f).ok());
  absl::StatusOr<TensorFile> r = ReadSafetensors(path);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->tensors.size(), 5u);
  EXPECT_EQ(r->tensors[0].first, "conv1.weight");
  EXPECT_EQ(r->tensors[0].second.shape(), (Shape{2, 3}));
  EXPECT_EQ(r->tensors[0].second.ToVector(), (std::vector<double>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(r->tensors[1].second.dtype(), DType::kFloat64);
  EXPECT_EQ(r->tensors[2].second.ToInt64Vector(), (std::vector<int64_t>{7, -8}));
  EXPECT_EQ(r->tensors[3].second.shape(), (Shape{0, 4}));
  EXPECT_EQ(r->Get("t")->ToVector(), (std::vector<double>{1, 4, 2, 5, 3, 6}));
  EXPECT_EQ(r->metadata.at("epoch"), "3");
  absl::StatusOr<std::map<std::string, std::string>> meta = ReadSafetensorsMetadata(path);
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(*meta, f.metadata);
  EXPECT_FALSE(r->Get("nope").ok());
}

TEST(Safetensors, ByteLayoutFollowsTheSpec) {
  TensorFile f;
  f.tensors = {{"x", Tensor::FromVector({1.0}, {1})}};
  absl::StatusOr<std::string> bytes = EncodeSafetensors(f);
  ASSERT_TRUE(bytes.ok());
  uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= uint64_t(uint8_t((*bytes)[i])) << (8 * i);
  EXPECT_EQ((8 + n) % 8, 0u);
  EXPECT_EQ(bytes->size(), 8 + n + 4);
  std::string header = bytes->substr(8, n);
  EXPECT_THAT(header, ::testing::HasSubstr(R"("x":{"data_offsets":[0,4],"dtype":"F32","shape":[1]})"));
  float v;
  std::memcpy(&v, bytes->data() + 8 + n, 4);
  EXPECT_EQ(v, 1.0f);
}

// A header is little-endian length + JSON; the data bytes follow.
std::string WithHeader(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + json + data;
}

TEST(Safetensors, WrongJsonTypesInTheHeaderAreDataLoss) {
  const std::string four(4, '\0');
  ASSERT_TRUE(DecodeSafetensors(
                  WithHeader(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", four),
                  "f")
                  .ok());
  for (const std::string json : {
           R"({"x":{"dtype":7,"shape":[1],"data_offsets":[0,4]}})",
           R"({"x":{"dtype":"F32","shape":"1","data_offsets":[0,4]}})",
           R"({"x":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}})",
           R"({"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}})",
           R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
           R"({"x":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}})",
           R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[-4,4]}})",
           R"({"x":{"dtype":"F32","shape":[1],"data_offsets":{"a":1,"b":2}}})",
           R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}})",
           R"({"x":[1,2,3]})",
       }) {
    absl::StatusOr<TensorFile> f = DecodeSafetensors(WithHeader(json, four), "f");
    EXPECT_EQ(f.status().code(), absl::StatusCode::kDataLoss) << json << ": " << f.status();
  }
}

TEST(Safetensors, CorruptFilesGiveClearErrors) {
  EXPECT_EQ(DecodeSafetensors("abc", "f").status().code(), absl::StatusCode::kDataLoss);
  std::string huge(8, '\xff');
  EXPECT_THAT(std::string(DecodeSafetensors(huge, "f").status().message()),
              ::testing::HasSubstr("truncated"));
  TensorFile f;
  f.tensors = {{"x", Tensor::FromVector({1, 2}, {2})}};
  std::string bytes = *EncodeSafetensors(f);
  EXPECT_EQ(DecodeSafetensors(bytes.substr(0, bytes.size() - 1), "f").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ReadSafetensors(TmpPath("missing.safetensors")).status().code(),
            absl::StatusCode::kNotFound);
  const std::string cut = TmpPath("cut.safetensors");
  ASSERT_TRUE(WriteFileAtomically(cut, bytes.substr(0, 12)).ok());
  EXPECT_EQ(ReadSafetensorsMetadata(cut).status().code(), absl::StatusCode::kDataLoss);
  TensorFile dup;
  dup.tensors = {{"x", Tensor::Zeros({1})}, {"x", Tensor::Zeros({1})}};
  EXPECT_FALSE(EncodeSafetensors(dup).ok());
}

TEST(Safetensors, ALongNameInADamagedEntryIsQuotedOnlyBriefly) {
  // The file is not ours: its names appear in errors shortened, whichever check refuses it.
  const std::string name(5000, 'n');
  absl::StatusOr<TensorFile> f = DecodeSafetensors(
      WithHeader(R"({")" + name + R"(":{"dtype":"F32","shape":[1],"data_offsets":[0,8]}})",
                 std::string(4, '\0')),
      "f");
  EXPECT_EQ(f.status().code(), absl::StatusCode::kDataLoss) << f.status();
  EXPECT_THAT(std::string(f.status().message()), ::testing::HasSubstr("data_offsets"));
  EXPECT_LT(f.status().message().size(), 400u) << f.status();
}

TEST(Safetensors, AtomicWriteReplacesWholeFile) {
  std::string path = TmpPath("atomic.bin");
  ASSERT_TRUE(WriteFileAtomically(path, "first version, longer").ok());
  ASSERT_TRUE(WriteFileAtomically(path, "second").ok());
  std::ifstream in(path);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(s, "second");
  EXPECT_FALSE(WriteFileAtomically("/nonexistent-dir/x", "y").ok());
}

}  // namespace
}  // namespace mt::io
