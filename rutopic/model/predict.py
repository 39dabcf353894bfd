"""``rutopic predict``: label texts with a saved model, streaming large inputs in chunks.

The command never imports scikit-learn or pandas: it runs on the compact numpy form of the
model, so a cold ``rutopic predict "<text>"`` starts in a fraction of a second.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from enum import Enum
from itertools import islice
from pathlib import Path
from typing import Any, Optional

import typer

from rutopic.errors import RutopicError

BATCH = 2048


class OutputFormat(str, Enum):
    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


def resolve_compact(model=None, *, registry=None):
    """A ``CompactModel`` from a path, a loaded model of either kind, or the default."""
    from rutopic.model.compact import CompactModel

    if isinstance(model, CompactModel):
        return model
    if hasattr(model, "pipeline_"):
        return CompactModel.from_estimator(model)
    from rutopic.model.persistence import load_model

    return load_model(model, registry=registry, compact=True)


def check_options(top_k: int | None, threshold: float | None) -> None:
    if top_k is not None and top_k < 1:
        raise RutopicError(f"--top-k must be at least 1, got {top_k}")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise RutopicError(f"--threshold must be between 0 and 1, got {threshold}")


def predict_batch(compact, texts: Sequence[str], *, top_k=None, threshold=None,
                  explain=False) -> list[dict[str, Any]]:
    """Labels, every label's probability and (optionally) explanations for one batch."""
    proba = compact.predict_proba(texts)
    labels = compact.labels_from_proba(proba, top_k=top_k, threshold=threshold)
    out = [{"labels": labs, "scores": {c: round(float(p), 6) for c, p in zip(compact.classes, row)}}
           for labs, row in zip(labels, proba)]
    if explain:
        for item, expl in zip(out, compact.explain(texts, labels)):
            item["explanation"] = {lab: [[term, weight] for term, weight in terms]
                                   for lab, terms in expl.items()}
    return out


def predict(texts: Iterable[str] | str, *, model=None, registry=None, top_k: int | None = None,
            threshold: float | None = None, explain: bool = False) -> list[dict[str, Any]]:
    """Predict topics for texts: a list of {labels, scores[, explanation]}, in input order.

    ``model`` is a model directory, a loaded model, or None for the default model.
    """
    check_options(top_k, threshold)
    if isinstance(texts, str):
        texts = [texts]
    compact = resolve_compact(model, registry=registry)
    out: list[dict[str, Any]] = []
    it = iter(texts)
    while batch := list(islice(it, BATCH)):
        out.extend(predict_batch(compact, batch, top_k=top_k, threshold=threshold,
                                 explain=explain))
    return out


def predict_records(compact, records: Iterable[tuple[Any, str]], *, top_k=None, threshold=None,
                    explain=False, batch_size: int = BATCH) -> Iterator[dict[str, Any]]:
    """Stream predictions for (id or None, text) records; ids default to the 0-based index."""
    it = iter(records)
    index = 0
    while chunk := list(islice(it, batch_size)):
        results = predict_batch(compact, [t for _, t in chunk], top_k=top_k,
                                threshold=threshold, explain=explain)
        for (rid, _), res in zip(chunk, results):
            yield {"id": index if rid is None else rid, **res}
            index += 1


# -- writers ------------------------------------------------------------------------------------
def write_jsonl(results: Iterable[dict], out) -> None:
    for r in results:
        out.write(json.dumps(r, ensure_ascii=False) + "\n")


def write_json(results: Iterable[dict], out) -> None:
    out.write("[")
    for i, r in enumerate(results):
        out.write(("," if i else "") + "\n  " + json.dumps(r, ensure_ascii=False))
    out.write("\n]\n")


def write_csv(results: Iterable[dict], out, classes: Sequence[str]) -> None:
    writer = csv.writer(out)
    writer.writerow(["id", "labels", *classes])
    for r in results:
        writer.writerow([r["id"], "|".join(r["labels"]),
                         *(f"{r['scores'][c]:.4f}" for c in classes)])


