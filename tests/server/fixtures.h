// Scratch directories for the integration tests. Their datasets come from
// //engine/data:mnist_fixture (data::testing::SyntheticDigits / WriteMnistIdx).
#ifndef MT_TESTS_SERVER_FIXTURES_H_
#define MT_TESTS_SERVER_FIXTURES_H_

#include <string>

namespace mt::testing {

// A fresh directory under TEST_TMPDIR.
std::string FreshDir(const std::string& name);

}  // namespace mt::testing

#endif  // MT_TESTS_SERVER_FIXTURES_H_
