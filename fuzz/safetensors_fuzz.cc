// libFuzzer target: the safetensors parser (checkpoints and exports come from disk, and a
// damaged or hostile file must give a Status, never a crash, a hang or a huge allocation).
// Built by scripts/fuzz.sh with clang++ -fsanitize=fuzzer,address.
#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<mt::io::TensorFile> file = mt::io::DecodeSafetensors(bytes, "fuzz");
  if (file.ok()) {
    // Whatever decodes must encode again and decode to the same names.
    absl::StatusOr<std::string> again = mt::io::EncodeSafetensors(*file);
    if (again.ok()) {
      absl::StatusOr<mt::io::TensorFile> back = mt::io::DecodeSafetensors(*again, "fuzz2");
      if (!back.ok() || back->tensors.size() != file->tensors.size()) __builtin_trap();
    }
  }
  return 0;
}
