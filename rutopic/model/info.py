"""``rutopic info``: what a saved model is, read from its metadata without loading it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def info(model=None, *, registry=None) -> dict:
    """The model's metadata (versions, labels, mode, parameters, data digest, held-out
    metrics, creation time, file digests) plus the directory it was read from."""
    from rutopic.model.persistence import read_metadata, resolve_model_dir

    model_dir = resolve_model_dir(model, registry=registry)
    return {"path": str(model_dir), **read_metadata(model_dir)}


def info_cli(
    model: Optional[Path] = typer.Option(
        None, "--model", "-m", help="Model directory (or registry); default: $RUTOPIC_HOME/model."),
    registry: Optional[Path] = typer.Option(
        None, "--registry", "-r", help="Describe the champion of this model registry."),
    as_json: bool = typer.Option(False, "--json", help="Print the metadata as one JSON object."),
) -> None:
    """Show a model's metadata: labels, mode, versions, training data, held-out scores.

    Examples:

      rutopic info

      rutopic info --model models/news --json
    """
    meta = info(model, registry=registry)
    if as_json:
        typer.echo(json.dumps(meta, ensure_ascii=False, indent=2))
        return
    data = meta.get("training_data", {})
    metrics = meta.get("heldout_metrics") or {}
    rows = [
        ("path", meta["path"]),
        ("created", meta.get("created", "?")),
        ("mode", meta.get("mode", "?")),
        ("labels", ", ".join(meta.get("labels", []))),
        ("features", meta.get("n_features", "?")),
        ("versions", ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())),
        ("trained on", f"{data.get('source', '?')} ({data.get('n_items', '?')} items, "
                       f"sha256 {str(data.get('sha256', '?'))[:12]})"),
        ("held-out", f"macro-F1 {metrics['macro_f1']:.3f} on {metrics['n']} items"
         if metrics else "none"),
    ]
    if "thresholds" in meta:
        rows.append(("thresholds", ", ".join(f"{k} {v:.2f}" for k, v in meta["thresholds"].items())))
    for key, value in rows:
        typer.echo(f"{key:<11} {value}")
