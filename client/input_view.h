// The input a prediction or activation ran on, shown in the terminal and saved beside the
// results: the daemon sends it back (v1::PredictResponse / ActivationChunk input_*), so even a
// held-out example the client never had can be looked at.
#ifndef MT_CLIENT_INPUT_VIEW_H_
#define MT_CLIENT_INPUT_VIEW_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/png.h"

namespace mt::client {

// What the daemon echoed: pixel values (any scale) with their shape, or tokens.
struct InputEcho {
  std::vector<int64_t> shape;
  std::vector<float> values;
  std::vector<std::string> tokens;
};

// An image input ([H, W] or [1, H, W]) as 8-bit gray, its values stretched from their minimum
// (black) to their maximum (white): the model's normalisation is undone up to scale, which is
// all a picture needs. InvalidArgument for any other shape or a values/shape mismatch.
absl::StatusOr<io::GrayImage> EchoImage(const InputEcho& echo);

// The picture as text, two characters per pixel (terminal cells are about twice as tall as
// wide), darkest ' ' to lightest '@', one line per row, each ending in "\n".
std::string AsciiPicture(const io::GrayImage& image);

// Tokens as one line: "input tokens: the film is <unk> good".
std::string TokensLine(const std::vector<std::string>& tokens);

// Writes DIR/input.png (an image) or DIR/input.txt (tokens, one line) and returns the path;
// nothing (and "") when the echo is empty.
absl::StatusOr<std::string> SaveInput(const std::string& dir, const InputEcho& echo);
// Writes DIR/input.png from an image already prepared here (--image).
absl::StatusOr<std::string> SaveInputImage(const std::string& dir, const io::GrayImage& image);

}  // namespace mt::client

#endif  // MT_CLIENT_INPUT_VIEW_H_
