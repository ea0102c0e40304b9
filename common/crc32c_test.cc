#include "common/crc32c.h"

#include <string>

#include "common/tensorboard_writer.h"
#include "gtest/gtest.h"

namespace mt {
namespace {

TEST(Crc32c, KnownValues) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);  // the check value (RFC 3720, B.4)
  EXPECT_EQ(Crc32c("", 0), 0u);
  const std::string zeros(32, '\0');
  EXPECT_EQ(Crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);  // RFC 3720 B.4: 32 zero bytes
  const std::string ones(32, '\xFF');
  EXPECT_EQ(Crc32c(ones.data(), ones.size()), 0x62A8AB43u);  // 32 bytes of 0xFF
}

TEST(Crc32c, MaskRotatesAndAddsTheConstant) {
  EXPECT_EQ(MaskCrc32c(0), 0xA282EAD8u);
  EXPECT_EQ(MaskCrc32c(0x00008000u), 0xA282EAD9u);  // bit 15 rotates to bit 0
  EXPECT_EQ(MaskCrc32c(1), 0xA284EAD8u);            // bit 0 rotates to bit 17
}

TEST(TensorBoardWriter, FramesARecordAsTfRecord) {
  const std::string r = TensorBoardWriter::FrameRecord("abc");
  ASSERT_EQ(r.size(), 8u + 4 + 3 + 4);
  EXPECT_EQ(r.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
  auto u32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(r[at])) |
           static_cast<uint32_t>(static_cast<unsigned char>(r[at + 1])) << 8 |
           static_cast<uint32_t>(static_cast<unsigned char>(r[at + 2])) << 16 |
           static_cast<uint32_t>(static_cast<unsigned char>(r[at + 3])) << 24;
  };
  EXPECT_EQ(u32(8), MaskCrc32c(Crc32c(r.data(), 8)));
  EXPECT_EQ(r.substr(12, 3), "abc");
  EXPECT_EQ(u32(15), MaskCrc32c(Crc32c("abc", 3)));
}

}  // namespace
}  // namespace mt
