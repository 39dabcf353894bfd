"""``rutopic train``: fit a model on labelled data, report held-out scores, save it."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from rutopic.errors import DataError, RutopicError

DEFAULT_TEST_SIZE = 0.2


@dataclass
class TrainResult:
    """What ``train`` produced: the model, where it was saved, and its held-out scores."""

    model: Any
    path: Optional[Path]
    metrics: Optional[dict]
    n_train: int
    n_test: int
    seconds: float
    metadata: dict = field(default_factory=dict)


def data_digest(source) -> dict:
    """sha256 and size of the training data (the bundled corpus or the user's files)."""
    from rutopic.datasets import BUNDLED, corpus_digest, news_files
    from rutopic.datasets.readers import list_data_files

    if source is None or str(source) == BUNDLED:
        return {"source": BUNDLED, "sha256": corpus_digest(),
                "bytes": sum(len(f.read_bytes()) for f in news_files())}
    h = hashlib.sha256()
    size = 0
    for f in list_data_files(Path(source)):
        data = f.read_bytes()
        h.update(f.name.encode() + b"\0" + data)
        size += len(data)
    return {"source": str(source), "sha256": h.hexdigest(), "bytes": size}


def split_frame(frame, *, test_size: float, seed: int):
    """(train, test) frames: the data's own ``split`` column when it has both parts, else a
    split stratified by label combination (combinations too rare to split stay in train)."""
    import numpy as np

    splits = frame["split"].fillna("").astype(str).str.lower()
    if {"train", "test"} <= set(splits):
        return frame[splits != "test"], frame[splits == "test"]
    if not test_size:
        return frame, frame.iloc[0:0]
    if not 0 < test_size < 1:
        raise RutopicError(f"--test-size must be between 0 and 1, got {test_size}")
    combos = frame["labels"].map(lambda labs: "|".join(sorted(labs)))
    rng = np.random.default_rng(seed)
    test_idx = []
    for _, idx in combos.groupby(combos).groups.items():
        idx = np.array(idx)
        n_test = int(round(len(idx) * test_size))
        if len(idx) >= 2 and n_test >= 1:
            test_idx.extend(rng.choice(idx, size=min(n_test, len(idx) - 1), replace=False))
    test_mask = frame.index.isin(test_idx)
    return frame[~test_mask], frame[test_mask]


def check_labels(frame, source: str) -> None:
    labels = {lab for labs in frame["labels"] for lab in labs}
    if len(labels) < 2:
        only = next(iter(labels), "none")
        raise DataError(f"{source}: only one label ('{only}'); a classifier needs at least two "
                        "different labels")


def train(data=None, *, model_path=None, test_size: float = DEFAULT_TEST_SIZE, seed: int = 0,
          text_col: str | None = None, label_col: str | None = None, refit: bool = True,
          params: dict | None = None, save: bool = True,
          progress: Callable[[str], None] | None = None) -> TrainResult:
    """Train on ``data`` (a file, a folder, or None for the bundled corpus).

    Holds out a test split (the data's ``split`` column when present, else ``test_size`` of
    each label combination), scores the model on it, refits on everything unless
    ``refit=False``, and saves it to ``model_path`` (default: the per-user model directory).
    """
    from rutopic.datasets import BUNDLED, load_data
    from rutopic.model.estimator import TopicClassifier
    from rutopic.model.persistence import default_model_dir, save_model
    from rutopic.training.metrics import compute_metrics

    step = progress or (lambda s: None)
    start = time.perf_counter()
    source = BUNDLED if data is None else str(data)
    step(f"reading {source}")
    frame = load_data(data, text_col=text_col, label_col=label_col)
    check_labels(frame, source)
    train_part, test_part = split_frame(frame, test_size=test_size, seed=seed)
    params = dict(params or {})
    try:
        TopicClassifier(**params)
    except TypeError as e:
        raise RutopicError(f"unknown model parameter: {e}; see `rutopic train --help`") from None

    metrics = None
    if len(test_part):
        step(f"training on {len(train_part)} items, holding out {len(test_part)}")
        held = TopicClassifier(**params).fit(train_part["text"].tolist(),
                                             train_part["labels"].tolist())
        step("scoring the held-out items")
        pred = held.predict_labels(test_part["text"].tolist())
        metrics = compute_metrics(test_part["labels"].tolist(), pred,
                                  labels=[str(c) for c in held.classes_],
                                  multilabel=held.multilabel_)
        model = held
    if refit or not len(test_part):
        step(f"fitting the final model on all {len(frame)} items")
        model = TopicClassifier(**params).fit(frame["text"].tolist(), frame["labels"].tolist())
    seconds = time.perf_counter() - start
    meta = {"training_data": {**data_digest(data), "n_items": int(len(frame)),
                              "n_train": int(len(train_part)), "n_test": int(len(test_part)),
                              "refit_on_all": bool(refit or not len(test_part))},
            "heldout_metrics": metrics, "train_seconds": round(seconds, 2)}
    path = None
    if save:
        path = Path(model_path) if model_path is not None else default_model_dir()
        step(f"saving to {path}")
        save_model(model, path, metadata=meta)
    return TrainResult(model=model, path=path, metrics=metrics, n_train=len(train_part),
                       n_test=len(test_part), seconds=seconds, metadata=meta)


def parse_params(items: list[str] | None) -> dict:
    """``KEY=VALUE`` strings as estimator parameters; values parsed as JSON when they can be."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise RutopicError(f"--param '{item}' is not KEY=VALUE; e.g. --param C=0.3")
        key, value = item.split("=", 1)
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = None if value.lower() == "none" else value
    return out


def train_cli(
    data: Optional[str] = typer.Argument(
        None, help="Labelled CSV/TSV/JSONL/Parquet file or folder; default: the bundled corpus."),
    model: Optional[Path] = typer.Option(
        None, "--model", "-m", help="Model directory to write; default: $RUTOPIC_HOME/model."),
    test_size: float = typer.Option(
        DEFAULT_TEST_SIZE, "--test-size", "-t",
        help="Share held out for scoring when the data has no split column (0 = none)."),
    seed: int = typer.Option(0, "--seed", "-s", help="Random seed of the held-out split."),
    text_col: Optional[str] = typer.Option(None, "--text-col", help="Text column name."),
    label_col: Optional[str] = typer.Option(None, "--label-col", help="Label column name."),
    refit: bool = typer.Option(True, "--refit/--no-refit",
                               help="Refit on all data after scoring (default) or keep the "
                                    "model trained without the held-out part."),
    param: Optional[list[str]] = typer.Option(
        None, "--param", "-p", help="Model parameter KEY=VALUE, repeatable (e.g. C=0.3)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
) -> None:
    """Train a topic model and save it.

    Holds out a stratified test split (or uses the data's own `split` column), prints
    precision / recall / F1 per label and macro-F1, then refits on all the data.

    Examples:

      rutopic train

      rutopic train data/labelled.csv --model models/news --test-size 0.25

      rutopic train incoming/ --label-col topic --param C=0.3
    """
    from rutopic._console import progress
    from rutopic.training.metrics import format_report

    with progress(not quiet) as step:
        result = train(data, model_path=model, test_size=test_size, seed=seed,
                       text_col=text_col, label_col=label_col, refit=refit,
                       params=parse_params(param), progress=step)
    if result.metrics:
        typer.echo(f"held-out scores ({result.n_test} items):")
        typer.echo(format_report(result.metrics))
    else:
        typer.echo("no held-out split (--test-size 0): nothing scored")
    labels = ", ".join(str(c) for c in result.model.classes_)
    mode = "multi-label" if result.model.multilabel_ else "single-label"
    typer.echo(f"model: {mode}, labels {labels}; trained in {result.seconds:.1f} s")
    typer.echo(f"saved to {result.path}")
