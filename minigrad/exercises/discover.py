"""Finding exercises on disk and loading their files as modules."""

from __future__ import annotations

import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "MINIGRAD_EXERCISES"


def exercises_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The exercises folder: ``--dir``, else $MINIGRAD_EXERCISES, else the repo's
    ``tutorials/exercises`` (next to the minigrad package), else ./tutorials/exercises."""
    candidates = []
    if explicit:
        candidates.append(Path(explicit))
    elif os.environ.get(ENV_VAR):
        candidates.append(Path(os.environ[ENV_VAR]))
    else:
        repo = Path(__file__).resolve().parents[2]
        candidates += [repo / "tutorials" / "exercises", Path.cwd() / "tutorials" / "exercises",
                       Path.cwd()]
    for path in candidates:
        if (path / "grading").is_dir():
            return path.resolve()
    tried = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(f"no exercises folder found (looked for a 'grading/' folder in: {tried}). "
                            "Run from the minigrad repository or pass --dir PATH/TO/tutorials/exercises.")


@dataclass
class Exercise:
    name: str
    root: Path

    @property
    def stub(self) -> Path:
        return self.root / f"{self.name}.py"

    @property
    def solution(self) -> Path:
        return self.root / "solutions" / f"{self.name}.py"

    @property
    def grading(self) -> Path:
        return self.root / "grading" / f"{self.name}.py"

    def load_grading(self):
        return load_module(self.grading, f"_mg_grading_{self.name}")

    @property
    def order(self) -> tuple:
        """Sort key: ``ORDER = n`` near the top of the grading file, then the name."""
        for line in self.grading.read_text(encoding="utf-8").splitlines():
            if line.startswith("ORDER") and "=" in line:
                try:
                    return (int(line.split("=", 1)[1].split("#")[0]), self.name)
                except ValueError:
                    break
        return (10**6, self.name)

    @property
    def title(self) -> str:
        """The first line of the stub's docstring (the statement's heading)."""
        for path in (self.stub, self.solution):
            if path.exists():
                text = path.read_text(encoding="utf-8").lstrip()
                if text.startswith(('"""', "'''")):
                    first = text[3:].strip().splitlines()
                    if first:
                        return first[0].strip().rstrip('"').strip()
        return self.name


def find_exercises(root: Path) -> list[Exercise]:
    found = [Exercise(p.stem, root) for p in (root / "grading").glob("*.py")
             if not p.name.startswith("_")]
    return sorted(found, key=lambda e: e.order)


def find_exercise(root: Path, name: str) -> Exercise:
    """By exact name, by its number in ``list``, or by a unique prefix."""
    exercises = find_exercises(root)
    name = name.strip().removesuffix(".py")
    name = os.path.basename(name)
    for ex in exercises:
        if ex.name == name:
            return ex
    if name.isdigit() and 1 <= int(name) <= len(exercises):
        return exercises[int(name) - 1]
    matches = [ex for ex in exercises if ex.name.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(ex.name for ex in exercises)
    raise LookupError(f"no exercise named {name!r}. Known exercises: {known}")


def load_module(path: Path, module_name: str):
    """Import a file by path (file names need not be valid module names)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return module
