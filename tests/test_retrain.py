"""Registry and scheduled retraining: promotion, rejection, rollback, retention, lock, kills."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from typer.testing import CliRunner

from rutopic.cli import app
from rutopic.datasets import load_news
from rutopic.errors import LockedError, ModelIntegrityError, RegistryError
from rutopic.model.persistence import load_model
from rutopic.training import registry as reg
from rutopic.training.retrain import EXIT_KEPT, GateConfig, frozen_test_mask, retrain

FAST = {"calibration_cv": 2}


def write_week(path, frame, *, corrupt=False):
    """Write labelled items as JSONL; ``corrupt`` rotates every label set to a wrong one."""
    rows = frame.to_dict("records")
    labels = [r["labels"] for r in rows]
    if corrupt:
        labels = labels[7:] + labels[:7]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r, labs in zip(rows, labels):
            f.write(json.dumps({"text": r["text"], "labels": labs}, ensure_ascii=False) + "\n")
    return path


@pytest.fixture(scope="module")
def corpus():
    return load_news(as_frame=True).sample(frac=1.0, random_state=0).reset_index(drop=True)


def run_round(registry, incoming, **kw):
    return retrain([incoming], registry=registry, bundled=False, params=FAST, **kw)


def check_registry_is_sound(registry):
    """Every visible version is complete and verifies; the champion loads."""
    for name in reg.versions(registry):
        load_model(registry / name, compact=True)
    if reg.champion(registry):
        load_model(registry=registry, compact=True).predict_labels(["Экспорт зерна вырос"])


def test_promote_promote_reject_rollback_and_retention(tmp_path, corpus):
    registry, incoming = tmp_path / "reg", tmp_path / "incoming"
    write_week(incoming / "week1.jsonl", corpus.iloc[:500])
    first = run_round(registry, incoming)
    assert first["decision"] == "promoted" and reg.champion(registry) == "v0001"

    write_week(incoming / "week2.jsonl", corpus.iloc[500:1500])
    second = run_round(registry, incoming)
    assert second["decision"] == "promoted" and reg.champion(registry) == "v0002"
    assert second["challenger"]["macro_f1"] >= second["champion"]["macro_f1"]

    write_week(incoming / "week3.jsonl", corpus.iloc[1500:3500], corrupt=True)
    third = run_round(registry, incoming)
    assert third["decision"] == "kept" and reg.champion(registry) == "v0002"
    assert any("dropped" in r or "<" in r for r in third["reasons"])
    events = [e["event"] for e in reg.history(registry)]
    assert events == ["trained", "promoted", "trained", "promoted", "trained", "rejected"]

    reg.rollback(registry)
    assert reg.champion(registry) == "v0001"
    with pytest.raises(RegistryError, match="no previous champion"):
        reg.rollback(registry)
    reg.promote(registry, "v0002")
    assert reg.prune(registry, keep=1) == ["v0003"]  # champion and predecessor survive
    assert reg.versions(registry) == ["v0001", "v0002"]
    check_registry_is_sound(registry)


def test_unchanged_data_trains_nothing_and_dry_run_changes_nothing(tmp_path, corpus):
    registry, incoming = tmp_path / "reg", tmp_path / "incoming"
    write_week(incoming / "a.jsonl", corpus.iloc[:400])
    run_round(registry, incoming)
    assert run_round(registry, incoming)["decision"] == "unchanged"
    write_week(incoming / "b.jsonl", corpus.iloc[400:800])
    before = (registry / reg.HISTORY_FILE).read_text()
    dry = run_round(registry, incoming, dry_run=True)
    assert dry["decision"] == "dry-run" and reg.versions(registry) == ["v0001"]
    assert (registry / reg.HISTORY_FILE).read_text() == before


def test_duplicates_dropped_and_conflicts_reported(tmp_path, corpus):
    incoming = tmp_path / "incoming"
    part = corpus.iloc[:300]
    write_week(incoming / "a.jsonl", part)
    write_week(incoming / "b.jsonl", part.iloc[:50])  # exact duplicates
    clash = part.iloc[50:53].copy()
    clash["labels"] = [["other"] if labs != ["other"] else ["trade"] for labs in clash["labels"]]
    write_week(incoming / "c.jsonl", clash)
    report = run_round(tmp_path / "reg", incoming, dry_run=True)
    assert report["data"]["duplicates_dropped"] == 53
    assert report["data"]["conflicts"] == 3 and report["data"]["n_items"] == 300


def test_frozen_split_is_stable_as_data_grows(corpus):
    from rutopic.model.text import normalise

    norm = [normalise(t) for t in corpus["text"].iloc[:1000]]
    small = frozen_test_mask(norm[:400], 20)
    grown = frozen_test_mask(norm, 20)
    assert (small == grown[:400]).all()
    assert 0.12 < grown.mean() < 0.28


def test_tampered_version_is_refused(tmp_path, corpus):
    registry, incoming = tmp_path / "reg", tmp_path / "incoming"
    write_week(incoming / "a.jsonl", corpus.iloc[:300])
    run_round(registry, incoming)
    with open(registry / "v0001" / "model.joblib", "r+b") as f:
        f.seek(100)
        f.write(b"\x00\x01\x02")
    with pytest.raises(ModelIntegrityError):
        load_model(registry=registry)


def test_gate_config_from_toml_and_errors(tmp_path):
    path = tmp_path / "gate.toml"
    path.write_text("[gate]\ntolerance = 0.01\nkeep = 3\n")
    config = GateConfig.load(path, max_label_drop=0.1)
    assert (config.tolerance, config.keep, config.max_label_drop) == (0.01, 3, 0.1)
    path.write_text("[gate]\nbogus = 1\n")
    with pytest.raises(Exception, match="unknown gate setting"):
        GateConfig.load(path)


def test_cli_exit_codes_and_report(tmp_path, corpus):
    runner = CliRunner()
    registry, incoming = tmp_path / "reg", tmp_path / "incoming"
    write_week(incoming / "a.jsonl", corpus.iloc[:500])
    args = ["retrain", "--data", str(incoming), "--registry", str(registry), "--no-bundled", "-q"]
    ok = runner.invoke(app, args + ["--report", str(tmp_path / "r.json")])
    assert ok.exit_code == 0, ok.output
    assert "PROMOTED v0001" in ok.stdout
    assert json.loads((tmp_path / "r.json").read_text())["decision"] == "promoted"
    write_week(incoming / "b.jsonl", corpus.iloc[500:2500], corrupt=True)
    kept = runner.invoke(app, args)
    assert kept.exit_code == EXIT_KEPT and "KEPT v0001" in kept.stdout
    listing = runner.invoke(app, ["models", "list", "--registry", str(registry)])
    assert "champion" in listing.stdout and "v0002" in listing.stdout
    assert runner.invoke(app, ["models", "show", "v0009", "-r", str(registry)]).exit_code == 2
    pred = runner.invoke(app, ["predict", "Экспорт зерна вырос", "--model", str(registry),
                               "--format", "jsonl"])
    assert pred.exit_code == 0 and json.loads(pred.stdout)["labels"]


def test_second_retrain_exits_75_while_one_runs(tmp_path):
    from filelock import FileLock

    registry = tmp_path / "reg"
    registry.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from filelock import FileLock
        with FileLock({str(registry / reg.LOCK_FILE)!r}):
            print("locked", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        start = time.monotonic()
        with pytest.raises(LockedError):
            retrain([], registry=registry)
        result = CliRunner().invoke(app, ["retrain", "--registry", str(registry), "-q"])
        assert result.exit_code == 75 and "another retrain is running" in result.stderr
        assert time.monotonic() - start < 10
    finally:
        holder.kill()
        holder.wait()
    assert FileLock(str(registry / reg.LOCK_FILE)).acquire(timeout=1)


KILL_SCRIPT = """
import pathlib, sys, time
import rutopic.model.persistence as P
from rutopic.model.estimator import TopicClassifier
from rutopic.training.retrain import retrain

