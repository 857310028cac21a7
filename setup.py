"""Build script: lists the one extension module and cythonizes it with global directives.

Everything declarative lives in pyproject.toml. Switches:
- NOOB_PUREPYTHON=1: build no extension (pure-Python install). Read as noob._core reads it:
  "", "0", "false" and "no" (any case) mean off.
- NOOB_CYTHON_DEBUG=1: bounds and wraparound checks back on, line tracing for coverage.
"""

import os

from setuptools import setup



def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


ext_modules = []
if not _truthy("NOOB_PUREPYTHON"):
    import numpy
    from Cython.Build import cythonize
    from setuptools import Extension

    debug = _truthy("NOOB_CYTHON_DEBUG")
    directives = {
        "language_level": 3,
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": True,
        "embedsignature": True,
    }
    if debug:
        directives["linetrace"] = True
    ext_modules = cythonize(
        [
            Extension(
                "noob._core._dispatch_c",
                ["noob/_core/_dispatch_c.pyx"],
                include_dirs=[numpy.get_include()],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
                + ([("CYTHON_TRACE_NOGIL", "1")] if debug else []),
            )
        ],
        compiler_directives=directives,
    )

setup(ext_modules=ext_modules)
