"""Repository rule that finds nvcc, so the build works with or without CUDA.

It creates @local_cuda with:
  - defs.bzl: CUDA_AVAILABLE (bool), NVCC (path or ""), CUDA_HOME.
  - BUILD: cc_library "cudart" (libcudart + headers), "cublas" and "cudnn" when CUDA is present;
    empty libraries otherwise, so targets may depend on them unconditionally.
Search order: $CUDA_HOME, $CUDA_PATH, /usr/local/cuda, then nvcc on PATH. Setting MT_DISABLE_CUDA=1
forces a CPU-only build on a machine that has CUDA.
"""

def _find_cuda_home(rctx):
    if rctx.os.environ.get("MT_DISABLE_CUDA", "0") == "1":
        return None
    candidates = []
    for var in ["CUDA_HOME", "CUDA_PATH"]:
        if rctx.os.environ.get(var):
            candidates.append(rctx.os.environ[var])
    candidates.append("/usr/local/cuda")
    for home in candidates:
        if rctx.path(home + "/bin/nvcc").exists:
            return home
    nvcc = rctx.which("nvcc")
    if nvcc:
        return str(nvcc.dirname.dirname)
    return None

def _cuda_configure_impl(rctx):
    home = _find_cuda_home(rctx)
    if home:
        rctx.symlink(home + "/include", "cuda_include")
        rctx.symlink(home + "/lib64", "cuda_lib64")
        rctx.file("defs.bzl", "CUDA_AVAILABLE = True\nNVCC = \"%s/bin/nvcc\"\nCUDA_HOME = \"%s\"\n" % (home, home))
        rctx.file("BUILD", """
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "cudart",
    hdrs = glob(["cuda_include/**/*.h", "cuda_include/**/*.hpp", "cuda_include/nv/**"], allow_empty = True),
    includes = ["cuda_include"],
    linkopts = ["-L{home}/lib64", "-Wl,-rpath,{home}/lib64", "-lcudart"],
)

cc_library(
    name = "cublas",
    deps = [":cudart"],
    linkopts = ["-L{home}/lib64", "-Wl,-rpath,{home}/lib64", "-lcublasLt", "-lcublas"],
)

cc_library(
    name = "cudnn",
    deps = [":cudart"],
    linkopts = ["-L{home}/lib64", "-Wl,-rpath,{home}/lib64", "-lcudnn"],
)
""".format(home = home))
    else:
        rctx.file("defs.bzl", "CUDA_AVAILABLE = False\nNVCC = \"\"\nCUDA_HOME = \"\"\n")
        rctx.file("BUILD", """
package(default_visibility = ["//visibility:public"])

# CUDA was not found when this repository was configured: a CPU-only build.
cc_library(name = "cudart")

cc_library(name = "cublas")

cc_library(name = "cudnn")
""")

cuda_configure = repository_rule(
    implementation = _cuda_configure_impl,
    environ = ["CUDA_HOME", "CUDA_PATH", "PATH", "MT_DISABLE_CUDA"],
    local = True,
)
