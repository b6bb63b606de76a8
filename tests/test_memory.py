"""The malloc tuning the executor applies, and its off switch."""

import os
import subprocess
import sys

import pytest

CODE = "from minigrad.memory import keep_freed_memory; print(keep_freed_memory())"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
@pytest.mark.parametrize("setting,expected", [("1", "True"), ("0", "False")])
def test_keep_freed_memory_obeys_the_environment(setting, expected):
    env = dict(os.environ, MINIGRAD_KEEP_MEMORY=setting)
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == expected
