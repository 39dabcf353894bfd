"""End to end through the installed ``rutopic`` command: train -> predict -> evaluate."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def rutopic_command() -> str:
    found = Path(sys.executable).parent / "rutopic"
    if found.exists():
        return str(found)
    path = shutil.which("rutopic")
    if path is None:
        pytest.skip("the rutopic command is not installed (pip install .)")
    return path


def run(*args, env, input=None):
    return subprocess.run([rutopic_command(), *map(str, args)], env=env, input=input,
                          capture_output=True, text=True, timeout=300)


def test_train_predict_evaluate_on_the_bundled_corpus(tmp_path):
    env = {**os.environ, "RUTOPIC_HOME": str(tmp_path / "home")}
    train = run("train", env=env)
    assert train.returncode == 0, train.stderr
    assert "macro-F1" in train.stdout
    assert "\x1b[" not in train.stderr  # plain log lines when not a terminal

    text = ("Специальный представитель ЕС встретился с президентом Казахстана; МИД сообщил об "
            "упрощении визового режима для казахстанцев")
    pred = run("predict", text, "--format", "jsonl", env=env)
    assert pred.returncode == 0, pred.stderr
    row = json.loads(pred.stdout)
    assert row["id"] == 0 and set(row["labels"]) == {"diplomacy", "visas"}

    piped = run("predict", env=env, input="Экспорт пшеницы вырос\nМатч закончился вничью\n")
    assert [json.loads(line)["id"] for line in piped.stdout.splitlines()] == [0, 1]

    data = tmp_path / "labelled.csv"
    data.write_text("text,labels\nЭкспорт пшеницы в Египет вырос на 20%,trade\n"
                    "МИД вызвал посла Польши и вручил ноту протеста,diplomacy\n"
                    "Отменены визы для граждан Казахстана,visas\n"
                    "Кайрат выиграл у Тобола со счётом 2:1,other\n", encoding="utf-8")
    evaluate = run("evaluate", data, "--format", "json", env=env)
    assert evaluate.returncode == 0, evaluate.stderr
    assert json.loads(evaluate.stdout)["n"] == 4

    missing = run("predict", "x", "--model", tmp_path / "nowhere", env=env)
    assert missing.returncode == 2 and missing.stderr.count("\n") == 1
