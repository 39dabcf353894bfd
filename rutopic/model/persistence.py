"""Model directories: save atomically, load with digest checks.

A model is a directory holding ``model.joblib`` (the fitted ``TopicClassifier``),
``compact.npz`` (its numpy-only inference form) and ``metadata.json`` (versions, labels, mode,
parameters, training-data digest, held-out metrics, creation time, and the sha256 of both
files). Saving writes a temporary sibling directory, fsyncs it and renames it into place, so an
interrupted save never leaves a half-written model where a good one was. Loading verifies the
digest of the file it reads first.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

from rutopic.errors import ModelIntegrityError, ModelNotFoundError

MODEL_FILE = "model.joblib"
COMPACT_FILE = "compact.npz"
METADATA_FILE = "metadata.json"
HOME_ENV = "RUTOPIC_HOME"
#: A registry directory is recognised by this pointer file (see rutopic.training.registry).
CHAMPION_FILE = "champion"


def data_home() -> Path:
    """``$RUTOPIC_HOME``, else the per-user data directory (XDG on Linux)."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "rutopic"


def default_model_dir() -> Path:
    """Where ``rutopic train`` saves and ``predict``/``evaluate``/``info`` look by default."""
    return data_home() / "model"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_file(path: Path, write) -> None:
    with open(path, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def versions() -> dict[str, str]:
    import numpy
    import sklearn

    from rutopic import __version__

    return {"rutopic": __version__, "scikit-learn": sklearn.__version__,
            "numpy": numpy.__version__, "python": platform.python_version()}


def build_metadata(clf, *, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Everything a reader needs to know about a model, without loading it."""
    meta = {
        "format": 1,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "versions": versions(),
        "labels": [str(c) for c in clf.classes_],
        "mode": "multi-label" if clf.multilabel_ else "single-label",
        "n_features": int(clf.n_features_),
        "params": {k: (list(v) if isinstance(v, tuple) else v)
                   for k, v in clf.get_params().items()},
    }
    if clf.multilabel_:
        meta["thresholds"] = {str(c): round(float(t), 4)
                              for c, t in zip(clf.classes_, clf.thresholds_)}
    meta.update(extra or {})
    return meta


def save_model(clf, path, *, metadata: dict[str, Any] | None = None) -> Path:
    """Save a fitted ``TopicClassifier`` to directory ``path`` atomically; return the path.

    ``metadata`` adds keys (training data digest, held-out metrics, ...) to metadata.json.
    """
    import joblib

    from rutopic.model.compact import CompactModel

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        _write_file(tmp / MODEL_FILE, lambda f: joblib.dump(clf, f, compress=3))
        _write_file(tmp / COMPACT_FILE, CompactModel.from_estimator(clf).save)
        meta = build_metadata(clf, extra=metadata)
        meta["files"] = {name: sha256_file(tmp / name) for name in (MODEL_FILE, COMPACT_FILE)}
        text = json.dumps(meta, ensure_ascii=False, indent=2, default=_json_default)
        _write_file(tmp / METADATA_FILE, lambda f: f.write(text.encode("utf-8")))
        _fsync_dir(tmp)
        replace_dir(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def replace_dir(src: Path, dst: Path) -> None:
    """Move directory ``src`` to ``dst``, replacing what was there with two renames.

    The old directory is renamed aside first; if the process dies between the renames,
    ``restore_aside`` (run by every load) puts it back.
    """
    aside = None
    if dst.exists():
        aside = dst.with_name(f".{dst.name}.old-{os.getpid()}")
        os.rename(dst, aside)
    os.rename(src, dst)
    _fsync_dir(dst.parent)
    if aside is not None:
        shutil.rmtree(aside, ignore_errors=True)


def restore_aside(path: Path) -> None:
    """If a save died between its two renames, bring the previous model back."""
    if path.exists():
        return
    for aside in sorted(path.parent.glob(f".{path.name}.old-*")):
        os.rename(aside, path)
        return


def write_atomic(path, text: str) -> None:
    """Replace a small file atomically: temp file, fsync, rename, fsync the folder."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    _write_file(tmp, lambda f: f.write(text.encode("utf-8")))
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def save_json_atomic(path, obj) -> None:
    """Write JSON to ``path`` atomically: never half-written."""
    write_atomic(path, json.dumps(obj, ensure_ascii=False, indent=2, default=_json_default))


def _json_default(obj):
    try:
        import numpy as np

        if isinstance(obj, np.generic):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    except ImportError:  # pragma: no cover
        pass
    return str(obj)


def resolve_model_dir(path=None, *, registry=None) -> Path:
    """The model directory to read: ``path``, a registry's champion, or the default."""
    from rutopic.training.registry import champion_dir

    if registry is not None:
        return champion_dir(Path(registry))
    path = Path(path) if path is not None else default_model_dir()
    restore_aside(path)
    if (path / CHAMPION_FILE).exists():
        return champion_dir(path)
    if not path.exists():
        if path == default_model_dir():
            raise ModelNotFoundError(
                f"no model at {path}; run `rutopic train` first (or pass --model PATH)")
        raise ModelNotFoundError(f"no model at {path}; check the path or run `rutopic train -m {path}`")
    if not (path / METADATA_FILE).exists():
        raise ModelNotFoundError(f"{path} is not a rutopic model (no {METADATA_FILE}); "
                                 "pass the directory `rutopic train` wrote")
    return path


def read_metadata(model_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(model_dir) / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelIntegrityError(f"cannot read {model_dir / METADATA_FILE}: {e}; "
                                  "retrain the model") from e


def verified_file(model_dir: Path, name: str, meta: dict[str, Any]) -> Path:
    """The path of a model file whose sha256 matches metadata.json; refuse a mismatch."""
    file = Path(model_dir) / name
    expected = meta.get("files", {}).get(name)
    if not file.exists():
        raise ModelIntegrityError(f"{file} is missing; the model is incomplete, retrain it")
    if expected is None or sha256_file(file) != expected:
        raise ModelIntegrityError(
            f"{file} does not match the sha256 in {METADATA_FILE} (corrupted or swapped); "
            "retrain or restore the model")
    return file


def load_model(path=None, *, registry=None, compact: bool = False):
    """Load a model directory (default: the one ``rutopic train`` writes).

    Returns the scikit-learn ``TopicClassifier``, or with ``compact=True`` the numpy-only
    ``CompactModel`` (fast start, same scores). ``registry`` loads that registry's champion.
    """
    model_dir = resolve_model_dir(path, registry=registry)
    meta = read_metadata(model_dir)
    if compact:
        from rutopic.model.compact import CompactModel

        return CompactModel.load(verified_file(model_dir, COMPACT_FILE, meta))
    import joblib
    import sklearn

    file = verified_file(model_dir, MODEL_FILE, meta)
    saved = meta.get("versions", {}).get("scikit-learn")
    if saved and saved != sklearn.__version__:
        warnings.warn(f"model saved with scikit-learn {saved}, running {sklearn.__version__}; "
                      "predictions may differ - retrain to be safe", stacklevel=2)
    return joblib.load(file)
