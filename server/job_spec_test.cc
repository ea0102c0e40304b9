// JobSpec → TrainConfig: defaults per model, and an InvalidArgument naming the field and the
// value for every bad one.
#include "server/job_spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
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
  // momentum is proto3 `optional` (issue 8): unset means the model's default (it used to
  // become 0, which silently trained without momentum); an explicit 0 stays 0; < 0 still
  // means the default, as the API always said.
  EXPECT_TRUE(r->spec.has_momentum());
  EXPECT_EQ(r->spec.momentum(), d.momentum);
  ASSERT_NE(d.momentum, 0.0) << "the case below needs a default that is not 0";
  spec.set_momentum(0);
  r = ResolveSpec(spec, kDevices, 4);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->spec.momentum(), 0.0);
  EXPECT_EQ(r->config.momentum, 0.0);
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
      {"train_size", "1000000000000", [](v1::JobSpec* s) { s->set_train_size(1000000000000); }},
      {"valid_size", "10001", [](v1::JobSpec* s) { s->set_valid_size(10001); }},
      {"train_size", "67350",
       [](v1::JobSpec* s) {
         s->set_task("sst2");
         s->set_train_size(67350);
       }},
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

// Clients name files on the daemon's machine: only regular files inside the embeddings
// directory are accepted, after following "..", symlinks and relative paths.
TEST(ResolveSpec, EmbeddingsFileIsConfinedToItsDirectory) {
  namespace fs = std::filesystem;
  const std::string root = std::string(std::getenv("TEST_TMPDIR")) + "/confine";
  fs::remove_all(root);
  const std::string dir = root + "/emb", sibling = root + "/emb2";
  fs::create_directories(dir + "/sub");
  fs::create_directories(sibling);
  for (const std::string& f : {dir + "/glove.txt", dir + "/sub/glove.txt", root + "/secret.txt",
                               sibling + "/glove.txt"}) {
    std::ofstream(f) << "secretcontent 1 2 3\n";
  }
  fs::create_symlink(root + "/secret.txt", dir + "/link.txt");
  fs::create_symlink(dir + "/glove.txt", dir + "/inside_link.txt");
  auto resolve = [&](const std::string& path, const std::string& allowed) {
    v1::JobSpec spec;
    spec.set_task("sst2");
    spec.set_embeddings_file(path);
    return ResolveSpec(spec, kDevices, 1, allowed);
  };
  const std::string canonical = fs::canonical(dir + "/glove.txt").string();
  for (const std::string& ok : {dir + "/glove.txt", std::string("glove.txt"),
                                std::string("sub/../glove.txt"), dir + "/inside_link.txt"}) {
    absl::StatusOr<ResolvedSpec> r = resolve(ok, dir);
    ASSERT_TRUE(r.ok()) << ok << ": " << r.status();
    EXPECT_EQ(r->spec.embeddings_file(), canonical) << ok;
  }
  EXPECT_TRUE(resolve("sub/glove.txt", dir).ok());
  for (const std::string& bad :
       {root + "/secret.txt", std::string("../secret.txt"), dir + "/../secret.txt",
        dir + "/link.txt", sibling + "/glove.txt", std::string("../emb2/glove.txt"),
        std::string("/etc/passwd"), dir, dir + "/sub", dir + "/missing.txt"}) {
    absl::StatusOr<ResolvedSpec> r = resolve(bad, dir);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << r.status();
    EXPECT_THAT(r.status().message(), HasSubstr("invalid embeddings_file")) << r.status();
    EXPECT_THAT(std::string(r.status().message()), ::testing::Not(HasSubstr("secretcontent")));
  }
  // The allowed directory itself may be given through a symlink.
  fs::create_symlink(dir, root + "/emb_link");
  EXPECT_TRUE(resolve("glove.txt", root + "/emb_link").ok());
  EXPECT_FALSE(resolve("../secret.txt", root + "/emb_link").ok());
}

TEST(ResolveSpec, OverlongStringsAreRefusedAndQuotedBriefly) {
  const std::string huge(10240, 'x');
  const std::vector<std::pair<std::string, std::function<void(v1::JobSpec*)>>> cases = {
      {"task", [&](v1::JobSpec* s) { s->set_task(huge); }},
      {"model", [&](v1::JobSpec* s) { s->set_model(huge); }},
      {"optimizer", [&](v1::JobSpec* s) { s->set_optimizer(huge); }},
      {"device", [&](v1::JobSpec* s) { s->set_device(huge); }},
      {"embeddings_file", [&](v1::JobSpec* s) { s->set_embeddings_file(huge); }},
  };
  for (const auto& [field, mutate] : cases) {
    v1::JobSpec spec;
    spec.set_task("mnist");
    mutate(&spec);
    absl::Status st = ResolveSpec(spec, kDevices, 1, "/tmp").status();
    EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument) << field;
    EXPECT_THAT(st.message(), HasSubstr("invalid " + field + " 'xxxxxxxx")) << st;
    EXPECT_LT(st.message().size(), 200u) << st;
  }
  // Just under the limit, a bad name is still named (quoted briefly).
  v1::JobSpec spec;
  spec.set_task(std::string(60, 'y'));
  absl::Status st = ResolveSpec(spec, kDevices, 1).status();
  EXPECT_THAT(st.message(), HasSubstr("invalid task 'yyyy")) << st;
  EXPECT_LT(st.message().size(), 200u) << st;
}

}  // namespace
}  // namespace mt::server
