"""Builds the Cython/C kernels of the CPU backend (gossamer.cython_kernels._ext).

pyproject.toml holds all the metadata; this file only declares the extension module. Flags: -O3 and
OpenMP, -fno-trapping-math (lets GCC if-convert the float selects of the element-wise loops, e.g.
exp's range clamps, so they vectorise; values are unchanged: no trap is ever enabled), and
deliberately no -mavx2/-march: the kernels of each SIMD level are compiled in their own file
(src/levels/<level>.c, under a `#pragma GCC target`) and chosen at run time (src/dispatch.c),
so a wheel built here also runs on CPUs without AVX2. The extension is
optional: if it cannot be built (no C compiler), the install still succeeds and the `cython`
backend reports itself unavailable. GOSSAMER_SANITIZE=address,undefined builds it with GCC's
sanitizers (tools/sanitize.sh runs the kernel tests that way).
"""

import os
import sys
from pathlib import Path

from setuptools import Extension, setup

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
    gcc_args = ["-O3", "-fopenmp", "-fno-math-errno", "-fno-trapping-math"]
    compile_args = ["/O2", "/openmp"] if msvc else gcc_args
    link_args = [] if msvc else ["-fopenmp"]
    sanitize = os.environ.get("GOSSAMER_SANITIZE")  # e.g. "address,undefined": tools/sanitize.sh
    if sanitize and not msvc:
        checks = [f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-g"]
        compile_args, link_args = compile_args + checks, link_args + checks
    ext = Extension(
        "gossamer.cython_kernels._ext",
        SOURCES,
        include_dirs=["cython_kernels"],
        depends=sorted(
            str(p.relative_to(HERE))
            for pattern in ("*.h", "*.inc", "*.pxi")
            for p in (HERE / "cython_kernels").rglob(pattern)
        ),
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        optional=True,
    )
    return cythonize([ext], language_level=3, quiet=True, build_dir="build")


setup(ext_modules=extensions())
