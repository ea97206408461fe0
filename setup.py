"""polyhal's own native code, built by the package's build (pip install, python -m build).

polyhal._stream is a real extension module (the recorder); the other C files become (empty)
extension modules that Python loads with ctypes, so pip,
wheels and cibuildwheel build, tag and ship it like any extension.  The modules use only
the stable ABI, so one wheel per platform serves every Python from 3.10 on.  Everything
else about the package is in pyproject.toml.
"""

from setuptools import Extension, setup

LIMITED_API = "0x030A0000"  # Python 3.10, the oldest supported


def native(name: str, source: str) -> Extension:
    return Extension(
        name, [source], py_limited_api=True,
        include_dirs=["src/polyhal/native", "src/polyhal/include"],
        depends=["src/polyhal/native/stream.h", "src/polyhal/include/polyhal.h"],
        define_macros=[("PH_PYTHON_MODULE", "1"), ("Py_LIMITED_API", LIMITED_API)],
        # -O2, not -march=native: a wheel runs on CPUs other than the one that built it.
        extra_compile_args=["-O2", "-pthread"], extra_link_args=["-pthread"])


setup(
    ext_modules=[
        native("polyhal._stream", "src/polyhal/native/stream.c"),
        native("polyhal.drivers.local._executor", "src/polyhal/drivers/local/native/executor.c"),
        native("polyhal.drivers.cuda._launcher", "src/polyhal/drivers/cuda/native/launcher.c"),
    ],
    options={"bdist_wheel": {"py_limited_api": "cp310"}},
)
