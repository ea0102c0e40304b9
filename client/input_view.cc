#include "client/input_view.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/activations.h"
#include "common/atomic_file.h"

namespace mt::client {

absl::StatusOr<io::GrayImage> EchoImage(const InputEcho& echo) {
  std::vector<int64_t> shape = echo.shape;
  if (shape.size() == 3 && shape[0] == 1) shape.erase(shape.begin());
  if (shape.size() != 2 || shape[0] <= 0 || shape[1] <= 0 || shape[0] > 4096 || shape[1] > 4096 ||
      static_cast<int64_t>(echo.values.size()) != shape[0] * shape[1]) {
    return absl::InvalidArgumentError(absl::StrCat("the daemon's input of shape [",
                                                   absl::StrJoin(echo.shape, ", "), "] with ",
                                                   echo.values.size(), " values is not a picture"));
  }
  float lo = 0, hi = 0;
  bool any = false;
  for (float v : echo.values) {
    if (!std::isfinite(v)) continue;
    lo = any ? std::min(lo, v) : v;
    hi = any ? std::max(hi, v) : v;
    any = true;
  }
  io::GrayImage img;
  img.height = shape[0];
  img.width = shape[1];
  img.pixels.reserve(echo.values.size());
  for (float v : echo.values) {
    const double t = hi > lo && std::isfinite(v) ? (v - lo) / (hi - lo) : 0;
    img.pixels.push_back(static_cast<uint8_t>(std::lround(255 * t)));
  }
  return img;
}

std::string AsciiPicture(const io::GrayImage& image) {
  static constexpr char kRamp[] = " .:-=+*#%@";
  constexpr int kLevels = sizeof(kRamp) - 1;
  std::string out;
  for (int64_t y = 0; y < image.height; ++y) {
    std::string line;
    for (int64_t x = 0; x < image.width; ++x) {
      const char c = kRamp[std::min(kLevels - 1, image.at(x, y) * kLevels / 256)];
      line.append(2, c);
    }
    line.erase(line.find_last_not_of(' ') + 1);
    absl::StrAppend(&out, line, "\n");
  }
  return out;
}

std::string TokensLine(const std::vector<std::string>& tokens) {
  return absl::StrCat("input tokens: ", absl::StrJoin(tokens, " "));
}

absl::StatusOr<std::string> SaveInputImage(const std::string& dir, const io::GrayImage& image) {
  if (absl::Status s = MakeDirs(dir); !s.ok()) return s;
  absl::StatusOr<std::string> png = io::EncodeGrayPng(image);
  if (!png.ok()) return png.status();
  const std::string path = absl::StrCat(dir, "/input.png");
  if (absl::Status s = io::WriteFileAtomically(path, *png); !s.ok()) return s;
  return path;
}

absl::StatusOr<std::string> SaveInput(const std::string& dir, const InputEcho& echo) {
  if (!echo.tokens.empty()) {
    if (absl::Status s = MakeDirs(dir); !s.ok()) return s;
    const std::string path = absl::StrCat(dir, "/input.txt");
    if (absl::Status s =
            io::WriteFileAtomically(path, absl::StrCat(absl::StrJoin(echo.tokens, " "), "\n"));
        !s.ok()) {
      return s;
    }
    return path;
  }
  if (echo.values.empty()) return std::string();
  absl::StatusOr<io::GrayImage> img = EchoImage(echo);
  if (!img.ok()) return img.status();
  return SaveInputImage(dir, *img);
}

}  // namespace mt::client
