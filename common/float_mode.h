// Subnormal floats flushed to zero in the programs that train (mt-train, the daemon, mt-bench),
// unless the user asks to keep them.
//
// An operation whose input or result is subnormal (|x| < 1.2e-38 in float32) takes a
// microcode assist on x86, over a hundred cycles instead of a few. Training produces such
// values in long-unchanged momentum buffers and tiny gradients: LeNet-5's SGD step over its
// 62k parameters took 66 us with them and 26 us flushed (mt-bench, one thread). TensorFlow's
// CPU kernels flush them the same way; PyTorch offers torch.set_flush_denormal(True). Values
// that small are far below anything a float32 model resolves; float64 keeps its subnormals
// below 2.2e-308 only, which no gradient check reaches.
//
// The mode is per thread (x86's MXCSR register: flush-to-zero for results, denormals-are-zero
// for inputs) and a new thread starts with its creator's, so setting it in main() before any
// thread starts sets it for every thread the program runs.
#ifndef MT_COMMON_FLOAT_MODE_H_
#define MT_COMMON_FLOAT_MODE_H_

namespace mt {

// Call in main() before any thread starts. Flushes subnormals on this thread (and so on every
// thread it starts later) unless the environment has MT_DENORMALS=keep, which keeps IEEE
// behaviour. Returns whether they are flushed now; false also on a CPU without the control.
bool FlushDenormalsUnlessKept();

// Whether this thread flushes subnormal results to zero now.
bool DenormalsFlushed();

}  // namespace mt

#endif  // MT_COMMON_FLOAT_MODE_H_
