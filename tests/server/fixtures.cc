#include "tests/server/fixtures.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

namespace mt::testing {
namespace {

void PutBigEndian(std::vector<uint8_t>& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<uint8_t>(v >> s));
}

void WriteSplit(const std::string& dir, const std::string& prefix, int n, std::mt19937& rng) {
  std::vector<uint8_t> images, labels;
  PutBigEndian(images, 2051);
  PutBigEndian(images, n);
  PutBigEndian(images, 28);
  PutBigEndian(images, 28);
  PutBigEndian(labels, 2049);
  PutBigEndian(labels, n);
  for (int i = 0; i < n; ++i) {
    const int k = static_cast<int>(rng() % 10);
    labels.push_back(static_cast<uint8_t>(k));
    std::vector<uint8_t> img(784);
    for (uint8_t& p : img) p = static_cast<uint8_t>(rng() % 50);
    const int r0 = 2 + (k / 5) * 12, c0 = 2 + (k % 5) * 5;
    for (int r = r0; r < r0 + 4; ++r) {
      for (int c = c0; c < c0 + 4; ++c) img[r * 28 + c] = 255;
    }
    images.insert(images.end(), img.begin(), img.end());
  }
  std::ofstream(dir + "/" + prefix + "-images-idx3-ubyte", std::ios::binary)
      .write(reinterpret_cast<const char*>(images.data()), images.size());
  std::ofstream(dir + "/" + prefix + "-labels-idx1-ubyte", std::ios::binary)
      .write(reinterpret_cast<const char*>(labels.data()), labels.size());
}

}  // namespace

void WriteSyntheticMnist(const std::string& dir, int train, int test, unsigned seed) {
  std::mt19937 rng(seed);
  std::filesystem::create_directories(dir + "/mnist");
  WriteSplit(dir + "/mnist", "train", train, rng);
  WriteSplit(dir + "/mnist", "t10k", test, rng);
}

std::string FreshDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace mt::testing
