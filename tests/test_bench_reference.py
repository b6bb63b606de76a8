"""The benchmark's PyTorch worker must time PyTorch as its users run it, and must not
disturb the minigrad side (``benchmarks/reference.py`` tells what went wrong before).

A fake ``torch`` package stands in for PyTorch (these tests run without it): like the
real one, its ``__version__`` is an object of a class of its own package, so a parent
that unpickled it would have to import the package.
"""

import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

FAKE_TORCH = {
    "__init__.py": "from .torch_version import TorchVersion\n"
                   "__version__ = TorchVersion('0.0+fake')\n"
                   "def set_num_threads(n):\n    pass\n",
    "torch_version.py": "class TorchVersion(str):\n    pass\n",
}

# Runs in a fresh interpreter, so that nothing else has imported "torch" before.
PARENT = textwrap.dedent("""
    import os, sys
    if hasattr(os, "sched_setaffinity"):  # a fresh user's process: all CPUs (pytest's may be pinned)
        os.sched_setaffinity(0, range(os.cpu_count()))
    sys.path.insert(0, {root!r})
    from benchmarks import reference
    reference._USER_ENV["PYTHONPATH"] = {fake!r}
    if {pin!r} and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {{min(os.sched_getaffinity(0))}})  # as a pinned run leaves it
    ref = reference.TorchReference(1)
    status = open(f"/proc/{{ref._proc.pid}}/status").read()
    cpus = [l.split()[1] for l in status.splitlines() if l.startswith("Cpus_allowed_list")][0]
    print(type(ref.version).__name__, "torch" in sys.modules, cpus, ",".join(map(str, reference._USER_CPUS)))
    ref.close()
""")


def _run_parent(tmp_path, pin):
    fake = tmp_path / "fake"
    (fake / "torch").mkdir(parents=True)
    for name, text in FAKE_TORCH.items():
        (fake / "torch" / name).write_text(text)
    script = PARENT.format(root=ROOT, fake=str(fake), pin=pin)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_parent_never_imports_the_reference_package(tmp_path):
    version_type, parent_imported_torch, _, _ = _run_parent(tmp_path, pin=False)
    assert version_type == "str"
    assert parent_imported_torch == "False"


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
                    reason="needs two CPUs to pin one")
def test_the_worker_gets_the_users_cpus_not_the_pinned_thread_s(tmp_path):
    _, _, worker_cpus, user_cpus = _run_parent(tmp_path, pin=True)
    listed = set()
    for part in worker_cpus.split(","):  # "0-1" or "0,2"
        lo, _, hi = part.partition("-")
        listed.update(range(int(lo), int(hi or lo) + 1))
    assert listed == {int(c) for c in user_cpus.split(",")}
    assert len(listed) >= 2


MALLOC_PARENT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from benchmarks import reference
    reference._USER_ENV["PYTHONPATH"] = {fake!r}
    reference._USER_ENV.pop("MALLOC_MMAP_THRESHOLD_", None)
    for malloc in ("default", "kept"):
        ref = reference.TorchReference(1, malloc)
        env = open(f"/proc/{{ref._proc.pid}}/environ", "rb").read().split(b"\\0")
        print(malloc, b"MALLOC_MMAP_THRESHOLD_=1073741824" in env, b"MALLOC_TRIM_THRESHOLD_=1073741824" in env)
        ref.close()
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_torch_malloc_kept_gives_the_worker_minigrads_allocator_thresholds(tmp_path):
    """``run.py --torch-malloc kept``: the worker starts with glibc's thresholds fixed
    as ``minigrad/memory.py`` fixes them (PyTorch's fast state); by default it gets
    the user's environment untouched."""
    from benchmarks import reference
    from minigrad import memory
    assert reference.malloc_environment("kept") == {
        "MALLOC_MMAP_THRESHOLD_": str(memory._LIMIT), "MALLOC_TRIM_THRESHOLD_": str(memory._LIMIT)}
    with pytest.raises(ValueError):
        reference.malloc_environment("fast")
    fake = tmp_path / "fake"
    (fake / "torch").mkdir(parents=True)
    for name, text in FAKE_TORCH.items():
        (fake / "torch" / name).write_text(text)
    out = subprocess.run([sys.executable, "-c", MALLOC_PARENT.format(root=ROOT, fake=str(fake))],
                         capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["default", "False", "False", "kept", "True", "True"]
