"""Build of the compiled engine ``cinev4._fasthash`` (Cython over C).

Debug knobs, read from the environment (never from custom argv flags):
  CINEV4_DEBUG=1          -O0 -g, assertions on (otherwise: -O3 -g0, symbols stripped)
  CINEV4_SANITIZE=address build with AddressSanitizer (and UBSan)
SIMD kernels carry per-function target attributes and are chosen at run time,
so the build never needs (and never uses) -march=native.
"""
from __future__ import annotations

import os
import sys
from glob import glob

from Cython.Build import cythonize
from setuptools import Extension, setup

CSRC = "src/cinev4/csrc"


def compile_args() -> tuple[list[str], list[str]]:
    if sys.platform == "win32":
        return ["/O2", "/W3"], []
    debug = os.environ.get("CINEV4_DEBUG") == "1"
    sanitize = os.environ.get("CINEV4_SANITIZE")
    cflags = ["-O0", "-g"] if debug else ["-O3"]
    cflags += ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-unused-function"]
    ldflags: list[str] = []
    if not debug and not sanitize:
        # A release build ships no debug info: Python's own CFLAGS carry -g (a 755 KB wheel
        # against about 205 KB stripped). -g0 comes after them; the linker drops the symbol
        # table (exported symbols stay: they are dynamic). CINEV4_DEBUG=1 keeps everything.
        cflags += ["-g0"]
        ldflags += ["-Wl,-S"] if sys.platform == "darwin" else ["-s"]
    if sanitize:
        cflags += [f"-fsanitize={sanitize}", "-fno-omit-frame-pointer", "-g"]
        ldflags += [f"-fsanitize={sanitize}"]
    return cflags, ldflags


def libraries() -> list[str]:
    if sys.platform.startswith("linux"):
        return ["pthread", "dl"]  # dl: glibc < 2.34 keeps dlopen there
    return []


cflags, ldflags = compile_args()
extension = Extension(
    "cinev4._fasthash",
    sources=["src/cinev4/_fasthash.pyx", *sorted(glob(f"{CSRC}/*.c"))],
    include_dirs=[CSRC],
    depends=sorted(glob(f"{CSRC}/*.h")),
    extra_compile_args=cflags,
    extra_link_args=ldflags,
    libraries=libraries(),
    define_macros=[("_GNU_SOURCE", "1")] if sys.platform.startswith("linux") else [],
)

setup(
    ext_modules=cythonize(
        [extension],
        compiler_directives={
            "language_level": "3",
            "embedsignature": True,
            # The signature as CPython's own functions carry it (__text_signature__):
            # help() shows it once, in Python terms, not Cython's C-typed copy.
            "embedsignature.format": "clinic",
        },
    ),
)
