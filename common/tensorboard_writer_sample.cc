// Writes a TensorBoard event file with known contents into the folder given as argv[1], for
// tensorboard_writer_test.py to read back with its own reader. Prints the file's path.
#include <cstdio>
#include <string>

#include "common/png.h"
#include "common/tensorboard_writer.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: tensorboard_writer_sample DIR\n");
    return 2;
  }
  absl::StatusOr<std::unique_ptr<mt::TensorBoardWriter>> w =
      mt::TensorBoardWriter::Create(argv[1], /*wall_time=*/1700000000.25);
  auto check = [](const absl::Status& s) {
    if (!s.ok()) {
      std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
      std::exit(1);
    }
  };
  check(w.status());
  for (int step = 1; step <= 5; ++step) {
    check((*w)->AddScalar("train/loss", step, 1.0 / step, 1700000000.5 + step));
  }
  check((*w)->AddScalar("epoch/valid_accuracy", 5, 0.875, 1700000010.0));
  // A 5x3 gradient: pixel (x, y) = 40 * x + 80 * y.
  mt::io::GrayImage img;
  img.width = 5;
  img.height = 3;
  for (int y = 0; y < 3; ++y) {
    for (int x = 0; x < 5; ++x) img.pixels.push_back(static_cast<uint8_t>(40 * x + 80 * y));
  }
  absl::StatusOr<std::string> png = mt::io::EncodeGrayPng(img);
  check(png.status());
  check((*w)->AddImage("activations/conv1", 5, *png, 5, 3, 1, 1700000010.5));
  std::printf("%s\n", (*w)->path().c_str());
  return 0;
}
