"""Every tutorial runs with --fast in a fresh process (no display) and writes pictures
that decode.

Each tutorial is one test (1-5 s each with --fast on a quiet 2-core machine; the whole
file takes about 30 s, a few minutes when the machine is busy).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TUTORIALS = sorted(p.name for p in (ROOT / "tutorials").glob("[0-9][0-9]_*.py"))


def _params():
    for name in TUTORIALS:
        yield pytest.param(name, id=name[:-3])


def test_tutorials_found():
    assert len(TUTORIALS) >= 13, TUTORIALS


@pytest.mark.parametrize("name", list(_params()))
def test_tutorial_runs_fast_and_writes_pictures(name, tmp_path):
    from PIL import Image

    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1")
    env.pop("DISPLAY", None)
    env.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".numba_cache"))
    proc = subprocess.run([sys.executable, str(ROOT / "tutorials" / name), "--fast", "--out", str(tmp_path)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert "Pictures written to" in proc.stdout, proc.stdout[-2000:]
    pictures = sorted(tmp_path.rglob("*.png")) + sorted(tmp_path.rglob("*.gif"))
    assert pictures, f"{name} wrote no pictures into {tmp_path}"
    for pic in pictures:
        with Image.open(pic) as im:
            im.load()                                   # decodes the whole image
            w, h = im.size
        assert 100 <= w <= 20000 and 100 <= h <= 20000, f"{pic.name}: odd size {w}x{h}"
        listed = str(pic.relative_to(tmp_path))
        assert listed in proc.stdout, f"{pic.name} was written but the tutorial does not say where"
