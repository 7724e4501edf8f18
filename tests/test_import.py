"""``import engine`` stays light: numba (about 0.3 s to import, and its kernels' first
load more) is imported when a kernel first runs, not with the package (issue 4's 0.3 s
import target; a top-level kernel import in ``engine/labels.py`` once broke it)."""

from __future__ import annotations

import subprocess
import sys


def test_import_engine_does_not_import_numba():
    code = "import sys, engine; print(sorted(m for m in ('numba', 'llvmlite') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
