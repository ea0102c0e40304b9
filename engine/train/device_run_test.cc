// The trainer's device path (device_run.h) without a GPU: on "the CPU in disguise"
// (host_device_testing.h), a run must keep every tensor on the device (a tensor left on the CPU
// fails the ops' same-device checks) and give the CPU's results bit for bit, checkpoints and
// resumes included. On a GPU machine the same run on cuda:0 is compared with tolerances.
#include "engine/train/device_run.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "engine/cuda/runtime.h"
#include "engine/data/mnist_fixture.h"
#include "engine/host_device_testing.h"
#include "engine/train/trainer.h"

namespace mt::train {
namespace {

using data::testing::SyntheticDigits;

std::string TmpDir(const std::string& name) {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string dir = std::string(base ? base : "/tmp") + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

TrainConfig Config(const std::string& model, int64_t epochs) {
  TrainConfig c = DefaultConfig("mnist", model);
  c.epochs = epochs;
  c.batch_size = 16;
  c.seed = 11;
  c.threads = 1;  // the disguised device's kernels run on one thread: so does the CPU run
  return c;
}

absl::StatusOr<TrainResult> TrainOn(Device device, const TrainConfig& c, models::Model* net,
                                    const Dataset& train, const Dataset& valid,
                                    const std::string& checkpoint_dir = "") {
  Trainer t(c, net, &train, &valid);
  t.set_device(device);
  if (!checkpoint_dir.empty()) t.set_checkpoint_dir(checkpoint_dir);
  return t.Run();
}

TEST(ParseDevice, AcceptsCpuAndCudaIndicesOnly) {
  EXPECT_EQ(*ParseDevice("cpu"), Device::CPU());
  EXPECT_EQ(*ParseDevice("cuda:0"), (Device{Device::Type::kCUDA, 0}));
  EXPECT_EQ(*ParseDevice("cuda:12"), (Device{Device::Type::kCUDA, 12}));
  for (const char* bad : {"gpu", "cuda", "cuda:", "cuda:-1", "cuda:1x", "CPU", " cpu"}) {
    absl::StatusOr<Device> d = ParseDevice(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_EQ(d.status().message(),
              absl::StrCat("invalid device '", bad, "': must be auto, cpu or cuda:N"));
  }
}

TEST(AutoDevice, IsTheCpuWithoutAGpuAndAGpuWithOne) {
  const Device d = AutoDevice();
  if (cuda::GpuCount() == 0) {
    EXPECT_EQ(d, Device::CPU());
  } else {
    EXPECT_EQ(d.type, Device::Type::kCUDA);
  }
}

TEST(DeviceRun, TrainingOnADeviceKeepsEverythingThereAndMatchesTheCpuExactly) {
  testing::ScopedHostAsDevice device;
  MnistDataset train(SyntheticDigits(96, 5)), valid(SyntheticDigits(40, 6));
  for (const std::string model : {"minitorch_mnist", "lenet5"}) {  // dropout, max pooling
    TrainConfig c = Config(model, 2);
    std::unique_ptr<models::Model> cpu_net, dev_net;
    if (model == "lenet5") {
      cpu_net = std::make_unique<models::Lenet5>(c.seed);
      dev_net = std::make_unique<models::Lenet5>(c.seed);
    } else {
      cpu_net = std::make_unique<models::MinitorchMnist>(c.seed);
      dev_net = std::make_unique<models::MinitorchMnist>(c.seed);
    }
    absl::StatusOr<TrainResult> cpu = TrainOn(Device::CPU(), c, cpu_net.get(), train, valid);
    const int64_t before = device.allocations();
    absl::StatusOr<TrainResult> dev =
        TrainOn(testing::kHostAsDevice, c, dev_net.get(), train, valid);
    ASSERT_TRUE(cpu.ok()) << cpu.status();
    ASSERT_TRUE(dev.ok()) << model << ": " << dev.status();
    EXPECT_GT(device.allocations() - before, 100) << "the step did not run on the device";
    ASSERT_EQ(cpu->epochs.size(), 2u);
    ASSERT_EQ(dev->epochs.size(), 2u);
    for (size_t e = 0; e < 2; ++e) {
      EXPECT_EQ(dev->epochs[e].train_loss, cpu->epochs[e].train_loss) << model << " epoch " << e;
      EXPECT_EQ(dev->epochs[e].train_accuracy, cpu->epochs[e].train_accuracy) << model;
      EXPECT_EQ(dev->epochs[e].valid_correct, cpu->epochs[e].valid_correct) << model;
    }
    for (const Tensor& p : dev_net->Parameters()) EXPECT_EQ(p.device(), testing::kHostAsDevice);
    const std::vector<double> a = cpu_net->FlatParameters().ToVector();
    const std::vector<double> b = dev_net->FlatParameters().ToVector();
    EXPECT_EQ(a, b) << model << ": the trained weights differ";
  }
}

TEST(DeviceRun, ACheckpointWrittenFromTheDeviceResumesToTheUninterruptedResult) {
  testing::ScopedHostAsDevice device;
  MnistDataset train(SyntheticDigits(64, 7)), valid(SyntheticDigits(30, 8));
  TrainConfig c = Config("minitorch_mnist", 2);
  models::MinitorchMnist whole_net(c.seed);
  absl::StatusOr<TrainResult> whole =
      TrainOn(testing::kHostAsDevice, c, &whole_net, train, valid);
  ASSERT_TRUE(whole.ok()) << whole.status();

  const std::string dir = TmpDir("device_resume");
  TrainConfig one = c;
  one.epochs = 1;
  models::MinitorchMnist first_net(c.seed);
  ASSERT_TRUE(TrainOn(testing::kHostAsDevice, one, &first_net, train, valid, dir).ok());
  // The resumed run restores on the host (weights and momentum), then moves to the device.
  models::MinitorchMnist second_net(c.seed);
  Trainer second(c, &second_net, &train, &valid);
  second.set_device(testing::kHostAsDevice);
  ASSERT_TRUE(second.Restore(dir + "/latest.safetensors").ok());
  absl::StatusOr<TrainResult> rest = second.Run();
  ASSERT_TRUE(rest.ok()) << rest.status();
  ASSERT_EQ(rest->epochs.size(), 1u);
  EXPECT_EQ(rest->epochs[0].train_loss, whole->epochs[1].train_loss);
  EXPECT_EQ(rest->epochs[0].valid_correct, whole->epochs[1].valid_correct);
  EXPECT_EQ(second_net.FlatParameters().ToVector(), whole_net.FlatParameters().ToVector());
}

TEST(DeviceRun, AnUnavailableGpuFailsTheRunWithTheReason) {
  if (cuda::GpuCount() > 0) GTEST_SKIP() << "this machine has a GPU";
  MnistDataset train(SyntheticDigits(16, 1)), valid(SyntheticDigits(8, 2));
  TrainConfig c = Config("lenet5", 1);
  models::Lenet5 net(c.seed);
  absl::StatusOr<TrainResult> r = TrainOn(Device{Device::Type::kCUDA, 0}, c, &net, train, valid);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            absl::StrCat("cannot use cuda:0: cuda:0 is not available: ", cuda::NoGpuReason()));
}

TEST(DeviceRun, OnAGpuTrainingMatchesTheCpuWithinRounding) {
  if (cuda::GpuCount() == 0) GTEST_SKIP() << "no GPU: " << cuda::NoGpuReason();
  MnistDataset train(SyntheticDigits(96, 5)), valid(SyntheticDigits(40, 6));
  TrainConfig c = Config("lenet5", 1);
  models::Lenet5 cpu_net(c.seed), gpu_net(c.seed);
  absl::StatusOr<TrainResult> cpu = TrainOn(Device::CPU(), c, &cpu_net, train, valid);
  absl::StatusOr<TrainResult> gpu =
      TrainOn(Device{Device::Type::kCUDA, 0}, c, &gpu_net, train, valid);
  ASSERT_TRUE(cpu.ok()) << cpu.status();
  ASSERT_TRUE(gpu.ok()) << gpu.status();
  EXPECT_NEAR(gpu->epochs[0].train_loss, cpu->epochs[0].train_loss,
              1e-3 * std::abs(cpu->epochs[0].train_loss));
  const std::vector<double> a = cpu_net.FlatParameters().ToVector();
  const std::vector<double> b = gpu_net.FlatParameters().ToVector();
  ASSERT_EQ(a.size(), b.size());
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * (a[i] - b[i]);
    den += a[i] * a[i];
  }
  EXPECT_LT(std::sqrt(num / den), 1e-3) << "relative L2 distance of the trained weights";
}

}  // namespace
}  // namespace mt::train
