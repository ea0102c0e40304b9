// Scratch directories for the integration tests. Their datasets come from
// //engine/data:mnist_fixture (data::testing::SyntheticDigits / WriteMnistIdx).
#ifndef MT_TESTS_SERVER_FIXTURES_H_
#define MT_TESTS_SERVER_FIXTURES_H_

#include <string>

namespace mt::testing {

// A fresh directory under TEST_TMPDIR.
std::string FreshDir(const std::string& name);

// A socket listening on 127.0.0.1 at a port the kernel picked, so that a daemon asked for
// `listen` ("127.0.0.1:PORT") finds it taken. fd is -1, and `why` names the call that failed,
// when it could not be made; the caller closes fd.
struct HeldPort {
  int fd = -1;
  std::string listen;
  std::string why;
};
HeldPort ListenOnLoopback();

}  // namespace mt::testing

#endif  // MT_TESTS_SERVER_FIXTURES_H_
