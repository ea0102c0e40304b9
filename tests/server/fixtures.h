// Small synthetic datasets written to disk in the real file formats, so integration tests run a
// real daemon on real files without the downloaded datasets.
#ifndef MT_TESTS_SERVER_FIXTURES_H_
#define MT_TESTS_SERVER_FIXTURES_H_

#include <string>

namespace mt::testing {

// Writes <dir>/mnist/{train,t10k}-{images,labels}-idx{3,1}-ubyte (uncompressed IDX) with
// `train` and `test` 28x28 images whose class is a bright 4x4 block at a class-specific place.
void WriteSyntheticMnist(const std::string& dir, int train, int test, unsigned seed);

// A fresh directory under TEST_TMPDIR.
std::string FreshDir(const std::string& name);

}  // namespace mt::testing

#endif  // MT_TESTS_SERVER_FIXTURES_H_
