#include "client/file_download.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace mt::client {
namespace {

using ::testing::HasSubstr;

std::string TmpPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

v1::FileChunk Chunk(const std::string& data, int64_t offset, int64_t total) {
  v1::FileChunk c;
  c.set_data(data);
  c.set_offset(offset);
  c.set_total_size(total);
  return c;
}

TEST(FileDownload, ChunksBecomeTheFileOnlyOnCommit) {
  const std::string path = TmpPath("model.safetensors");
  absl::StatusOr<std::unique_ptr<FileDownload>> d = FileDownload::Start(path);
  ASSERT_TRUE(d.ok()) << d.status();
  const std::string temp = (*d)->temp_path();
  ASSERT_TRUE((*d)->Add(Chunk("hello ", 0, 11)).ok());
  ASSERT_TRUE((*d)->Add(Chunk("world", 6, 0)).ok());  // later chunks may omit the size
  EXPECT_FALSE(Exists(path));
  absl::StatusOr<int64_t> size = (*d)->Commit();
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 11);
  EXPECT_EQ(ReadAll(path), "hello world");
  EXPECT_FALSE(Exists(temp));
  d->reset();
  EXPECT_TRUE(Exists(path));
}

TEST(FileDownload, ATruncatedDownloadLeavesNothingBehind) {
  const std::string path = TmpPath("short.safetensors");
  std::string temp;
  {
    absl::StatusOr<std::unique_ptr<FileDownload>> d = FileDownload::Start(path);
    ASSERT_TRUE(d.ok());
    temp = (*d)->temp_path();
    ASSERT_TRUE((*d)->Add(Chunk("abc", 0, 10)).ok());
    absl::StatusOr<int64_t> size = (*d)->Commit();
    ASSERT_FALSE(size.ok());
    EXPECT_EQ(size.status().message(), "the download stopped after 3 of 10 bytes");
    EXPECT_TRUE(Exists(temp));
  }
  EXPECT_FALSE(Exists(temp));
  EXPECT_FALSE(Exists(path));
}

TEST(FileDownload, BadChunksAreRejected) {
  auto error = [](std::vector<v1::FileChunk> chunks) -> std::string {
    absl::StatusOr<std::unique_ptr<FileDownload>> d = FileDownload::Start(TmpPath("bad"));
    EXPECT_TRUE(d.ok());
    for (const v1::FileChunk& c : chunks) {
      absl::Status s = (*d)->Add(c);
      if (!s.ok()) return std::string(s.message());
    }
    absl::StatusOr<int64_t> r = (*d)->Commit();
    return r.ok() ? "<ok>" : std::string(r.status().message());
  };
  EXPECT_EQ(error({Chunk("ab", 0, 0)}), "the daemon's first chunk does not give the file's size");
  EXPECT_EQ(error({Chunk("ab", 2, 4)}), "chunk at byte 2 where byte 0 was expected");
  EXPECT_EQ(error({Chunk("ab", 0, 4), Chunk("cd", 1, 4)}),
            "chunk at byte 1 where byte 2 was expected");
  EXPECT_EQ(error({Chunk("abcde", 0, 4)}), "the daemon sent more than the announced 4 bytes");
  EXPECT_EQ(error({Chunk("ab", 0, 4), Chunk("cd", 2, 5)}),
            "the file's size changed from 4 to 5 bytes mid-download");
  EXPECT_EQ(error({}), "the daemon sent no data");
}

TEST(FileDownload, UnwritableFolder) {
  absl::StatusOr<std::unique_ptr<FileDownload>> d =
      FileDownload::Start("/nonexistent-dir/m.safetensors");
  ASSERT_FALSE(d.ok());
  EXPECT_THAT(std::string(d.status().message()), HasSubstr("/nonexistent-dir/m.safetensors"));
}

}  // namespace
}  // namespace mt::client
