// mt-client --image: any PNG or JPEG (any size; gray, gray+alpha, RGB or RGBA) made into the
// 28x28 grayscale picture MNIST models take, here in the client, with Debian's stb_image and
// stb_image_resize (libstb-dev). The daemon then only ever sees a small, well-formed PNG.
//
// Steps: decode; colour becomes luma (0.299 R + 0.587 G + 0.114 B, as PIL's convert("L") and
// the daemon's own PNG reader compute it); transparent pixels are composited onto black,
// MNIST's background (as the daemon does); a non-square picture is padded to a square with its
// border's mean gray, so the digit keeps its shape; then it is resized (Mitchell filter when
// shrinking). MNIST digits are light on a dark background: a picture whose border is light
// most likely shows a dark digit on paper, and gets a hint (or --invert).
#ifndef MT_CLIENT_IMAGE_INPUT_H_
#define MT_CLIENT_IMAGE_INPUT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/png.h"

namespace mt::client {

// A picture's pixels: 50 megapixels is far beyond any photo of a digit, and bounds the memory a
// wrong file can make the client allocate (checked from the header, before decoding).
inline constexpr int64_t kMaxImagePixels = 50'000'000;

struct PreparedImage {
  io::GrayImage image;  // size x size, after --invert
  std::string png;      // `image` encoded: what is sent to the daemon
  int64_t source_width = 0, source_height = 0;
  int source_channels = 0;  // 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA
  // The border of the picture (before --invert) is light: probably a dark digit on white.
  bool light_background = false;
};

// `bytes`: the file's contents; `name`: how errors call the file (the path the user typed).
// InvalidArgument naming `name` when it is not a PNG or JPEG, cannot be decoded, or is larger
// than kMaxImagePixels.
absl::StatusOr<PreparedImage> PrepareDigitImage(const std::string& bytes, const std::string& name,
                                                bool invert, int size = 28);

// The mean gray of the image's outermost rows and columns.
double BorderMean(const io::GrayImage& image);

// The hint printed when the background looks wrong for the model, or "" when it looks right.
std::string BackgroundHint(const PreparedImage& prepared, bool inverted);

}  // namespace mt::client

#endif  // MT_CLIENT_IMAGE_INPUT_H_
