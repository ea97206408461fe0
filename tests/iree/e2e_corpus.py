"""The e2e corpus's helper (``scripts/iree_corpus.py``: files, functions, inputs, checks,
IREE's verdicts) for the tests here, loaded once: ``from e2e_corpus import CORPUS, ic``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def _load() -> Any:
    spec = importlib.util.spec_from_file_location(
        "iree_corpus", ROOT / "scripts" / "iree_corpus.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("iree_corpus", module)
    spec.loader.exec_module(module)
    return module


ic = _load()
CORPUS = ic.Corpus()
