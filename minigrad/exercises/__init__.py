"""The autograder for the teaching exercises in ``tutorials/exercises/``.

    python -m minigrad.exercises list
    python -m minigrad.exercises check vjp_of_a_new_op            # your file
    python -m minigrad.exercises check vjp_of_a_new_op --solution # the reference

An exercise NAME is three files with the same name (see tutorials/exercises/README.md):

    tutorials/exercises/NAME.py            the stub a student fills in (TODO bodies)
    tutorials/exercises/solutions/NAME.py  the reference solution
    tutorials/exercises/grading/NAME.py    the grading checks: functions ``check_*(ex)``

The checker loads the student's file (or the solution) as a module, calls every
``check_*`` function of the grading file with it, and prints one line per check.
Grading files use the helpers below to fail with a useful message:

    fail(msg)                       a plain failed check
    expect_close(got, want, what)   arrays equal up to tolerance (shows the worst element)
    expect_gradcheck(f, arrays)     analytic (mg.grad) vs central differences; on a mismatch
                                    finds the graph nodes whose own VJP is wrong and draws
                                    the graph with them highlighted (if ``viz`` is there)
    expect_gradient(analytic, f, arrays)  a NumPy gradient vs central differences of f

Nothing here imports ``viz`` until a picture is actually drawn.
"""

from .grading import (CheckFailed, GradientMismatch, expect_close, expect_gradcheck,
                      expect_gradient, expect_shape, fail, numeric_gradient, wrong_nodes)
from .discover import Exercise, find_exercise, find_exercises, exercises_dir

__all__ = ["CheckFailed", "GradientMismatch", "Exercise", "expect_close", "expect_gradcheck",
           "expect_gradient", "expect_shape", "fail", "numeric_gradient", "wrong_nodes",
           "find_exercise", "find_exercises", "exercises_dir"]
