"""Reading training and prediction data: formats, encodings, bad input."""

import json
import warnings

import pytest

from rutopic.datasets import load_data
from rutopic.datasets.readers import (
    RutopicWarning,
    decode_bytes,
    iter_records,
    parse_csv,
    parse_labels,
    read_table,
    sniff_encoding,
)
from rutopic.errors import DataError

ROWS = [("Экспорт зерна вырос", "trade"), ("Визы отменены", "visas"),
        ("Посол вручил ноту", "diplomacy|visas")]


@pytest.mark.parametrize("value, expected", [
    ("trade", ["trade"]), ("trade|visas", ["trade", "visas"]), (" a | b |a", ["a", "b"]),
    ('["a", "b"]', ["a", "b"]), (["x", "y"], ["x", "y"]), ("", []), (None, []),
    (float("nan"), []),
])
def test_parse_labels(value, expected):
    assert parse_labels(value) == expected


def write_csv(path, delimiter=",", encoding="utf-8", header=("text", "label")):
    lines = [delimiter.join(header)] + [f'"{t}"{delimiter}{lab}' for t, lab in ROWS]
    path.write_bytes("\n".join(lines).encode(encoding))
    return path


@pytest.mark.parametrize("suffix, delimiter", [(".csv", ","), (".tsv", "\t")])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
def test_csv_and_tsv_in_every_encoding(tmp_path, suffix, delimiter, encoding):
    frame = read_table(write_csv(tmp_path / f"d{suffix}", delimiter, encoding))
    assert frame["text"].tolist() == [t for t, _ in ROWS]
    assert frame["labels"].tolist() == [["trade"], ["visas"], ["diplomacy", "visas"]]


def test_jsonl_with_title_id_and_split(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"id": 7, "title": "Заголовок", "text": "Текст", "labels": ["trade"], "split": "test"},
        {"text": "Другой", "label": "visas"},
    ]), encoding="utf-8")
    frame = read_table(path)
    assert frame["text"].tolist() == ["Заголовок\nТекст", "Другой"]
    assert frame["id"].tolist()[0] == "7" and frame["split"].fillna("").tolist() == ["test", ""]


def test_parquet(tmp_path):
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    path = tmp_path / "d.parquet"
    pd.DataFrame({"text": ["Визы", "Экспорт"], "labels": [["visas"], ["trade"]]}).to_parquet(path)
    assert read_table(path)["labels"].tolist() == [["visas"], ["trade"]]


def test_directory_of_files_and_custom_columns(tmp_path):
    write_csv(tmp_path / "a.csv", header=("body", "topic"))
    write_csv(tmp_path / "b.csv", header=("body", "topic"))
    frame = load_data(tmp_path, text_col="body", label_col="topic")
    assert len(frame) == 6


def test_empty_texts_are_skipped_with_a_warning(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text('text,label\n"",trade\n"  ",visas\nВизы,visas\n', encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = read_table(path)
    assert len(frame) == 1
    assert any(issubclass(w.category, RutopicWarning) and "skipped 2" in str(w.message)
               for w in caught)


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"text,label\n", "no rows"),
    ("body,label\nВизы,visas\n".encode(), "no text column"),
    ("text,topic\nВизы,visas\n".encode(), "no label column"),
    ('text,label\nВизы,visas\n"Экспорт",trade,extra\n'.encode(), "line 3: expected 2 fields"),
    ('text,label\n"Визы,visas\n'.encode(), "malformed CSV|line"),
    ("text,label\nВизы,visas\n".encode() + b"\xd0\x92\xd0\xb8\xd0\xd0\x20,trade\n"
     + "Визы снова,visas\n".encode() * 5, "line 3: bytes that are neither"),
])
def test_bad_files_give_clear_errors(tmp_path, content, message):
    path = tmp_path / "d.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        read_table(path)


def test_missing_path_and_unknown_type(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    (tmp_path / "x.docx").write_text("x")
    with pytest.raises(DataError, match="unsupported file type"):
        read_table(tmp_path / "x.docx")


def test_wrong_column_flag_is_named(tmp_path):
    with pytest.raises(DataError, match="no column 'body'.*--text-col"):
        read_table(write_csv(tmp_path / "d.csv"), text_col="body")


@pytest.mark.parametrize("data, encoding", [
    ("Визы".encode("utf-8"), "utf-8"), (b"\xef\xbb\xbf" + "Визы".encode(), "utf-8-sig"),
    ("Визы и экспорт".encode("cp1251"), "cp1251"),
])
def test_sniff_encoding(data, encoding):
    assert sniff_encoding(data) == encoding


def test_decode_reports_the_line_of_bad_bytes():
    data = "строка один\nстрока два\n".encode() + b"\xd0\xd0 bad\n"
    with pytest.raises(DataError, match="line 3"):
        decode_bytes(data, "f.txt")


def test_iter_records_streams_txt_csv_and_jsonl(tmp_path):
    (tmp_path / "a.txt").write_text("Визы\nЭкспорт\n", encoding="cp1251")
    assert list(iter_records(tmp_path / "a.txt")) == [(None, "Визы"), (None, "Экспорт")]
    (tmp_path / "b.csv").write_text("id,text\n10,Визы\n11,Экспорт\n", encoding="utf-8")
    assert list(iter_records(tmp_path / "b.csv")) == [("10", "Визы"), ("11", "Экспорт")]
    (tmp_path / "c.jsonl").write_text('{"id": "x", "text": "Визы"}\n{"text": "Экспорт"}\n',
                                      encoding="utf-8")
    assert list(iter_records(tmp_path / "c.jsonl")) == [("x", "Визы"), (None, "Экспорт")]


def test_iter_records_refuses_bad_lines(tmp_path):
    (tmp_path / "c.jsonl").write_text('{"text": "Визы"}\n{oops\n', encoding="utf-8")
    with pytest.raises(DataError, match="line 2: invalid JSON"):
        list(iter_records(tmp_path / "c.jsonl"))
    (tmp_path / "d.csv").write_text("title,body\nа,б\n", encoding="utf-8")
    with pytest.raises(DataError, match="no text column"):
        list(iter_records(tmp_path / "d.csv"))


def test_parse_csv_is_pure():
    assert parse_csv("text;label\nВизы;visas\n", delimiter=";") == [{"text": "Визы", "label": "visas"}]
