// The version every mt program prints for --version (mt-client, mt-train, the daemon). One
// number for the whole repository: the programs are built and shipped together.
#ifndef MT_COMMON_VERSION_H_
#define MT_COMMON_VERSION_H_

namespace mt {

inline constexpr char kVersion[] = "0.1.0";

}  // namespace mt

#endif  // MT_COMMON_VERSION_H_
