#include "client/activations.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <png.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace mt::client {
namespace {

using ::testing::HasSubstr;

v1::ActivationChunk Chunk(const std::string& layer, std::vector<int64_t> shape, int64_t offset,
                          std::vector<float> data, bool last, int64_t label = -1) {
  v1::ActivationChunk c;
  c.set_layer(layer);
  for (int64_t d : shape) c.add_shape(d);
  c.set_offset(offset);
  for (float v : data) c.add_data(v);
  c.set_last(last);
  c.set_label(label);
  return c;
}

std::string ErrorOf(const std::vector<v1::ActivationChunk>& chunks) {
  ActivationAssembler a;
  for (const v1::ActivationChunk& c : chunks) {
    absl::Status s = a.Add(c);
    if (!s.ok()) return std::string(s.message());
  }
  absl::StatusOr<std::vector<LayerTensor>> r = a.Finish();
  return r.ok() ? "<ok>" : std::string(r.status().message());
}

TEST(ActivationAssembler, InOrderChunksAndSeveralLayers) {
  ActivationAssembler a;
  ASSERT_TRUE(a.Add(Chunk("conv1", {1, 2, 2}, 0, {1, 2}, false, 7)).ok());
  ASSERT_TRUE(a.Add(Chunk("conv1", {}, 2, {3, 4}, true, 0)).ok());
  ASSERT_TRUE(a.Add(Chunk("fc", {1, 3}, 0, {5, 6, 7}, true, 0)).ok());
  EXPECT_EQ(a.label(), 7);  // from the first chunk; later ones may leave it 0
  absl::StatusOr<std::vector<LayerTensor>> r = a.Finish();
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].layer, "conv1");
  EXPECT_EQ((*r)[0].shape, (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ((*r)[0].data, (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ((*r)[1].layer, "fc");
  EXPECT_EQ((*r)[1].data, (std::vector<float>{5, 6, 7}));
}

TEST(ActivationAssembler, OutOfOrderOffsetsAndInterleavedLayersArePlacedByOffset) {
  ActivationAssembler a;
  ASSERT_TRUE(a.Add(Chunk("x", {6}, 4, {5, 6}, false)).ok());
  ASSERT_TRUE(a.Add(Chunk("y", {1}, 0, {9}, true)).ok());
  ASSERT_TRUE(a.Add(Chunk("x", {6}, 0, {1, 2}, false)).ok());
  ASSERT_TRUE(a.Add(Chunk("x", {}, 2, {3, 4}, true)).ok());
  absl::StatusOr<std::vector<LayerTensor>> r = a.Finish();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((*r)[0].data, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ((*r)[1].data, (std::vector<float>{9}));
}

TEST(ActivationAssembler, EmptyTensorAndEmptyLastChunk) {
  ActivationAssembler a;
  ASSERT_TRUE(a.Add(Chunk("e", {1, 0}, 0, {}, true)).ok());
  ASSERT_TRUE(a.Add(Chunk("z", {2}, 0, {1, 2}, false)).ok());
  ASSERT_TRUE(a.Add(Chunk("z", {}, 2, {}, true)).ok());
  ASSERT_TRUE(a.Finish().ok());
}

TEST(ActivationAssembler, AllLayersTogetherAreBounded) {
  ActivationAssembler a(/*max_values=*/10);
  ASSERT_TRUE(a.Add(Chunk("a", {2, 3}, 0, {}, false)).ok());
  EXPECT_EQ(std::string(a.Add(Chunk("b", {5}, 0, {}, false)).message()),
            "layer b: its 5 values would take the answer past 10 values in all");
  EXPECT_TRUE(a.Add(Chunk("c", {4}, 0, {}, false)).ok());
  EXPECT_EQ(std::string(a.Add(Chunk("d", {11}, 0, {}, false)).message()),
            "layer d: shape [11] is negative or larger than 10 values");
}

TEST(ActivationAssembler, InconsistentStreamsAreRejectedWithTheLayerNamed) {
  EXPECT_EQ(ErrorOf({Chunk("", {1}, 0, {1}, true)}), "the daemon sent a chunk with no layer name");
  EXPECT_EQ(ErrorOf({Chunk("a", {}, 0, {1}, true)}), "layer a: its first chunk carries no shape");
  EXPECT_EQ(ErrorOf({Chunk("a", {2, -1}, 0, {}, true)}),
            "layer a: shape [2, -1] is negative or larger than 268435456 values");
  EXPECT_EQ(ErrorOf({Chunk("a", {1 << 20, 1 << 20}, 0, {}, true)}),
            "layer a: shape [1048576, 1048576] is negative or larger than 268435456 values");
  EXPECT_EQ(ErrorOf({Chunk("a", {2}, 1, {1, 2}, true)}),
            "layer a: chunk at offset 1 with 2 values runs outside the tensor's 2 values");
  EXPECT_EQ(ErrorOf({Chunk("a", {2}, -1, {1}, true)}),
            "layer a: chunk at offset -1 with 1 values runs outside the tensor's 2 values");
  EXPECT_EQ(ErrorOf({Chunk("a", {4}, 1, {1, 2}, false), Chunk("a", {}, 0, {1, 2}, false)}),
            "layer a: chunk at offset 0 overlaps values already received");
  EXPECT_EQ(ErrorOf({Chunk("a", {4}, 0, {1, 2}, false), Chunk("a", {}, 1, {1}, false)}),
            "layer a: chunk at offset 1 overlaps values already received");
  EXPECT_EQ(ErrorOf({Chunk("a", {4}, 0, {1, 2}, true)}),
            "layer a: its last chunk came with 2 of 4 values received");
  EXPECT_EQ(ErrorOf({Chunk("a", {1}, 0, {1}, true), Chunk("a", {}, 0, {}, true)}),
            "layer a: a chunk after its last one");
  EXPECT_EQ(ErrorOf({Chunk("a", {2}, 0, {1}, false), Chunk("a", {3}, 1, {1}, true)}),
            "layer a: shape changed from [2] to [3]");
  EXPECT_EQ(ErrorOf({Chunk("a", {2}, 0, {1}, false)}),
            "the stream ended before layer a was complete (1 of 2 values)");
}

TEST(LayerFileStem, SafeNames) {
  EXPECT_EQ(LayerFileStem("conv1"), "conv1");
  EXPECT_EQ(LayerFileStem("block.1-relu_x"), "block.1-relu_x");
  EXPECT_EQ(LayerFileStem("a/b c"), "a_b_c");
  EXPECT_EQ(LayerFileStem("../etc"), "layer_.._etc");
  EXPECT_EQ(LayerFileStem(""), "layer_");
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(WriteActivationFiles, RawJsonAndPictures) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp ? tmp : "/tmp") + "/acts/nested";
  std::vector<LayerTensor> layers = {
      {"conv1", {1, 2, 3, 3}, std::vector<float>(18)},
      {"conv1d", {1, 2, 5}, std::vector<float>(10)},
      {"fc", {1, 2}, {1.5f, -2.0f}},
      {"a/b", {1}, {0}},
      {"a_b", {1}, {0}},
  };
  for (int i = 0; i < 18; ++i) layers[0].data[i] = static_cast<float>(i);
  absl::StatusOr<std::vector<WrittenLayer>> w = WriteActivationFiles(dir, layers);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_EQ(w->size(), 5u);
  EXPECT_EQ((*w)[0].paths, (std::vector<std::string>{dir + "/conv1.f32", dir + "/conv1.json",
                                                     dir + "/conv1.png"}));
  EXPECT_EQ((*w)[1].paths.size(), 3u);  // (N, C, L) gets a picture too
  EXPECT_EQ((*w)[2].paths, (std::vector<std::string>{dir + "/fc.f32", dir + "/fc.json"}));
  EXPECT_EQ((*w)[3].paths[0], dir + "/a_b.f32");
  EXPECT_EQ((*w)[4].paths[0], dir + "/a_b-2.f32");  // not overwritten

  // Raw little-endian float32.
  std::string raw = ReadAll(dir + "/fc.f32");
  ASSERT_EQ(raw.size(), 8u);
  const unsigned char expected[] = {0x00, 0x00, 0xC0, 0x3F, 0x00, 0x00, 0x00, 0xC0};
  EXPECT_EQ(std::memcmp(raw.data(), expected, 8), 0);

  nlohmann::json meta = nlohmann::json::parse(ReadAll(dir + "/conv1.json"));
  EXPECT_EQ(meta["shape"], nlohmann::json({1, 2, 3, 3}));
  EXPECT_EQ(meta["dtype"], "float32");
  EXPECT_EQ(meta["layer"], "conv1");

  // conv1's picture: 2 maps of 3x3 side by side, each scaled by ceil(64/3) = 22.
  png_image png;
  std::memset(&png, 0, sizeof(png));
  png.version = PNG_IMAGE_VERSION;
  ASSERT_TRUE(png_image_begin_read_from_file(&png, (dir + "/conv1.png").c_str())) << png.message;
  EXPECT_EQ(png.width, 2u * 66 + 3 * 2);
  EXPECT_EQ(png.height, 1u * 66 + 2 * 2);
  png_image_free(&png);
}

TEST(WriteActivationFiles, OutIsAFile) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string file = std::string(tmp ? tmp : "/tmp") + "/plain-file";
  std::ofstream(file) << "x";
  absl::StatusOr<std::vector<WrittenLayer>> w = WriteActivationFiles(file, {{"fc", {1}, {0}}});
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(std::string(w.status().message()), HasSubstr("plain-file"));
}

}  // namespace
}  // namespace mt::client
