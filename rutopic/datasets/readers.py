"""Reading labelled and unlabelled text files: CSV/TSV, JSONL, Parquet, plain text, folders.

Pure ``parse_*``/``decode_*`` functions do the work on bytes and strings; the ``read_*`` and
``iter_*`` functions add file I/O. Only the standard library is imported here (pandas lazily,
for training tables), so ``rutopic predict`` can stream inputs without the heavy stack.

Encodings: UTF-8 (with or without BOM) and cp1251, which Russian files often arrive in.
Undecodable bytes are refused with an error naming the file and line.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rutopic.errors import DataError

TEXT_COLUMNS = ("text",)
LABEL_COLUMNS = ("labels", "label")
TABLE_SUFFIXES = {".csv": ",", ".tsv": "\t"}
JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
PARQUET_SUFFIXES = (".parquet", ".pq")
SUPPORTED = tuple(TABLE_SUFFIXES) + JSONL_SUFFIXES + PARQUET_SUFFIXES
#: Bytes sampled to pick an encoding when streaming a large file.
SNIFF_BYTES = 1 << 20
csv.field_size_limit(1 << 30)


class RutopicWarning(UserWarning):
    """Something was skipped or adjusted; the CLI prints it as one line."""


# -- decoding -----------------------------------------------------------------------------------
def sniff_encoding(sample: bytes) -> str:
    """'utf-8-sig', 'utf-8' or 'cp1251' for a sample of a file's bytes.

    A sample that is not valid UTF-8 but carries UTF-8 Cyrillic pairs (0xD0/0xD1 + tail byte)
    is damaged UTF-8, not cp1251: report it as UTF-8 so decoding fails at the bad byte.
    """
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        if e.start >= len(sample) - 4:  # a multi-byte character cut by the sample's end
            return "utf-8"
    pairs = sum(sample.count(bytes([lead])) for lead in (0xD0, 0xD1))
    high = sum(1 for b in sample if b >= 0x80)
    return "utf-8" if high and pairs * 2 >= high * 0.8 else "cp1251"


def line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def decode_bytes(data: bytes, source: str = "<input>") -> str:
    """Decode a whole file's bytes as UTF-8 (BOM or not) or cp1251; refuse garbage."""
    encoding = sniff_encoding(data[:SNIFF_BYTES])
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise DataError(
            f"{source}: line {line_of(data, e.start)}: bytes that are neither UTF-8 nor cp1251 "
            f"({data[e.start:e.start + 4].hex(' ')}); re-save the file as UTF-8") from None


# -- parsing ------------------------------------------------------------------------------------
def parse_labels(value: Any) -> list[str]:
    """Labels of one item: a list, a JSON list string, or 'a|b' (also 'a;b' / 'a,b' lists)."""
    if value is None:
        return []
    if isinstance(value, float) and value != value:  # NaN from pandas
        return []
    if isinstance(value, (list, tuple, set)) or type(value).__name__ == "ndarray":
        items = list(value)
    else:
        s = str(value).strip()
        if s.startswith("["):
            try:
                items = json.loads(s)
            except ValueError:
                items = s.strip("[]").split(",")
        else:
            items = s.split("|")
    out = []
    for item in items:
        label = str(item).strip().strip("'\"").strip()
        if label and label not in out:
            out.append(label)
    return out


def parse_jsonl(text: str, source: str = "<input>") -> list[dict]:
    """Objects of a JSON Lines text (a JSON array of objects is accepted too)."""
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            rows = json.loads(stripped)
        except ValueError as e:
            raise DataError(f"{source}: invalid JSON array ({e.msg} at line {e.lineno}); "
                            "write one JSON object per line") from None
        return [_as_object(r, source, i + 1) for i, r in enumerate(rows)]
    rows = []
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip():
            rows.append(parse_json_line(line, source, i))
    return rows


def parse_json_line(line: str, source: str, lineno: int) -> dict:
    try:
        obj = json.loads(line)
    except ValueError as e:
        raise DataError(f"{source}: line {lineno}: invalid JSON ({e.msg}); "
                        "write one JSON object per line") from None
    return _as_object(obj, source, lineno)


def _as_object(obj: Any, source: str, lineno: int) -> dict:
    if isinstance(obj, str):
        return {"text": obj}
    if not isinstance(obj, dict):
        raise DataError(f"{source}: line {lineno}: expected a JSON object, got "
                        f"{type(obj).__name__}; write objects like {{\"text\": ...}}")
    return obj


