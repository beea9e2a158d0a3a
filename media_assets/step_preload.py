"""Imported once by the run's forkserver (media_assets.executor.PRELOAD_MODULES), so that step processes fork with
the heavy libraries of the default models already loaded instead of importing them again per step.

Only imports: no model is loaded and no thread pool is started here (a forked child must not inherit threads).
A library that is not installed is skipped.
"""

from __future__ import annotations

import contextlib
import importlib

MODULES = (
    "numpy",
    "av",
    "PIL.Image",
    "scipy.signal",
    "torch",
    "onnxruntime",
    "ctranslate2",
    "tokenizers",
    "faster_whisper",
    "cv2",
    "pyarrow.parquet",
    "pandas",
)

for _name in MODULES:
    with contextlib.suppress(ImportError):
        importlib.import_module(_name)
