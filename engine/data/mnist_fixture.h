// A synthetic MNIST for tests across the tree (trainer, job manager, daemon): images whose class
// is a bright 4x4 block at a class-specific place on dim noise, so a network learns them in an
// epoch or two. Never the real data.
#ifndef MT_ENGINE_DATA_MNIST_FIXTURE_H_
#define MT_ENGINE_DATA_MNIST_FIXTURE_H_

#include <cstdint>
#include <string>

#include "engine/data/mnist.h"

namespace mt::data::testing {

// n 28x28 images with labels, the same for the same seed.
MnistSplit SyntheticDigits(int64_t n, uint64_t seed);

// Writes <dir>/mnist/{train,t10k}-{images,labels}-idx{3,1}-ubyte as uncompressed IDX files,
// the layout LoadMnist(dir, ...) reads. Fails the running test on I/O errors.
void WriteMnistIdx(const std::string& dir, const MnistSplit& train, const MnistSplit& test);

}  // namespace mt::data::testing

#endif  // MT_ENGINE_DATA_MNIST_FIXTURE_H_
