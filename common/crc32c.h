// CRC-32C (Castagnoli), as TFRecord files use it: the checksum and TensorFlow's "masked" form,
// which keeps a CRC stored inside CRC'd data from looking like a checksum of itself.
#ifndef MT_COMMON_CRC32C_H_
#define MT_COMMON_CRC32C_H_

#include <cstddef>
#include <cstdint>

namespace mt {

uint32_t Crc32c(const void* data, size_t n);
// ((crc >> 15) | (crc << 17)) + 0xa282ead8, mod 2^32.
uint32_t MaskCrc32c(uint32_t crc);

}  // namespace mt

#endif  // MT_COMMON_CRC32C_H_
