"""The teaching exercises and their checker (`python -m minigrad.exercises`).

Every reference solution passes its grading, every untouched stub fails it with the
friendly "not implemented yet" report (exit 1, no traceback), and a wrong gradient is
reported as analytic vs numeric with the wrong node named (and drawn when viz is there).
"""

import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
EXERCISES = REPO / "tutorials" / "exercises"
NAMES = sorted(p.stem for p in (EXERCISES / "grading").glob("*.py") if not p.name.startswith("_"))


def checker(*args, cwd=REPO):
    env = dict(os.environ, MPLBACKEND="Agg", NUMBA_CACHE_DIR=str(REPO / ".numba_cache"),
               PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "minigrad.exercises", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    return proc.returncode, proc.stdout + proc.stderr


def test_there_are_at_least_six_exercises_each_with_stub_solution_and_grading():
    assert len(NAMES) >= 6, NAMES
    for name in NAMES:
        stub, solution = EXERCISES / f"{name}.py", EXERCISES / "solutions" / f"{name}.py"
        assert stub.exists() and solution.exists(), name
        text = stub.read_text()
        assert text.startswith('"""') and "What to implement" in text, f"{name}: statement missing"
        assert 'NotImplementedError("TODO:' in text, f"{name}: no TODO body"
        grading = (EXERCISES / "grading" / f"{name}.py").read_text()
        assert "solutions" not in re.sub(r'""".*?"""', "", grading, flags=re.S), \
            f"{name}: grading must not use the reference solution"


def test_list():
    code, out = checker("list")
    assert code == 0, out
    for name in NAMES:
        assert name in out


@pytest.mark.parametrize("name", NAMES)
def test_solution_passes(name):
    code, out = checker("check", name, "--solution")
    assert code == 0, out
    assert "All" in out and "checks pass" in out, out
    assert "Traceback" not in out, out


@pytest.mark.parametrize("name", NAMES)
def test_untouched_stub_fails_kindly(name):
    code, out = checker("check", name)
    assert code == 1, out
    assert "not implemented yet: TODO" in out, out
    assert "Traceback" not in out, out
    assert f"python -m minigrad.exercises check {name}" in out, out


def test_wrong_gradient_is_reported_and_drawn(tmp_path):
    solution = (EXERCISES / "solutions" / "vjp_of_a_new_op.py").read_text()
    wrong = solution.replace("(g * (s + x * s * (1 - s)),)", "(g * (s + x * s),)")
    assert wrong != solution
    student = tmp_path / "my_swish.py"
    student.write_text(wrong)
    code, out = checker("check", "vjp_of_a_new_op", "--file", str(student), "--out", str(tmp_path / "pics"))
    assert code == 1, out
    assert "Traceback" not in out, out
    assert re.search(r"worst element \(\d+,\) of input 0 \(x\): analytic -?[\d.]+ vs numeric -?[\d.]+", out), out
    assert "wrong node: 'swish' (op swish" in out, out
    assert "[pass] swish forward" in out and "[pass] log1p_square forward" in out, out
    try:
        import viz  # noqa: F401
        has_viz = hasattr(viz, "render") or hasattr(viz, "to_dot")
    except Exception:
        has_viz = False
    if has_viz:
        pictures = sorted((tmp_path / "pics").glob("vjp_of_a_new_op_*"))
        assert pictures, out
        if pictures[0].suffix == ".png":
            assert pictures[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    else:
        assert "no graph picture" in out, out


def test_errors_in_student_code_are_explained_not_dumped(tmp_path):
    student = tmp_path / "adam.py"
    student.write_text("def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):\n"
                       "    return param - lr * m / (v.sqrt() + eps), m, v\n")
    code, out = checker("check", "adam_step", "--file", str(student))
    assert code == 1 and "Traceback" not in out, out
    assert "AttributeError" in out and "adam.py:2" in out, out
    student.write_text("def adam_step(param, grad\n")
    code, out = checker("check", "adam_step", "--file", str(student))
    assert code == 1 and "Traceback" not in out and "does not parse" in out, out


def test_unknown_exercise_and_dir_option(tmp_path):
    code, out = checker("check", "no_such_exercise")
    assert code == 2 and "Known exercises" in out and "Traceback" not in out, out
    code, out = checker("check", "sum_to_shape", "--solution", "--dir", str(EXERCISES), cwd=tmp_path)
    assert code == 0, out


def test_minigrad_does_not_import_viz():
    code = ("import sys, minigrad, minigrad.exercises, minigrad.exercises.runner; "
            "assert 'viz' not in sys.modules, 'viz imported eagerly'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO,
                   env=dict(os.environ, NUMBA_CACHE_DIR=str(REPO / ".numba_cache")))