def write_table(results: Iterable[dict], out, classes: Sequence[str], texts: dict) -> None:
    for r in results:
        scores = "  ".join(f"{c} {r['scores'][c]:.2f}" for c in
                           sorted(classes, key=lambda c: -r["scores"][c])[:3])
        preview = " ".join(texts.pop(r["id"], "").split())
        preview = preview[:57] + "..." if len(preview) > 60 else preview
        out.write(f"{str(r['id']):>4}  {', '.join(r['labels']):<24}  {scores}   {preview}\n")
        if "explanation" in r:
            for lab, terms in r["explanation"].items():
                out.write(f"      {lab}: " + ", ".join(f"{t} ({w:+.3f})" for t, w in terms) + "\n")


def read_stdin() -> Iterator[tuple[Any, str]]:
    for line in sys.stdin:
        line = line.rstrip("\r\n")
        yield None, line


def predict_cli(
    texts: Optional[list[str]] = typer.Argument(None, help="Texts to label (quote each one)."),
    input_file: Optional[Path] = typer.Option(
        None, "--input", "-i",
        help="File of texts: .txt (one per line), .csv/.tsv/.jsonl (the text column)."),
    model: Optional[Path] = typer.Option(
        None, "--model", "-m", help="Model directory (or registry); default: $RUTOPIC_HOME/model."),
    registry: Optional[Path] = typer.Option(
        None, "--registry", "-r", help="Answer from the champion of this model registry."),
    fmt: Optional[OutputFormat] = typer.Option(
        None, "--format", "-f", help="table, json, jsonl or csv (default: table on a terminal, "
                                     "else jsonl)."),
    top_k: Optional[int] = typer.Option(None, "--top-k", "-k",
                                        help="At most this many labels per text."),
    threshold: Optional[float] = typer.Option(
        None, "--threshold", help="Probability a label needs (overrides the model's own)."),
    explain: bool = typer.Option(False, "--explain", "-e",
                                 help="Add the terms that pushed each label up."),
    text_col: Optional[str] = typer.Option(None, "--text-col", help="Text column of --input."),
    id_col: Optional[str] = typer.Option(None, "--id-col", help="Id column of --input."),
) -> None:
    """Label texts by topic: from arguments, --input FILE, or stdin when piped.

    Each result has the labels and every label's probability; `jsonl` gives one object per
    input in input order: {"id", "labels", "scores"} (+ "explanation" with --explain).

    Examples:

      rutopic predict "МИД Казахстана сообщил об упрощении визового режима"

      rutopic predict --input news.csv --format jsonl > labels.jsonl

      cat headlines.txt | rutopic predict --format csv --top-k 2
    """
    from rutopic.datasets.readers import iter_records

    check_options(top_k, threshold)
    if texts and input_file is not None:
        raise RutopicError("give texts as arguments or --input FILE, not both")
    if texts:
        records: Iterable[tuple[Any, str]] = ((None, t) for t in texts)
    elif input_file is not None:
        records = iter_records(input_file, text_col=text_col, id_col=id_col)
    elif not sys.stdin.isatty():
        records = read_stdin()
    else:
        raise RutopicError("no input: give TEXT arguments, --input FILE, or pipe texts on stdin")
    compact = resolve_compact(model, registry=registry)
    fmt = fmt or (OutputFormat.table if sys.stdout.isatty() else OutputFormat.jsonl)
    shown: dict = {}
    if fmt == OutputFormat.table:
        records = _remember(records, shown)
    results = predict_records(compact, records, top_k=top_k, threshold=threshold,
                              explain=explain)
    out = sys.stdout
    if fmt == OutputFormat.jsonl:
        write_jsonl(results, out)
    elif fmt == OutputFormat.json:
        write_json(results, out)
    elif fmt == OutputFormat.csv:
        write_csv(results, out, compact.classes)
    else:
        write_table(results, out, compact.classes, shown)
    out.flush()


def _remember(records, store: dict):
    """Keep each text until the table row that shows it is written."""
    for i, (rid, text) in enumerate(records):
        store[i if rid is None else rid] = text
        yield rid, text
