"""cuda_library: compiles .cu files with nvcc (found by cuda_configure.bzl) into a cc_library.

Bazel 4's C++ rules do not know nvcc, so each .cu becomes one genrule that runs nvcc -c, and a
cc_library wraps the objects (linked with libcudart). A build without CUDA (@local_cuda's
CUDA_AVAILABLE = False) gets an empty library of the same name, so dependents need no `select`;
cuda_cc_test defines nothing there, and if_cuda() picks flags per build.

Every .cu is compiled for sm_90 and sm_80 plus compute_90 PTX (what newer GPUs JIT), with
nvcc's, the host compiler's and ptxas's warnings as errors; ptxas also fails on register spills,
so a kernel that spills is found when it is written, not when it is slow.
"""

load("@local_cuda//:defs.bzl", "CUDA_AVAILABLE", "NVCC")

CUDA_GENCODE = [
    "-gencode=arch=compute_90,code=sm_90",
    "-gencode=arch=compute_80,code=sm_80",
    "-gencode=arch=compute_90,code=compute_90",
]

NVCC_FLAGS = [
    "-std=c++17",
    "-O3",
    "-Xcompiler=-fPIC,-Wall,-Werror",
    "-Werror=all-warnings",
    "-Xptxas=--warn-on-spills,--warn-on-local-memory-usage,--warning-as-error",
    "-DMT_WITH_CUDA=1",
] + CUDA_GENCODE

def if_cuda(if_true, if_false = []):
    """`if_true` in a build with CUDA, `if_false` otherwise (for defines, deps, srcs)."""
    return if_true if CUDA_AVAILABLE else if_false

def cuda_library(name, srcs = [], hdrs = [], cu_hdrs = [], deps = [], nvcc_flags = [], **kwargs):
    """A cc_library of nvcc-compiled .cu files.

    Args:
      name: the library.
      srcs: .cu files, one nvcc action each.
      hdrs: headers dependents include (exported like a cc_library's hdrs).
      cu_hdrs: every header (labels or files) the .cu files include from this repository,
        hdrs excepted: a genrule sees only the files it is given, so a missing one fails loudly.
      deps: cc_library deps for linking (cudart is added).
      nvcc_flags: extra nvcc flags for these files.
      **kwargs: passed to the cc_library (visibility, testonly, ...).
    """
    if not CUDA_AVAILABLE:
        native.cc_library(name = name, hdrs = hdrs, deps = deps, **kwargs)
        return
    objs = []
    for src in srcs:
        if not src.endswith(".cu"):
            fail("cuda_library %s: %s is not a .cu file" % (name, src))
        stem = src[:-len(".cu")]
        obj = "_cuda_objs/%s/%s.o" % (name, stem)
        native.genrule(
            name = "%s_nvcc_%s" % (name, stem.replace("/", "_")),
            srcs = [src] + hdrs + cu_hdrs,
            outs = [obj],
            # The execution root is the workspace root, so "kernels/..." includes resolve from
            # `-I.`; generated headers (none yet) would come from $(GENDIR).
            cmd = " ".join([NVCC] + NVCC_FLAGS + nvcc_flags + [
                "-I.",
                "-I$(GENDIR)",
                "-c",
                "$(location %s)" % src,
                "-o",
                "$@",
            ]),
            message = "nvcc %s" % src,
            visibility = ["//visibility:private"],
            testonly = kwargs.get("testonly", False),
        )
        objs.append(obj)
    native.cc_library(
        name = name,
        srcs = objs,
        hdrs = hdrs,
        deps = deps + ["@local_cuda//:cudart"],
        # Kernel objects register themselves with the CUDA runtime from static constructors; keep
        # them even when nothing references a symbol directly.
        alwayslink = True,
        **kwargs
    )

def cuda_cc_test(name, **kwargs):
    """A cc_test that exists only in a build with CUDA (it links CUDA code or needs a GPU)."""
    if CUDA_AVAILABLE:
        native.cc_test(name = name, **kwargs)
