#include "engine/data/mnist_fixture.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace mt::data::testing {
namespace {

void PutBigEndian(std::string* out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(v >> shift));
}

void WriteIdx(const std::string& path, uint32_t magic, const std::vector<uint32_t>& dims,
              const std::string& data) {
  std::string bytes;
  PutBigEndian(&bytes, magic);
  for (uint32_t d : dims) PutBigEndian(&bytes, d);
  bytes += data;
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  EXPECT_TRUE(f.good()) << "cannot write " << path;
}

void WriteSplit(const std::string& prefix, const MnistSplit& s) {
  const uint32_t n = static_cast<uint32_t>(s.count);
  WriteIdx(prefix + "-images-idx3-ubyte", kIdxImagesMagic,
           {n, static_cast<uint32_t>(s.rows), static_cast<uint32_t>(s.cols)},
           std::string(s.pixels.begin(), s.pixels.end()));
  std::string labels;
  for (int64_t l : s.labels) labels.push_back(static_cast<char>(l));
  WriteIdx(prefix + "-labels-idx1-ubyte", kIdxLabelsMagic, {n}, labels);
}

}  // namespace

MnistSplit SyntheticDigits(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  MnistSplit s;
  s.count = n;
  s.rows = s.cols = 28;
  s.pixels.resize(n * 784);
  s.labels.resize(n);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t k = static_cast<int64_t>(rng() % 10);
    s.labels[i] = k;
    for (int64_t p = 0; p < 784; ++p) s.pixels[i * 784 + p] = static_cast<uint8_t>(rng() % 60);
    const int64_t r0 = 2 + (k / 5) * 12, c0 = 2 + (k % 5) * 5;
    for (int64_t r = r0; r < r0 + 4; ++r) {
      for (int64_t c = c0; c < c0 + 4; ++c) s.pixels[i * 784 + r * 28 + c] = 255;
    }
  }
  return s;
}

void WriteMnistIdx(const std::string& dir, const MnistSplit& train, const MnistSplit& test) {
  std::filesystem::create_directories(dir + "/mnist");
  WriteSplit(dir + "/mnist/train", train);
  WriteSplit(dir + "/mnist/t10k", test);
}

}  // namespace mt::data::testing