def parse_csv(text: str, source: str = "<input>", delimiter: str = ",") -> list[dict]:
    """Rows of a CSV/TSV text with a header; a line with the wrong number of fields is an error."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
        if not header:
            return []
        header = [h.strip() for h in header]
        rows = []
        for fields in reader:
            if not fields or fields == [""]:
                continue
            if len(fields) != len(header):
                raise DataError(
                    f"{source}: line {reader.line_num}: expected {len(header)} fields, got "
                    f"{len(fields)}; quote fields that contain '{_show(delimiter)}' or newlines")
            rows.append(dict(zip(header, fields)))
        return rows
    except csv.Error as e:
        raise DataError(f"{source}: line {reader.line_num}: malformed CSV ({e}); "
                        "check the quoting on that line") from None


def _show(delimiter: str) -> str:
    return "\\t" if delimiter == "\t" else delimiter


# -- files --------------------------------------------------------------------------------------
def list_data_files(path: Path) -> list[Path]:
    """The supported files of ``path`` (itself, or everything below a directory, sorted)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or directory; check the path")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and
                       p.suffix.lower() in SUPPORTED and not p.name.startswith("."))
        if not files:
            raise DataError(f"{path}: no data files inside (looked for "
                            f"{', '.join(SUPPORTED)}); put labelled files there")
        return files
    if path.suffix.lower() not in SUPPORTED:
        raise DataError(f"{path}: unsupported file type '{path.suffix}'; use "
                        f"{', '.join(SUPPORTED)}")
    return [path]


def read_rows(path: Path) -> list[dict]:
    """All rows of one supported file as dicts."""
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        return read_parquet_rows(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise DataError(f"{path}: cannot read ({e.strerror}); check permissions") from None
    if not data.strip():
        raise DataError(f"{path} is empty; add rows (a header and labelled texts)")
    text = decode_bytes(data, str(path))
    if suffix in TABLE_SUFFIXES:
        return parse_csv(text, str(path), TABLE_SUFFIXES[suffix])
    return parse_jsonl(text, str(path))


def read_parquet_rows(path: Path) -> list[dict]:
    try:
        import pandas as pd

        frame = pd.read_parquet(path)
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow; "
                        "pip install 'rutopic[parquet]'") from None
    except Exception as e:  # pyarrow raises many types for bad files
        raise DataError(f"{path}: not a readable Parquet file ({e}); re-export it") from None
    return frame.to_dict("records")


def pick_column(columns, wanted: str | None, defaults: tuple[str, ...], what: str,
                source: str, flag: str) -> str | None:
    """The column to use: ``wanted`` if given (must exist), else the first default present."""
    columns = list(columns)
    if wanted is not None:
        if wanted not in columns:
            raise DataError(f"{source}: no column '{wanted}' (columns: {', '.join(columns)}); "
                            f"fix {flag}")
        return wanted
    for name in defaults:
        if name in columns:
            return name
    return None


def read_table(path, *, text_col: str | None = None, label_col: str | None = None,
               require_labels: bool = True):
    """A labelled data set as a DataFrame with columns id, text, labels (list) and split.

    ``path`` is a file or a directory of files. A ``title`` column, when present, is prepended
    to the text as its first line. Rows with empty text are skipped with a warning.
    """
    import pandas as pd

    frames = []
    for file in list_data_files(Path(path)):
        rows = read_rows(file)
        if not rows:
            raise DataError(f"{file} has a header but no rows; add labelled texts")
        frames.append(_normalise_rows(rows, str(file), text_col, label_col, require_labels))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if frame.empty:
        raise DataError(f"{path}: every row has empty text; fill the text column")
    return frame


def _normalise_rows(rows: list[dict], source: str, text_col, label_col, require_labels):
    import pandas as pd

    columns = list(dict.fromkeys(k for r in rows[:1000] for k in r))
    tcol = pick_column(columns, text_col, TEXT_COLUMNS, "text", source, "--text-col")
    if tcol is None:
        raise DataError(f"{source}: no text column (columns: {', '.join(columns)}); "
                        "name it 'text' or pass --text-col NAME")
    lcol = pick_column(columns, label_col, LABEL_COLUMNS, "label", source, "--label-col")
    if lcol is None and require_labels:
        raise DataError(f"{source}: no label column (columns: {', '.join(columns)}); "
                        "name it 'label' or 'labels', or pass --label-col NAME")
    out = {"id": [], "text": [], "labels": [], "split": []}
    skipped = 0
    for i, row in enumerate(rows):
        text = row.get(tcol)
        text = "" if text is None or (isinstance(text, float) and text != text) else str(text)
        title = row.get("title")
        if isinstance(title, str) and title.strip():
            text = f"{title.strip()}\n{text}" if text.strip() else title.strip()
        if not text.strip():
            skipped += 1
            continue
        value = row.get(lcol) if lcol else None
        if value is None and label_col is None:  # JSON rows may mix 'label' and 'labels'
            value = next((row[c] for c in LABEL_COLUMNS if row.get(c) is not None), None)
        labels = parse_labels(value)
        if require_labels and not labels:
            raise DataError(f"{source}: row {i + 1} has no label; label every row "
                            "or remove it")
        out["id"].append(str(row["id"]) if row.get("id") not in (None, "") else f"{Path(source).name}:{i + 1}")
        out["text"].append(text)
        out["labels"].append(labels)
        split = row.get("split")
        out["split"].append(str(split).strip().lower() if split not in (None, "") else None)
    if skipped:
        warnings.warn(f"{source}: skipped {skipped} row(s) with empty text", RutopicWarning,
                      stacklevel=3)
    return pd.DataFrame(out)


