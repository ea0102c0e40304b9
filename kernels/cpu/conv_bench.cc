// Prints the best-of-many time of each conv pass (forward, input gradient, weight gradient) on
// the conv layers of mt's models at their training batch sizes, on 1 and 2 threads. Best-of
// timings of one kernel are steadier than a training benchmark on a noisy shared machine, so
// this is what kernel changes are judged by before bench/ confirms them end to end.
//   bazel run //kernels/cpu:conv_bench [-- CASE [PASS]]   (only cases / passes whose names contain
//   CASE / PASS: forward, grad_in, grad_w)
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/conv.h"

namespace {

using mt::kernels::Context;
using mt::kernels::Conv2dShape;

struct Case {
  const char* name;
  Conv2dShape s;
};

// Best over 7 trials of the mean over `reps` calls, in microseconds.
template <typename F>
double BestMicros(F&& run) {
  using Clock = std::chrono::steady_clock;
  run();
  double best = 1e30;
  for (int trial = 0; trial < 7; ++trial) {
    const int reps = 20;
    const auto start = Clock::now();
    for (int r = 0; r < reps; ++r) run();
    best = std::min(best, std::chrono::duration<double, std::micro>(Clock::now() - start).count() / reps);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string only_case = argc > 1 ? argv[1] : "", only_pass = argc > 2 ? argv[2] : "";
  auto wanted = [&](const char* pass) { return std::string(pass).find(only_pass) != std::string::npos; };
  auto shape = [](int64_t n, int64_t c, int64_t h, int64_t w, int64_t o, int64_t kh, int64_t kw,
                  int64_t pad) {
    Conv2dShape s;
    s.batch = n;
    s.in_channels = c;
    s.in_h = h;
    s.in_w = w;
    s.out_channels = o;
    s.kernel_h = kh;
    s.kernel_w = kw;
    s.pad_top = s.pad_bottom = s.pad_left = s.pad_right = pad;
    return s;
  };
  Conv2dShape mini1 = shape(16, 1, 28, 28, 4, 3, 3, 0);
  mini1.pad_bottom = mini1.pad_right = 2;  // MiniTorch's "same" conv
  Conv2dShape mini2 = shape(16, 4, 28, 28, 8, 3, 3, 0);
  mini2.pad_bottom = mini2.pad_right = 2;
  // Kim CNN: (N, 128, 1, L) with width-3/4/5 kernels, padded wide (L + w - 1 outputs).
  Conv2dShape kim = shape(50, 128, 1, 20, 100, 1, 4, 0);
  kim.pad_left = kim.pad_right = 3;
  const std::vector<Case> cases = {{"lenet5 conv1 b64", shape(64, 1, 28, 28, 6, 5, 5, 2)},
                                   {"lenet5 conv2 b64", shape(64, 6, 14, 14, 16, 5, 5, 0)},
                                   {"minitorch conv1 b16", mini1},
                                   {"minitorch conv2 b16", mini2},
                                   {"kim conv w4 b50 L20", kim},
                                   // Kim CNN as engine/models convolves it: a batch's sentences
                                   // end to end (50 or 256 SST-2 sentences, 4 zeros between).
                                   {"kim seq w4 b50", shape(1, 128, 1, 674, 100, 1, 4, 0)},
                                   {"kim seq w4 b256", shape(1, 128, 1, 3440, 100, 1, 4, 0)}};
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::printf("%-22s %8s %12s %12s %12s %14s\n", "case", "threads", "forward us", "grad_in us",
              "grad_w us", "kept grad_w us");
  for (const Case& c : cases) {
    if (std::string(c.name).find(only_case) == std::string::npos) continue;
    const Conv2dShape& s = c.s;
    std::vector<float> in(s.batch * s.in_channels * s.in_h * s.in_w);
    std::vector<float> w(s.out_channels * s.in_channels * s.kernel_h * s.kernel_w);
    std::vector<float> bias(s.out_channels), out(s.batch * s.out_channels * s.out_h() * s.out_w());
    std::vector<float> gin(in.size()), gw(w.size()), gb(bias.size());
    for (auto* v : {&in, &w, &bias, &out}) {
      for (float& x : *v) x = dist(rng);
    }
    for (int threads : {1, omp_get_max_threads()}) {
      const Context ctx{threads};
      const double f = !wanted("forward") ? 0 : BestMicros([&] {
        mt::kernels::cpu::Conv2dForward<float>(ctx, s, in.data(), w.data(), bias.data(), out.data());
      });
      const double gi = !wanted("grad_in") ? 0 : BestMicros([&] {
        mt::kernels::cpu::Conv2dBackwardInput<float>(ctx, s, out.data(), w.data(), gin.data());
      });
      const double gwt = !wanted("grad_w") ? 0 : BestMicros([&] {
        mt::kernels::cpu::Conv2dBackwardWeight<float>(ctx, s, out.data(), in.data(), gw.data(),
                                                      gb.data());
      });
      // The training path: the forward pass kept its columns, the weight gradient reads them.
      std::vector<float> columns(
          static_cast<size_t>(mt::kernels::cpu::Conv2dKeptColumnsSize<float>(s)));
      mt::kernels::cpu::Conv2dForward<float>(ctx, s, in.data(), w.data(), bias.data(), out.data(),
                                             columns.empty() ? nullptr : columns.data());
      const double gwk = !wanted("grad_w") ? 0 : BestMicros([&] {
        mt::kernels::cpu::Conv2dBackwardWeight<float>(ctx, s, out.data(), in.data(), gw.data(),
                                                      gb.data(),
                                                      columns.empty() ? nullptr : columns.data());
      });
      std::printf("%-22s %8d %12.1f %12.1f %12.1f %14.1f\n", c.name, threads, f, gi, gwt, gwk);
    }
  }
  return 0;
}
