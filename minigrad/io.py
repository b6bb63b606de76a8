"""Save and load weights (and optimizer state) as ``.npz`` files, without pickle.

An ``.npz`` is a zip of plain ``.npy`` arrays, one per key. Keys are the graph's
node names, which are stable because layers are named in order of creation:

    weights/dense_1/kernel              the parameter's value
    optimizer/class                     "Adam"
    optimizer/iterations, optimizer/lr  step count and learning rate
    optimizer/state/dense_1/kernel/m    one array per state slot and parameter

Loading is all-or-nothing: every name and shape is checked first, and if
anything differs the error lists *every* mismatch (missing, unexpected, wrong
shape) and nothing is changed. Files are read with ``allow_pickle=False``, so
loading a file can never run code.
"""

from __future__ import annotations

import os

import numpy as np

_W, _O = "weights/", "optimizer/"


class LoadError(ValueError):
    """The file does not match the model: names or shapes differ."""


def _npz_path(path) -> str:
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


def save_weights(path, weights, optimizer=None) -> str:
    """Write parameter values (and optimizer state) to ``path`` (".npz" is added if missing)."""
    arrays = {}
    for w in weights:
        arrays[_W + w.name] = w.value
    if optimizer is not None and optimizer.params:
        arrays[_O + "class"] = np.array(type(optimizer).__name__)
        arrays[_O + "iterations"] = np.array(optimizer.iterations, np.int64)
        arrays[_O + "lr"] = np.array(optimizer.lr, np.float64)
        for p in optimizer.params:
            for slot, value in optimizer.state[p].items():
                arrays[f"{_O}state/{p.name}/{slot}"] = value
    path = _npz_path(path)
    np.savez(path, **arrays)
    return path


def _compare(expected: dict, found: dict, kind: str, problems: list):
    """Record every name present on one side only and every shape that differs."""
    for name, arr in expected.items():
        if name not in found:
            problems.append(f"{kind} {name!r} {tuple(arr.shape)}: in the model but not in the file")
        elif found[name].shape != arr.shape:
            problems.append(f"{kind} {name!r}: shape {tuple(found[name].shape)} in the file, "
                            f"{tuple(arr.shape)} in the model")
    for name, arr in found.items():
        if name not in expected:
            problems.append(f"{kind} {name!r} {tuple(arr.shape)}: in the file but not in the model")


def load_weights(path, weights, optimizer=None, target="the model"):
    """Load values saved by ``save_weights`` into ``weights`` (and ``optimizer``), in place."""
    path = _npz_path(path)
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    problems = []
    model_w = {w.name: w.value for w in weights}
    file_w = {k[len(_W):]: v for k, v in data.items() if k.startswith(_W)}
    _compare(model_w, file_w, "weight", problems)

    load_opt = optimizer is not None and optimizer.params and (_O + "class") in data
    if load_opt:
        saved_class = str(data[_O + "class"])
        if saved_class != type(optimizer).__name__:
            problems.append(f"optimizer: the file holds {saved_class} state, the model uses "
                            f"{type(optimizer).__name__}")
        else:
            model_s = {f"{p.name}/{s}": v for p in optimizer.params for s, v in optimizer.state[p].items()}
            prefix = _O + "state/"
            file_s = {k[len(prefix):]: v for k, v in data.items() if k.startswith(prefix)}
            _compare(model_s, file_s, "optimizer state", problems)
    if problems:
        raise LoadError(f"cannot load {path!r} into {target}; {len(problems)} mismatch(es):\n  - "
                        + "\n  - ".join(problems)
                        + "\nThe file must come from a model with the same layers in the same order "
                          "(layer names such as 'dense_1' follow the order of creation). Nothing was loaded.")
    for w in weights:
        w.value[...] = file_w[w.name]   # in place: the graph keeps pointing at the same arrays
    if load_opt:
        for p in optimizer.params:
            for slot, value in optimizer.state[p].items():
                value[...] = data[f"{_O}state/{p.name}/{slot}"]
        optimizer.iterations = int(data[_O + "iterations"])
        optimizer.lr = float(data[_O + "lr"])


def save_model(model, path) -> str:
    """Save a model's weights, and its optimizer state once training has set it up."""
    return save_weights(path, model.weights, model.optimizer)


def load_model(model, path):
    """Load into a model built with the same layers (weights, then optimizer state if compiled)."""
    optimizer = None
    if model.optimizer is not None and model.loss is not None:
        model.build()
        model._train_step(weighted=False)  # sets the optimizer up, so its state can be filled
        optimizer = model.optimizer
    load_weights(path, model.weights, optimizer, target=f"model {model.name!r}")