# -- streaming unlabelled inputs (predict) ------------------------------------------------------
def iter_records(path, *, text_col: str | None = None,
                 id_col: str | None = None) -> Iterator[tuple[Any, str]]:
    """Stream (id or None, text) from a .txt (one text a line), CSV/TSV or JSONL file.

    Memory stays flat: the file is read line by line after its encoding is sniffed.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path} is a directory; pass a file to --input")
    if not path.exists():
        raise DataError(f"{path}: no such file; check --input")
    with open(path, "rb") as f:
        sample = f.read(SNIFF_BYTES)
    encoding = sniff_encoding(sample)
    suffix = path.suffix.lower()
    stream = _decoded_lines(path, encoding)
    if suffix in TABLE_SUFFIXES:
        yield from _iter_csv(stream, str(path), TABLE_SUFFIXES[suffix], text_col, id_col)
    elif suffix in JSONL_SUFFIXES:
        yield from _iter_jsonl(stream, str(path), text_col, id_col)
    elif suffix in PARQUET_SUFFIXES:
        for row in read_parquet_rows(path):
            yield _record(row, str(path), text_col, id_col, None)
    else:
        for _, line in stream:
            yield None, line.rstrip("\r\n")


def _decoded_lines(path: Path, encoding: str) -> Iterator[tuple[int, str]]:
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            try:
                yield lineno, raw.decode(encoding if lineno == 1 or encoding != "utf-8-sig"
                                         else "utf-8")
            except UnicodeDecodeError as e:
                raise DataError(f"{path}: line {lineno}: bytes that are neither UTF-8 nor "
                                f"cp1251 ({raw[e.start:e.start + 4].hex(' ')}); re-save the "
                                "file as UTF-8") from None


def _iter_jsonl(stream, source, text_col, id_col):
    cols = None
    for lineno, line in stream:
        if not line.strip():
            continue
        row = parse_json_line(line, source, lineno)
        if cols is None:
            cols = (pick_column(row, text_col, TEXT_COLUMNS, "text", source, "--text-col"),
                    pick_column(row, id_col, ("id",), "id", source, "--id-col"))
            if cols[0] is None:
                raise DataError(f"{source}: no text field (fields: {', '.join(row)}); "
                                "name it 'text' or pass --text-col NAME")
        yield _record(row, source, cols[0], cols[1], lineno)


def _iter_csv(stream, source, delimiter, text_col, id_col):
    lines = (line for _, line in stream)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    try:
        header = [h.strip() for h in next(reader, [])]
        if not header:
            raise DataError(f"{source} is empty; add a header and rows")
        tcol = pick_column(header, text_col, TEXT_COLUMNS, "text", source, "--text-col")
        if tcol is None:
            raise DataError(f"{source}: no text column (columns: {', '.join(header)}); "
                            "name it 'text' or pass --text-col NAME")
        icol = pick_column(header, id_col, ("id",), "id", source, "--id-col")
        for fields in reader:
            if not fields:
                continue
            if len(fields) != len(header):
                raise DataError(f"{source}: line {reader.line_num}: expected {len(header)} "
                                f"fields, got {len(fields)}; quote fields that contain "
                                f"'{_show(delimiter)}' or newlines")
            yield _record(dict(zip(header, fields)), source, tcol, icol, reader.line_num)
    except csv.Error as e:
        raise DataError(f"{source}: line {reader.line_num}: malformed CSV ({e}); "
                        "check the quoting on that line") from None


def _record(row: dict, source: str, tcol: str, icol: str | None, lineno):
    text = row.get(tcol)
    if text is None:
        where = f"line {lineno}: " if lineno else ""
        raise DataError(f"{source}: {where}no '{tcol}' field; every record needs one")
    title = row.get("title")
    text = str(text)
    if isinstance(title, str) and title.strip():
        text = f"{title.strip()}\n{text}"
    return (row.get(icol) if icol else None), text