mark, phase = pathlib.Path(sys.argv[1]), sys.argv[2]
if phase == "training":
    fit = TopicClassifier.fit
    def slow_fit(self, X, y):
        mark.write_text("training")
        time.sleep(60)
        return fit(self, X, y)
    TopicClassifier.fit = slow_fit
else:
    write = P._write_file
    def slow_write(path, fn):
        write(path, fn)
        mark.write_text(path.name)
        time.sleep(60)
    P._write_file = slow_write
retrain([sys.argv[3]], registry=sys.argv[4], bundled=False, params={"calibration_cv": 2})
"""


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["training", "saving"])
def test_sigkill_leaves_the_champion_untouched(tmp_path, corpus, phase):
    registry, incoming = tmp_path / "reg", tmp_path / "incoming"
    write_week(incoming / "a.jsonl", corpus.iloc[:400])
    run_round(registry, incoming)
    champion_before = (registry / reg.CHAMPION_FILE).read_text()
    write_week(incoming / "b.jsonl", corpus.iloc[400:900])
    mark = tmp_path / "mark"
    child = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(mark), phase,
                              str(incoming), str(registry)])
    deadline = time.monotonic() + 120
    while not mark.exists() and time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
    assert mark.exists(), "the child never reached the phase"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert (registry / reg.CHAMPION_FILE).read_text() == champion_before
    assert reg.versions(registry) == ["v0001"]  # nothing half-written is visible
    check_registry_is_sound(registry)
    # the next run cleans up and works
    assert run_round(registry, incoming)["decision"] in ("promoted", "kept")
    assert not list(registry.glob(".v*.staging-*"))


def test_disk_full_during_save_keeps_the_champion(tmp_path, corpus, monkeypatch):
    import errno

    import rutopic.model.persistence as P

    registry, incoming = tmp_path / "reg", tmp_path / "incoming"
    write_week(incoming / "a.jsonl", corpus.iloc[:400])
    run_round(registry, incoming)
    write_week(incoming / "b.jsonl", corpus.iloc[400:900])

    def full(path, write):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(P, "_write_file", full)
    with pytest.raises(OSError):
        run_round(registry, incoming)
    monkeypatch.undo()
    assert reg.champion(registry) == "v0001" and reg.versions(registry) == ["v0001"]
    assert not list(registry.glob(".v*"))
    check_registry_is_sound(registry)
