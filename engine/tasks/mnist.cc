// MNIST handwritten digits: 28x28 grayscale images, ten classes, LeNet-5 or MiniTorch's CNN.
#include <memory>

#include "absl/strings/str_cat.h"
#include "engine/data/mnist.h"
#include "engine/tasks/registry.h"

namespace mt::tasks {
namespace {

constexpr int64_t kSide = 28;

TaskInfo MnistInfo() {
  TaskInfo i;
  i.name = "mnist";
  i.description = "handwritten digits 0-9 (28x28 grayscale images)";
  i.models = {"lenet5", "minitorch_mnist"};
  i.class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
  i.train_split = "train";
  i.valid_split = "test";
  i.max_train_size = 60000;
  i.max_valid_size = 10000;
  i.image_height = i.image_width = kSide;
  i.input_hint = "use --image or --index";
  i.image_hint = " (mnist models take 28x28 images, white ink on black)";
  return i;
}

class MnistTask : public Task {
 public:
  MnistTask() : Task(MnistInfo()) {}

  train::TrainConfig Defaults(const std::string& model) const override {
    train::TrainConfig c;
    c.task = name();
    c.model = model;
    c.epochs = 10;
    c.batch_size = 64;
    if (model == "minitorch_mnist") {
      c.optimizer = "adam";
      c.lr = 2e-3;
      c.momentum = 0.0;
    } else {
      c.optimizer = "sgd";
      c.lr = 0.05;
      c.momentum = 0.9;
      c.lr_decay = 0.7;
    }
    return c;
  }

  absl::StatusOr<train::TaskData> Load(const train::TrainConfig& c) const override {
    absl::StatusOr<data::MnistSplit> train = data::LoadMnist(c.data_dir, /*train=*/true);
    if (!train.ok()) return train.status();
    absl::StatusOr<data::MnistSplit> test = data::LoadMnist(c.data_dir, /*train=*/false);
    if (!test.ok()) return test.status();
    if (auto s = CheckSplitSize("train_size", c.train_size, train->count, "MNIST training");
        !s.ok()) {
      return s;
    }
    if (auto s = CheckSplitSize("valid_size", c.valid_size, test->count, "MNIST test"); !s.ok()) {
      return s;
    }
    train::TaskData d;
    d.train = std::make_unique<train::MnistDataset>(
        c.train_size ? data::TakeFirst(*train, c.train_size) : std::move(*train));
    d.valid = std::make_unique<train::MnistDataset>(
        c.valid_size ? data::TakeFirst(*test, c.valid_size) : std::move(*test));
    d.train_name = info().train_split;
    d.valid_name = info().valid_split;
    return d;
  }

  absl::StatusOr<std::unique_ptr<models::Model>> BuildModel(
      const train::TrainConfig& c, const train::TaskData&) const override {
    try {
      if (c.model == "lenet5") return std::unique_ptr<models::Model>(new models::Lenet5(c.seed));
      if (c.model == "minitorch_mnist") {
        return std::unique_ptr<models::Model>(new models::MinitorchMnist(c.seed));
      }
    } catch (const Error& e) {
      return absl::InvalidArgumentError(e.what());
    }
    return absl::InvalidArgumentError(absl::StrCat("task mnist has no model '", c.model, "'"));
  }

  absl::StatusOr<Example> ValidExample(const InputContext& context,
                                       int64_t index) const override {
    absl::StatusOr<std::shared_ptr<const train::TaskData>> data = DataFor(context);
    if (!data.ok()) return data.status();
    const train::Dataset& valid = *(*data)->valid;
    if (index < 0 || index >= valid.size()) {
      return absl::OutOfRangeError(absl::StrCat(
          "--index ", index, " is out of range: ", context.who,
          "'s held-out split (MNIST test) has ", valid.size(), " examples (0..", valid.size() - 1,
          ")"));
    }
    train::Batch b = valid.Get(&index, 1);
    Example out;
    out.input = b.input;
    out.label = b.target.ToInt64Vector()[0];
    return out;
  }

  absl::StatusOr<Example> ImageExample(const InputContext&, int64_t height, int64_t width,
                                       const std::vector<uint8_t>& pixels) const override {
    if (height != kSide || width != kSide || static_cast<int64_t>(pixels.size()) != kSide * kSide) {
      return absl::InvalidArgumentError(absl::StrCat("image is ", width, "x", height, " with ",
                                                     pixels.size(), " pixels",
                                                     info().image_hint));
    }
    // The training path's normalisation, so served images match what the model learnt from.
    data::MnistSplit one;
    one.count = 1;
    one.rows = one.cols = kSide;
    one.pixels = pixels;
    one.labels = {0};
    const int64_t zero = 0;
    Example out;
    out.input = Tensor::Empty({1, 1, kSide, kSide});
    data::NormalizeImages(one, &zero, 1, out.input.data<float>());
    return out;
  }
};

MT_REGISTER_TASK(MnistTask)

}  // namespace
}  // namespace mt::tasks
