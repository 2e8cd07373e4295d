"""Builds the Cython/C kernels of the CPU backend (gossamer.cython_kernels._ext).

pyproject.toml holds all the metadata; this file only declares the extension module. Flags: -O3,
-pthread (the kernels' own thread pool, src/threadpool.c; no OpenMP), -fno-trapping-math (lets
GCC if-convert the float selects of the element-wise loops, e.g. exp's range clamps, so they
vectorise; values are unchanged: no trap is ever enabled), and
deliberately no -mavx2/-march: the kernels of each SIMD level are compiled in their own file
(src/levels/<level>.c, under a `#pragma GCC target`) and chosen at run time (src/dispatch.c),
so a wheel built here also runs on CPUs without AVX2. The extension is
optional: if it cannot be built (no C compiler), the install still succeeds and the `cython`
backend reports itself unavailable. GOSSAMER_SANITIZE=address,undefined builds it with GCC's
sanitizers (tools/sanitize.sh runs the kernel tests that way). GOSSAMER_KERNEL_FAMILIES=conv,gemm
builds only those kernel families and the ones they need (`gossamer crop`, docs/cropper.md).
The extension's C files compile in parallel, one per CPU this process may use (setuptools' own
`--parallel` only builds separate extensions at once); GOSSAMER_BUILD_JOBS=N sets the count.
"""

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent

SOURCES = ["cython_kernels/_ext.pyx"] + sorted(
    str(p.relative_to(HERE)) for p in (HERE / "cython_kernels/src").rglob("*.c")
)


def extensions() -> list:
    if os.environ.get("GOSSAMER_NO_EXTENSIONS"):
        return []
    try:
        from Cython.Build import cythonize
    except ImportError:
        print(
            "setup.py: Cython is not installed; building without the cython backend",
            file=sys.stderr,
        )
        return []
    msvc = sys.platform == "win32"
    gcc_args = ["-O3", "-pthread", "-fno-math-errno", "-fno-trapping-math"]
    compile_args = ["/O2"] if msvc else gcc_args
    link_args = [] if msvc else ["-pthread"]
    sanitize = os.environ.get("GOSSAMER_SANITIZE")  # e.g. "address,undefined": tools/sanitize.sh
    if sanitize and not msvc:
        checks = [f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-g"]
        compile_args, link_args = compile_args + checks, link_args + checks
    sources, include = SOURCES, ["cython_kernels"]
    families = os.environ.get("GOSSAMER_KERNEL_FAMILIES")  # e.g. "conv,gemm": gossamer crop
    if families is not None:
        sources, include = _family_subset(families)
    ext = Extension(
        "gossamer.cython_kernels._ext",
        sources,
        include_dirs=include,
        depends=sorted(
            str(p.relative_to(HERE))
            for pattern in ("*.h", "*.inc", "*.pxi")
            for p in (HERE / "cython_kernels").rglob(pattern)
        ),
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        optional=families is None,  # a cropped build that was asked for kernels must have them
    )
    return cythonize([ext], language_level=3, quiet=True, build_dir="build")


def _family_subset(families: str) -> tuple[list[str], list[str]]:
    """Sources and include folder of an extension with only these kernel families (and those
    they need): a copy generated under build/ by tools/cropper/kernel_families.py; the tree's
    own files are only read."""
    import importlib.util

    path = HERE / "tools/cropper/kernel_families.py"
    spec = importlib.util.spec_from_file_location("gossamer_kernel_families", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    chosen = {f.strip() for f in families.split(",") if f.strip()}
    out = HERE / "build/kernel_families"
    sources = module.write_subset(HERE / "cython_kernels", chosen, out)
    # src/ too: Cython copies the headers the wrappers name into build/, not those they include
    include = [os.path.relpath(out, HERE), os.path.relpath(out / "src", HERE)]
    return [os.path.relpath(s, HERE) for s in sources], include


def build_jobs() -> int:
    """How many C files compile at once: GOSSAMER_BUILD_JOBS, else the CPUs this process may use."""
    wanted = os.environ.get("GOSSAMER_BUILD_JOBS", "").strip()
    if wanted:
        if not wanted.isdigit() or int(wanted) < 1:
            raise SystemExit(f"setup.py: GOSSAMER_BUILD_JOBS must be a positive integer, not {wanted!r}")
        return int(wanted)
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


class ParallelBuildExt(build_ext):
    """build_ext whose compiler runs the extension's compile commands on `build_jobs()`
    threads (each one a compiler process), the per-level kernel files and the Cython output,
    the longest, first. Up-to-date objects are skipped as before (the compiler's own
    `_setup_compile`); other compilers (MSVC) keep their serial `compile`."""

    def build_extension(self, ext):
        jobs = build_jobs()
        if jobs > 1 and self.compiler.compiler_type == "unix":
            self.compiler.compile = _parallel_compile(self.compiler, jobs)
        super().build_extension(ext)


def _parallel_compile(compiler, jobs: int):
    def compile(sources, output_dir=None, macros=None, include_dirs=None, debug=False,
                extra_preargs=None, extra_postargs=None, depends=None):  # fmt: skip
        macros, objects, extra_postargs, pp_opts, build = compiler._setup_compile(
            output_dir, macros, include_dirs, sources, depends, extra_postargs
        )
        cc_args = compiler._get_cc_args(pp_opts, debug, extra_preargs)

        def one(obj):
            source, ext = build[obj]
            compiler._compile(obj, source, ext, cc_args, extra_postargs, pp_opts)

        longest_first = sorted(
            (obj for obj in objects if obj in build),
            key=lambda obj: ("levels" not in Path(build[obj][0]).parts, -_size(build[obj][0])),
        )
        with ThreadPoolExecutor(jobs) as pool:
            list(pool.map(one, longest_first))  # list(): a failed compile raises here
        return objects

    return compile


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


setup(ext_modules=extensions(), cmdclass={"build_ext": ParallelBuildExt})
