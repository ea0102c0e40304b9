// Test helpers shared by the tests that run real mt-train processes (mt_train_workers_test,
// mt_train_launchers_test): the binary's path, a tiny synthetic MNIST folder, child processes
// with their output in files, and the distance between two checkpoints' weights.
#ifndef MT_ENGINE_TRAIN_MT_TRAIN_PROCESS_TESTING_H_
#define MT_ENGINE_TRAIN_MT_TRAIN_PROCESS_TESTING_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "engine/io/safetensors.h"

namespace mt::train::testing {

std::string Tmp();      // $TEST_TMPDIR
std::string MtTrain();  // the mt-train binary in the test's runfiles

// A folder with MNIST IDX files of 96 training and 30 held-out synthetic digits, written once.
const std::string& DataDir();

std::string ReadFile(const std::string& path);

// A child process with stdout and stderr in files, in a process group of its own.
struct Child {
  pid_t pid = -1;
  std::string out, err;
  int status = -1;

  // Waits up to timeout_s; false (after SIGKILL of its process group: a launcher and the
  // workers it started) when it ran longer.
  bool Wait(int timeout_s);
  int exit_code() const;
  std::string stdout_text() const { return ReadFile(out); }
  std::string stderr_text() const { return ReadFile(err); }
};

// Starts args (args[0] a path) with output in $TEST_TMPDIR/name.{out,err}. The caller's SLURM_*
// variables are cleared first (a CI job inside a Slurm allocation would otherwise hand every
// child its rank); then `env` (NAME=VALUE entries) is set, and OMP_WAIT_POLICY=PASSIVE.
Child Spawn(const std::string& name, std::vector<std::string> args,
            const std::vector<std::string>& env = {});

// The largest absolute difference between the model weights (not "optim.*") of a and b;
// *compared counts the tensors compared.
double MaxAbsDiff(const io::TensorFile& a, const io::TensorFile& b, int* compared);

}  // namespace mt::train::testing

#endif  // MT_ENGINE_TRAIN_MT_TRAIN_PROCESS_TESTING_H_
