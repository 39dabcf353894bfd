"""Data sets: the bundled Russian news corpus and readers for the user's own files.

Like ``sklearn.datasets``: the corpus is package data (read with ``importlib.resources``, so a
non-editable install has it too), ``load_news`` returns a Bunch or a DataFrame, and the pure
``parse_*`` functions are separate from the I/O.
"""

from __future__ import annotations

from importlib import resources

from rutopic.datasets.readers import (
    RutopicWarning,
    decode_bytes,
    iter_records,
    parse_csv,
    parse_jsonl,
    parse_labels,
    read_table,
)

#: The default taxonomy (see the dataset card and ../shared/docs/topic-guidelines.md).
TAXONOMY = ("diplomacy", "visas", "trade", "other")
BUNDLED = "bundled"

__all__ = ["TAXONOMY", "load_news", "load_data", "news_files", "read_table", "iter_records",
           "parse_labels", "parse_jsonl", "parse_csv", "decode_bytes", "RutopicWarning"]


def news_files():
    """The corpus files (``data/news-*.jsonl``) as ``importlib.resources`` traversables."""
    base = resources.files("rutopic.datasets") / "data"
    return sorted((f for f in base.iterdir() if f.name.startswith("news-") and
                   f.name.endswith(".jsonl")), key=lambda f: f.name)


def _read_news() -> list[dict]:
    rows = []
    for f in news_files():
        rows.extend(parse_jsonl(f.read_text(encoding="utf-8"), f"rutopic/datasets/data/{f.name}"))
    return rows


def load_news(*, split: str | None = None, as_frame: bool = False):
    """The bundled hand-written Russian news corpus (diplomacy / visas / trade / other).

    ``split`` selects 'train' or 'test'. Returns a Bunch with ``data`` (texts, title as the
    first line where present), ``target`` (label lists), ``ids``, ``splits``, ``kinds``,
    ``target_names`` and ``frame``; or with ``as_frame=True`` the DataFrame itself (columns id,
    text, labels, split, kind, title, area, near, region).
    """
    import pandas as pd
    from sklearn.utils import Bunch

    if split not in (None, "train", "test"):
        raise ValueError(f"split must be 'train', 'test' or None, got {split!r}")
    rows = [r for r in _read_news() if split is None or r["split"] == split]
    frame = pd.DataFrame(rows)
    frame["text"] = [f"{t}\n{x}" if isinstance(t, str) and t else x
                     for t, x in zip(frame.get("title", [None] * len(frame)), frame["text"])]
    if as_frame:
        return frame
    return Bunch(data=frame["text"].tolist(), target=frame["labels"].tolist(),
                 ids=frame["id"].tolist(), splits=frame["split"].tolist(),
                 kinds=frame["kind"].tolist(), target_names=list(TAXONOMY), frame=frame,
                 DESCR=(resources.files("rutopic.datasets") / "README.md").read_text("utf-8"))


def load_data(source=None, *, text_col: str | None = None, label_col: str | None = None):
    """Labelled data as a DataFrame (id, text, labels, split): the bundled corpus when
    ``source`` is None or 'bundled', else a file or directory (see ``read_table``)."""
    if source is None or str(source) == BUNDLED:
        frame = load_news(as_frame=True)
        return frame[["id", "text", "labels", "split"]].copy()
    return read_table(source, text_col=text_col, label_col=label_col)


def corpus_digest() -> str:
    """sha256 over the bundled corpus files, for model metadata."""
    import hashlib

    h = hashlib.sha256()
    for f in news_files():
        h.update(f.read_bytes())
    return h.hexdigest()

