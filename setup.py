"""Build of the compiled engine ``cinev4._fasthash`` (Cython over C).

The C flags, source folders and macros are stated once, in
src/cinev4/csrc/cflags.txt (the C harnesses in tests/c read it too); this file
adds only what depends on the build mode.

Debug knobs, read from the environment (never from custom argv flags):
  CINEV4_DEBUG=1          -O0 -g, assertions on (otherwise: -O3 -g0, symbols stripped)
  CINEV4_SANITIZE=address build with AddressSanitizer (and UBSan)
SIMD kernels carry per-function target attributes and are chosen at run time,
so the build never needs (and never uses) -march=native.
"""
from __future__ import annotations

import os
import posixpath
import sys
from glob import glob

from Cython.Build import cythonize
from setuptools import Extension, setup

CSRC = "src/cinev4/csrc"


def read_flags() -> dict[str, list[str]]:
    """csrc/cflags.txt: one `name = words` setting a line, # comments."""
    flags: dict[str, list[str]] = {}
    with open(f"{CSRC}/cflags.txt", encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, _, words = line.partition("=")
                flags[name.strip()] = words.split()
    return flags


FLAGS = read_flags()
# One folder a layer; forward slashes on every platform, as setuptools wants.
FOLDERS = [posixpath.normpath(posixpath.join(CSRC, folder)) for folder in FLAGS["folders"]]


def compile_args() -> tuple[list[str], list[str]]:
    if sys.platform == "win32":
        return FLAGS["msvc"], []
    debug = os.environ.get("CINEV4_DEBUG") == "1"
    sanitize = os.environ.get("CINEV4_SANITIZE")
    cflags = [*FLAGS["debug" if debug else "release"], *FLAGS["cflags"]]
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


def macros() -> list[tuple[str, str]]:
    if sys.platform.startswith("linux"):
        return [(name, value) for name, _, value in (d.partition("=") for d in FLAGS["linux_defines"])]
    return []


cflags, ldflags = compile_args()
extension = Extension(
    "cinev4._fasthash",
    sources=["src/cinev4/_fasthash.pyx", *sorted(c for folder in FOLDERS for c in glob(f"{folder}/*.c"))],
    include_dirs=FOLDERS,
    depends=sorted(h for folder in FOLDERS for h in glob(f"{folder}/*.h")) + [f"{CSRC}/cflags.txt"],
    extra_compile_args=cflags,
    extra_link_args=ldflags,
    libraries=libraries(),
    define_macros=macros(),
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
