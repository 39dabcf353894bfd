"""``rutopic evaluate``: score a saved model on labelled data."""

from __future__ import annotations

import json
import warnings
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from rutopic.datasets.readers import RutopicWarning


class EvalFormat(str, Enum):
    text = "text"
    json = "json"


def evaluate(data, *, model=None, registry=None, text_col: str | None = None,
             label_col: str | None = None, split: str | None = None) -> dict:
    """Score a model (path, loaded model, or default) on labelled ``data`` (a file, a
    folder, or 'bundled' for the bundled corpus).

    Returns ``macro_f1``, ``accuracy`` (subset accuracy in multi-label mode), ``per_label``
    ({label: {precision, recall, f1, support}}), ``n`` and the confusion matrix. ``split``
    keeps only rows of that split when the data has a split column.
    """
    from rutopic.datasets import load_data
    from rutopic.model.predict import resolve_compact
    from rutopic.training.metrics import compute_metrics

    compact = resolve_compact(model, registry=registry)
    frame = load_data(data, text_col=text_col, label_col=label_col)
    if split is not None:
        frame = frame[frame["split"].fillna("") == split]
    unknown = sorted({lab for labs in frame["labels"] for lab in labs} - set(compact.classes))
    if unknown:
        warnings.warn(f"labels the model does not know: {', '.join(unknown)} (scored as missed)",
                      RutopicWarning, stacklevel=2)
    pred = []
    texts = frame["text"].tolist()
    for start in range(0, len(texts), 2048):
        pred.extend(compact.predict_labels(texts[start:start + 2048]))
    labels = list(compact.classes) + unknown
    return compute_metrics(frame["labels"].tolist(), pred, labels=labels,
                           multilabel=compact.multilabel)


def evaluate_cli(
    data: str = typer.Argument(
        ..., help="Labelled CSV/TSV/JSONL/Parquet file or folder ('bundled': the corpus)."),
    model: Optional[Path] = typer.Option(
        None, "--model", "-m", help="Model directory (or registry); default: $RUTOPIC_HOME/model."),
    registry: Optional[Path] = typer.Option(
        None, "--registry", "-r", help="Score the champion of this model registry."),
    fmt: EvalFormat = typer.Option(EvalFormat.text, "--format", "-f",
                                   help="text (tables) or json (one object)."),
    plot: Optional[Path] = typer.Option(
        None, "--plot", help="Also draw the confusion matrix to this PNG (needs matplotlib)."),
    text_col: Optional[str] = typer.Option(None, "--text-col", help="Text column name."),
    label_col: Optional[str] = typer.Option(None, "--label-col", help="Label column name."),
) -> None:
    """Score a model on labelled data: per-label table, macro-F1, accuracy, confusion matrix.

    Examples:

      rutopic evaluate data/test.csv

      rutopic evaluate data/test.jsonl --model models/news --format json

      rutopic evaluate data/test.csv --plot confusion.png
    """
    from rutopic.training.metrics import format_confusion, format_report, plot_confusion

    metrics = evaluate(data, model=model, registry=registry, text_col=text_col,
                       label_col=label_col)
    if plot is not None:
        plot_confusion(metrics, plot)
    if fmt == EvalFormat.json:
        typer.echo(json.dumps(metrics, ensure_ascii=False))
        return
    typer.echo(format_report(metrics))
    typer.echo("")
    typer.echo("confusion matrix (rows: true, columns: predicted):")
    typer.echo(format_confusion(metrics))
    if plot is not None:
        typer.echo(f"confusion matrix drawn to {plot}")
