"""The rutopic command through typer's CliRunner: commands, formats, errors and exit codes."""

import json

import pytest
from typer.testing import CliRunner

from rutopic.cli import app

runner = CliRunner()


def run(*args, input=None):
    return runner.invoke(app, [str(a) for a in args], input=input)


@pytest.fixture()
def trained(home, small_jsonl):
    result = run("train", small_jsonl, "--test-size", "0.3", "--param", "min_df=1", "-q")
    assert result.exit_code == 0, result.output
    return home / "model"


def test_version_and_help():
    assert run("--version").output.startswith("rutopic ")
    for cmd in ("train", "evaluate", "predict", "info"):
        result = run(cmd, "--help")
        assert result.exit_code == 0 and "Examples" in result.output


def test_train_prints_scores_and_saves(trained):
    assert (trained / "metadata.json").exists()
    meta = json.loads((trained / "metadata.json").read_text())
    assert meta["heldout_metrics"]["n"] > 0 and meta["training_data"]["n_items"] == 30


def test_train_output_has_the_per_label_table(home, small_jsonl):
    result = run("train", small_jsonl, "--param", "min_df=1", "-q")
    assert "precision" in result.output and "macro-F1" in result.output
    assert "saved to" in result.output


def test_predict_jsonl_contract(trained):
    result = run("predict", "Экспорт пшеницы вырос", "Визы отменили", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == [0, 1]
    for r in rows:
        assert set(r) == {"id", "labels", "scores"}
        assert set(r["scores"]) == {"diplomacy", "other", "trade", "visas"}
        assert all(0 <= p <= 1 for p in r["scores"].values()) and r["labels"]


def test_predict_input_file_keeps_ids_and_order(trained, tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("id,text\na1,Экспорт пшеницы вырос\nb2,Визы отменили\n", encoding="utf-8")
    result = run("predict", "--input", path, "--format", "jsonl", "--explain")
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["a1", "b2"]
    assert all("explanation" in r for r in rows)


def test_predict_reads_stdin_and_other_formats(trained):
    result = run("predict", "--format", "csv", input="Экспорт вырос\nВизы отменили\n")
    lines = result.stdout.splitlines()
    assert lines[0] == "id,labels,diplomacy,other,trade,visas" and len(lines) == 3
    result = run("predict", "Экспорт вырос", "--format", "json")
    assert json.loads(result.stdout)[0]["id"] == 0
    result = run("predict", "Экспорт вырос", "--format", "table", "--top-k", "1")
    assert result.exit_code == 0 and "Экспорт вырос" in result.stdout


def test_evaluate_json_keys(trained, small_jsonl):
    result = run("evaluate", small_jsonl, "--format", "json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"macro_f1", "accuracy", "per_label", "n"} <= set(out)
    assert set(out["per_label"]["trade"]) == {"precision", "recall", "f1", "support"}
    assert out["n"] == 30


def test_evaluate_text_and_plot(trained, small_jsonl, tmp_path):
    pytest.importorskip("matplotlib")
    result = run("evaluate", small_jsonl, "--plot", tmp_path / "cm.png")
    assert result.exit_code == 0 and "confusion matrix" in result.output
    assert (tmp_path / "cm.png").stat().st_size > 1000


def test_info(trained):
    result = run("info")
    assert result.exit_code == 0 and "multi-label" in result.output
    assert json.loads(run("info", "--json").stdout)["labels"] == ["diplomacy", "other", "trade",
                                                                  "visas"]


def one_line_error(result, code=2):
    assert result.exit_code == code, result.output
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith("rutopic: error:"), result.stderr
    assert result.stderr.rstrip().endswith(errors[0]) and "Traceback" not in result.output
    return errors[0]


@pytest.mark.parametrize("args, message", [
    (["predict", "текст"], "run `rutopic train`"),
    (["train", "missing.csv"], "no such file"),
    (["predict", "--bogus"], "No such option"),
    (["train", "--test-size", "abc"], "Invalid value"),
    (["info", "--model", "/nonexistent/model"], "no model at"),
])
def test_bad_input_is_one_line_exit_2(home, args, message):
    assert message in one_line_error(run(*args))


@pytest.mark.parametrize("content, message", [
    ("text,label\nВизы,visas\nЕщё визы,visas\n", "only one label"),
    ("", "is empty"),
    ("body,label\nа,б\n", "no text column"),
    ('text,label\nВизы,visas\n"Экспорт",trade,x\n', "line 3"),
])
def test_bad_training_data_is_one_line_exit_2(home, tmp_path, content, message):
    path = tmp_path / "d.csv"
    path.write_text(content, encoding="utf-8")
    assert message in one_line_error(run("train", path))


def test_predict_option_checks(trained):
    assert "--top-k" in one_line_error(run("predict", "x", "--top-k", "0"))
    assert "--threshold" in one_line_error(run("predict", "x", "--threshold", "2"))


def test_tampered_model_is_refused_with_exit_2(trained):
    with open(trained / "compact.npz", "ab") as f:
        f.write(b"x")
    assert "sha256" in one_line_error(run("predict", "Визы"))


def test_debug_shows_the_traceback(home):
    result = run("--debug", "predict", "текст")
    assert result.exit_code == 2 and "Traceback" in result.stderr
