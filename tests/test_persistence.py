"""Model directories: round trip, metadata, tamper detection, atomic replacement."""

import json
import warnings

import numpy as np
import pytest

from rutopic.errors import ModelIntegrityError, ModelNotFoundError
from rutopic.model import persistence as P
from rutopic.model.estimator import TopicClassifier

FAST = dict(calibration_cv=0, n_jobs=1, min_df=1)


@pytest.fixture()
def small_model(small_data):
    X, y = small_data
    return TopicClassifier(**FAST).fit(X, y)


def test_round_trip_and_metadata(tmp_path, small_model, small_data):
    X, _ = small_data
    path = P.save_model(small_model, tmp_path / "m", metadata={"training_data": {"n": 3}})
    meta = json.loads((path / P.METADATA_FILE).read_text())
    assert meta["labels"] == ["diplomacy", "other", "trade", "visas"]
    assert meta["mode"] == "multi-label" and meta["training_data"] == {"n": 3}
    assert set(meta["versions"]) == {"rutopic", "scikit-learn", "numpy", "python"}
    assert set(meta["files"]) == {P.MODEL_FILE, P.COMPACT_FILE}
    loaded = P.load_model(path)
    np.testing.assert_allclose(loaded.predict_proba(X), small_model.predict_proba(X))
    compact = P.load_model(path, compact=True)
    np.testing.assert_allclose(compact.predict_proba(X), small_model.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("name", [P.MODEL_FILE, P.COMPACT_FILE])
def test_tampered_files_are_refused(tmp_path, small_model, name):
    path = P.save_model(small_model, tmp_path / "m")
    with open(path / name, "ab") as f:
        f.write(b"\0")
    with pytest.raises(ModelIntegrityError, match="does not match the sha256"):
        P.load_model(path, compact=name == P.COMPACT_FILE)


def test_swapped_file_is_refused(tmp_path, small_model, small_data):
    X, y = small_data
    a = P.save_model(small_model, tmp_path / "a")
    b = P.save_model(TopicClassifier(C=5.0, **FAST).fit(X, y), tmp_path / "b")
    (a / P.MODEL_FILE).write_bytes((b / P.MODEL_FILE).read_bytes())
    with pytest.raises(ModelIntegrityError):
        P.load_model(a)


def test_missing_model_errors_point_to_train(home):
    with pytest.raises(ModelNotFoundError, match="run `rutopic train`"):
        P.load_model()


def test_not_a_model_directory(tmp_path):
    (tmp_path / "x").mkdir()
    with pytest.raises(ModelNotFoundError, match="not a rutopic model"):
        P.load_model(tmp_path / "x")


def test_interrupted_save_keeps_the_old_model(tmp_path, small_model, monkeypatch, small_data):
    X, _ = small_data
    path = P.save_model(small_model, tmp_path / "m")
    before = (path / P.MODEL_FILE).read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(P, "build_metadata", boom)
    with pytest.raises(OSError, match="disk full"):
        P.save_model(small_model, path)
    assert (path / P.MODEL_FILE).read_bytes() == before
    assert not list(tmp_path.glob(".m.tmp-*"))
    P.load_model(path).predict(X)


def test_crash_between_renames_is_recovered(tmp_path, small_model):
    path = P.save_model(small_model, tmp_path / "m")
    aside = tmp_path / ".m.old-123"
    path.rename(aside)  # as if the process died right after moving the old model aside
    assert P.load_model(path) is not None
    assert path.exists() and not aside.exists()


def test_other_sklearn_version_warns(tmp_path, small_model):
    path = P.save_model(small_model, tmp_path / "m")
    meta = json.loads((path / P.METADATA_FILE).read_text())
    meta["versions"]["scikit-learn"] = "0.0.1"
    (path / P.METADATA_FILE).write_text(json.dumps(meta))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        P.load_model(path)
    assert any("scikit-learn 0.0.1" in str(w.message) for w in caught)


def test_default_location_follows_rutopic_home(home):
    assert P.default_model_dir() == home / "model"
