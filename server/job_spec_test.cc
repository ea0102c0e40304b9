// JobSpec → TrainConfig: defaults per model, and an InvalidArgument naming the field and the
// value for every bad one.
#include "server/job_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>

namespace mt::server {
namespace {

using ::testing::HasSubstr;

const std::vector<std::string> kDevices = {"cpu"};

TEST(ResolveSpec, FillsTheModelsDefaults) {
  v1::JobSpec spec;
  spec.set_task("mnist");
  absl::StatusOr<ResolvedSpec> r = ResolveSpec(spec, kDevices, 4);
  ASSERT_TRUE(r.ok()) << r.status();
  const train::TrainConfig d = train::DefaultConfig("mnist", "lenet5");
  EXPECT_EQ(r->spec.model(), "lenet5");
  EXPECT_EQ(r->spec.epochs(), d.epochs);
  EXPECT_EQ(r->spec.batch_size(), d.batch_size);
  EXPECT_EQ(r->spec.learning_rate(), d.lr);
  EXPECT_EQ(r->spec.optimizer(), d.optimizer);
  EXPECT_EQ(r->spec.lr_decay(), d.lr_decay);
  EXPECT_EQ(r->spec.seed(), 1u);
  EXPECT_EQ(r->spec.device(), "cpu");
  EXPECT_EQ(r->spec.threads(), 4);
  EXPECT_EQ(r->spec.embedding_dim(), 0);  // not an mnist setting
  EXPECT_EQ(r->config.model, "lenet5");
  EXPECT_EQ(r->config.threads, 4);
  // proto3 cannot tell "unset" from 0; the contract says < 0 means the default.
  EXPECT_EQ(r->spec.momentum(), 0.0);
  spec.set_momentum(-1);
  r = ResolveSpec(spec, kDevices, 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spec.momentum(), d.momentum);

  v1::JobSpec sst;
  sst.set_task("sst2");
  sst.set_device("auto");
  sst.set_threads(2);
  r = ResolveSpec(sst, kDevices, 4);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec.model(), "kim_cnn");
  EXPECT_EQ(r->spec.optimizer(), "adam");
  EXPECT_EQ(r->spec.embedding_dim(), 128);
  EXPECT_EQ(r->spec.threads(), 2);
  EXPECT_EQ(r->spec.device(), "cpu");
}

TEST(ResolveSpec, ResolvedSpecGivesTheSameConfigAgain) {
  v1::JobSpec spec;
  spec.set_task("mnist");
  spec.set_model("minitorch_mnist");
  spec.set_epochs(3);
  absl::StatusOr<ResolvedSpec> r = ResolveSpec(spec, kDevices, 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(train::ToJson(ConfigFromResolvedSpec(r->spec)), train::ToJson(r->config));
}

struct BadCase {
  std::string field, value;
  std::function<void(v1::JobSpec*)> mutate;
};

TEST(ResolveSpec, EveryBadFieldIsNamedWithItsValue) {
  const std::vector<BadCase> cases = {
      {"task", "cifar", [](v1::JobSpec* s) { s->set_task("cifar"); }},
      {"task", "''", [](v1::JobSpec* s) { s->set_task(""); }},
      {"model", "resnet", [](v1::JobSpec* s) { s->set_model("resnet"); }},
      {"model", "kim_cnn", [](v1::JobSpec* s) { s->set_model("kim_cnn"); }},
      {"epochs", "-1", [](v1::JobSpec* s) { s->set_epochs(-1); }},
      {"epochs", "20000", [](v1::JobSpec* s) { s->set_epochs(20000); }},
      {"batch_size", "-3", [](v1::JobSpec* s) { s->set_batch_size(-3); }},
      {"learning_rate", "-0.1", [](v1::JobSpec* s) { s->set_learning_rate(-0.1); }},
      {"optimizer", "rmsprop", [](v1::JobSpec* s) { s->set_optimizer("rmsprop"); }},
      {"train_size", "-5", [](v1::JobSpec* s) { s->set_train_size(-5); }},
      {"valid_size", "-5", [](v1::JobSpec* s) { s->set_valid_size(-5); }},
      {"device", "cuda:0", [](v1::JobSpec* s) { s->set_device("cuda:0"); }},
      {"device", "tpu", [](v1::JobSpec* s) { s->set_device("tpu"); }},
      {"threads", "-1", [](v1::JobSpec* s) { s->set_threads(-1); }},
      {"threads", "5000", [](v1::JobSpec* s) { s->set_threads(5000); }},
      {"momentum", "1.5", [](v1::JobSpec* s) { s->set_momentum(1.5); }},
      {"lr_decay", "2", [](v1::JobSpec* s) { s->set_lr_decay(2); }},
      {"embedding_dim", "50", [](v1::JobSpec* s) { s->set_embedding_dim(50); }},
      {"embeddings_file", "/glove.txt", [](v1::JobSpec* s) { s->set_embeddings_file("/glove.txt"); }},
      {"embeddings_file", "/no/such/glove.txt",
       [](v1::JobSpec* s) {
         s->set_task("sst2");
         s->set_embeddings_file("/no/such/glove.txt");
       }},
      {"embedding_dim", "-2",
       [](v1::JobSpec* s) {
         s->set_task("sst2");
         s->set_embedding_dim(-2);
       }},
  };
  for (const BadCase& c : cases) {
    v1::JobSpec spec;
    spec.set_task("mnist");
    c.mutate(&spec);
    absl::StatusOr<ResolvedSpec> r = ResolveSpec(spec, kDevices, 1);
    ASSERT_FALSE(r.ok()) << c.field << "=" << c.value;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr("invalid " + c.field + " ")) << r.status();
    if (c.value != "''") {
      EXPECT_THAT(r.status().message(), HasSubstr(c.value)) << r.status();
    }
  }
}

// The client passes task names through (client/args_test.cc), so this message is what a user
// who mistypes one sees.
TEST(ResolveSpec, UnknownTaskListsTheRegisteredTasks) {
  v1::JobSpec spec;
  spec.set_task("cifar");
  absl::StatusOr<ResolvedSpec> r = ResolveSpec(spec, kDevices, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "invalid task 'cifar': must be mnist or sst2");
}

TEST(ResolveSpec, TaskOnlyFieldsNameTheTasksTheyApplyTo) {
  v1::JobSpec spec;
  spec.set_task("mnist");
  spec.set_embedding_dim(50);
  EXPECT_EQ(ResolveSpec(spec, kDevices, 1).status().message(),
            "invalid embedding_dim '50': applies to the sst2 task only (leave it 0)");
  spec.set_embedding_dim(0);
  spec.set_embeddings_file("/glove.txt");
  EXPECT_EQ(ResolveSpec(spec, kDevices, 1).status().message(),
            "invalid embeddings_file '/glove.txt': word vectors apply to the sst2 task only");
}

TEST(ResolveSpec, UnavailableDeviceListsTheAvailableOnes) {
  v1::JobSpec spec;
  spec.set_task("mnist");
  spec.set_device("cuda:1");
  absl::StatusOr<ResolvedSpec> r = ResolveSpec(spec, kDevices, 1);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("available devices: cpu"));
}

TEST(ResolveSpec, EmbeddingsFileThatExistsIsKeptAbsolute) {
  const char* base = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(base ? base : "/tmp") + "/glove.txt";
  std::ofstream(path) << "the 0.1 0.2\n";
  v1::JobSpec spec;
  spec.set_task("sst2");
  spec.set_embeddings_file(path);
  spec.set_embedding_dim(2);
  absl::StatusOr<ResolvedSpec> r = ResolveSpec(spec, kDevices, 1);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->spec.embeddings_file(), path);
  EXPECT_EQ(r->config.embeddings_path, path);
  EXPECT_EQ(r->config.embedding_dim, 2);
}

}  // namespace
}  // namespace mt::server
