"""``rutopic retrain``: scheduled retraining that never makes the served model worse.

Gathers the bundled corpus plus every labelled file under ``--data``, drops duplicates (by
normalised text) and reports conflicting labels, freezes the evaluation set by a stable hash
of each item's normalised text, trains a challenger, scores challenger and champion on exactly
the same items, and promotes the challenger only when the gate passes. Exit codes for cron:
0 promoted or unchanged, 3 kept (gate failed), 2 bad input, 75 another retrain running,
1 failure.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from rutopic.errors import LockedError, RutopicError

EXIT_PROMOTED, EXIT_KEPT = 0, 3


@dataclass
class GateConfig:
    """When a challenger may replace the champion (a ``[gate]`` table in a TOML file)."""

    tolerance: float = 0.0        # challenger macro-F1 may trail the champion's by this much
    max_label_drop: float = 0.03  # ... and no label's F1 may drop by more than this
    min_macro_f1: float = 0.6     # the first model is promoted only above this
    test_percent: int = 20        # share of items in the frozen evaluation set
    min_test_items: int = 20      # fewer frozen items than this: refuse to judge
    keep: Optional[int] = None    # retention: keep this many versions (None: keep all)

    @classmethod
    def load(cls, path: Optional[Path], **overrides) -> "GateConfig":
        values: dict[str, Any] = {}
        if path is not None:
            values.update(read_toml(Path(path)).get("gate", {}))
        values.update({k: v for k, v in overrides.items() if v is not None})
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise RutopicError(f"{path}: unknown gate setting(s) {', '.join(sorted(unknown))}; "
                               f"known: {', '.join(sorted(known))}")
        config = cls(**values)
        if not 1 <= config.test_percent <= 50:
            raise RutopicError(f"test_percent must be within 1..50, got {config.test_percent}")
        return config


def read_toml(path: Path) -> dict:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RutopicError(f"{path}: no such config file; check --config") from None
    except tomllib.TOMLDecodeError as e:
        raise RutopicError(f"{path}: invalid TOML ({e}); fix the file") from None


def frozen_test_mask(norm_texts: list[str], percent: int):
    """True for items in the frozen evaluation set: a stable hash of the normalised text,
    so an item never moves between train and test as data grows."""
    import numpy as np

    return np.array([int(hashlib.sha256(t.encode("utf-8")).hexdigest()[:8], 16) % 100 < percent
                     for t in norm_texts], dtype=bool)


def gather(data: list, *, bundled: bool, text_col=None, label_col=None):
    """All labelled items (bundled first, then each path in order), deduplicated.

    Returns (frame, info): a later copy of the same normalised text replaces an earlier one;
    copies whose labels disagree are counted as conflicts and the last one wins.
    """
    import pandas as pd

    from rutopic.datasets import BUNDLED, load_data
    from rutopic.model.text import normalise

    frames, sources = [], []
    if bundled:
        frames.append(load_data(None))
        sources.append(BUNDLED)
    for path in data:
        frames.append(load_data(path, text_col=text_col, label_col=label_col))
        sources.append(str(path))
    if not frames:
        raise RutopicError("no data: pass --data PATH or drop --no-bundled")
    frame = pd.concat(frames, ignore_index=True)
    frame["norm"] = [normalise(t) for t in frame["text"]]
    frame["labelset"] = frame["labels"].map(lambda labs: "|".join(sorted(labs)))
    conflicts = []
    for norm, group in frame.groupby("norm", sort=False):
        if group["labelset"].nunique() > 1:
            conflicts.append({"text": group["text"].iloc[-1][:80],
                              "labels": group["labelset"].tolist()})
    deduped = frame.drop_duplicates("norm", keep="last").reset_index(drop=True)
    info = {"sources": sources, "n_read": int(len(frame)), "n_items": int(len(deduped)),
            "duplicates_dropped": int(len(frame) - len(deduped)),
            "conflicts": len(conflicts), "conflict_examples": conflicts[:5]}
    return deduped, info


def gate(challenger: dict, champion: Optional[dict], config: GateConfig) -> tuple[bool, list[str]]:
    """(promote?, reasons) for challenger vs champion metrics on the same frozen items."""
    reasons = []
    if champion is None:
        ok = challenger["macro_f1"] >= config.min_macro_f1
        reasons.append(f"first model: macro-F1 {challenger['macro_f1']:.3f} "
                       f"{'>=' if ok else '<'} minimum {config.min_macro_f1:.3f}")
        return ok, reasons
    ok = True
    floor = champion["macro_f1"] - config.tolerance
    if challenger["macro_f1"] < floor:
        ok = False
        reasons.append(f"macro-F1 {challenger['macro_f1']:.3f} < champion "
                       f"{champion['macro_f1']:.3f} - tolerance {config.tolerance:.3f}")
    for label, m in champion["per_label"].items():
        new = challenger["per_label"].get(label)
        if new is None or m["support"] == 0:
            continue
        drop = m["f1"] - new["f1"]
        if drop > config.max_label_drop:
            ok = False
            reasons.append(f"{label} F1 dropped {drop:.3f} ({m['f1']:.3f} -> {new['f1']:.3f}) "
                           f"> limit {config.max_label_drop:.3f}")
    if ok:
        reasons.append(f"macro-F1 {challenger['macro_f1']:.3f} vs champion "
                       f"{champion['macro_f1']:.3f}; no label dropped more than "
                       f"{config.max_label_drop:.3f}")
    return ok, reasons


def retrain(data: list | tuple = (), *, registry=None, bundled: bool = True,
            config: GateConfig | None = None, dry_run: bool = False, force: bool = False,
            params: dict | None = None,
            text_col: str | None = None, label_col: str | None = None,
            progress: Callable[[str], None] | None = None) -> dict:
    """One retraining round; returns the report (``decision``: promoted, kept, unchanged or
    dry-run). With the champion's data and parameters unchanged nothing is trained unless
    ``force``."""
    from filelock import FileLock, Timeout

    from rutopic.training import registry as reg

    registry = Path(registry) if registry is not None else reg.default_registry()
    config = config or GateConfig()
    step = progress or (lambda s: None)
    registry.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(registry / reg.LOCK_FILE))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise LockedError(f"another retrain is running on {registry} (lock {lock.lock_file}); "
                          "this run exits, the next scheduled one will try again") from None
    try:
        return _retrain_locked(list(data), registry, bundled, config, dry_run, force,
                               params or {}, text_col, label_col, step)
    finally:
        lock.release()


def _retrain_locked(data, registry, bundled, config, dry_run, force, params, text_col, label_col,
                    step):
    from rutopic.model.estimator import TopicClassifier
    from rutopic.model.persistence import load_model, read_metadata
    from rutopic.training import registry as reg
    from rutopic.training.metrics import compute_metrics
    from rutopic.training.train import check_labels, data_digest

    reg.clean_staging(registry)
    step("gathering data")
    frame, info = gather(data, bundled=bundled, text_col=text_col, label_col=label_col)
    check_labels(frame, ", ".join(info["sources"]))
    digests = [data_digest(None if s == "bundled" else s) for s in info["sources"]]
    info["sha256"] = hashlib.sha256("".join(d["sha256"] for d in digests).encode()).hexdigest()
    before = reg.champion(registry)
    if before is not None and not force:
        seen = read_metadata(registry / before).get("training_data", {})
        if seen.get("sha256") == info["sha256"] and seen.get("params", {}) == params:
            report = {"decision": "unchanged", "would_promote": False, "version": None,
                      "reasons": [f"same data and parameters as champion {before}; "
                                  "nothing to train (use --force to retrain anyway)"],
                      "registry": str(registry), "champion_before": before,
                      "champion_after": before, "data": info, "challenger": None,
                      "champion": None, "gate": asdict(config)}
            if not dry_run:
                reg.record(registry, "skipped", champion=before, data_sha256=info["sha256"])
            return report
    test = frozen_test_mask(frame["norm"].tolist(), config.test_percent)
    train_part, test_part = frame[~test], frame[test]
    info.update(n_train=int(len(train_part)), n_test=int(len(test_part)))
    if len(test_part) < config.min_test_items:
        raise RutopicError(f"only {len(test_part)} items in the frozen evaluation set "
                           f"(minimum {config.min_test_items}); add data or raise test_percent")
    step(f"training the challenger on {len(train_part)} items")
    try:
        challenger = TopicClassifier(**params).fit(train_part["text"].tolist(),
                                                   train_part["labels"].tolist())
    except TypeError as e:
        raise RutopicError(f"unknown model parameter: {e}") from None
    texts, truth = test_part["text"].tolist(), test_part["labels"].tolist()
    step(f"scoring challenger and champion on the same {len(test_part)} frozen items")
    labels = sorted({lab for labs in frame["labels"] for lab in labs})
    challenger_m = compute_metrics(truth, challenger.predict_labels(texts), labels=labels,
                                   multilabel=challenger.multilabel_)
    champion_m = None
    if before is not None:
        champ = load_model(registry / before, compact=True)
        champion_m = compute_metrics(truth, champ.predict_labels(texts), labels=labels,
                                     multilabel=champ.multilabel)
    promote, reasons = gate(challenger_m, champion_m, config)
    report = {"decision": "dry-run" if dry_run else ("promoted" if promote else "kept"),
              "would_promote": promote, "reasons": reasons, "registry": str(registry),
              "champion_before": before, "champion_after": before, "version": None,
              "data": info, "challenger": challenger_m, "champion": champion_m,
              "gate": asdict(config)}
    if dry_run:
        return report
    step("saving the challenger as a new version")
    meta = {"training_data": {"sources": info["sources"], "sha256": info["sha256"],
                              "n_items": info["n_items"], "n_train": info["n_train"],
                              "n_test": info["n_test"], "params": params},
            "heldout_metrics": challenger_m,
            "gate": {"decision": report["decision"], "reasons": reasons,
                     "challenger": {"macro_f1": challenger_m["macro_f1"]},
                     "champion": ({"version": before, "macro_f1": champion_m["macro_f1"]}
                                  if champion_m else None)}}
    name = reg.add_version(registry, challenger, metadata=meta)
    report["version"] = name
    summary = {"challenger_macro_f1": challenger_m["macro_f1"],
               "champion_macro_f1": champion_m["macro_f1"] if champion_m else None,
               "data_sha256": info["sha256"], "n_items": info["n_items"]}
    reg.record(registry, "trained", version=name, **summary)
    if promote:
        reg.promote(registry, name, reason="gate passed", **summary)
        report["champion_after"] = name
    else:
        reg.record(registry, "rejected", version=name, champion=before, reasons=reasons, **summary)
    if config.keep:
        report["deleted"] = reg.prune(registry, config.keep)
    return report


def format_summary(report: dict) -> str:
    """One screen: data, per-label F1 before/after on the frozen items, the decision."""
    info, new, old = report["data"], report["challenger"], report["champion"]
    if report["decision"] == "unchanged":
        return (f"data: {info['n_items']} items from {', '.join(info['sources'])}\n"
                f"decision: UNCHANGED, champion stays {report['champion_before']}\n"
                f"  {report['reasons'][0]}")
    lines = [f"data: {info['n_items']} items from {', '.join(info['sources'])} "
             f"({info['duplicates_dropped']} duplicates dropped, {info['conflicts']} label "
             f"conflicts); frozen evaluation set: {info['n_test']} items"]
    for c in info["conflict_examples"][:3]:
        lines.append(f"  conflict: {c['text']!r} labelled {' vs '.join(c['labels'])}")
    width = max(len(lab) for lab in new["per_label"]) + 1
    lines.append(f"{'F1':<{width}} {'champion':>9} {'challenger':>11} {'change':>8}")
    for lab, m in new["per_label"].items():
        was = old["per_label"][lab]["f1"] if old and lab in old["per_label"] else None
        lines.append(f"{lab:<{width}} {_num(was):>9} {m['f1']:>11.3f} "
                     f"{_delta(m['f1'], was):>8}")
    was = old["macro_f1"] if old else None
    lines.append(f"{'macro':<{width}} {_num(was):>9} {new['macro_f1']:>11.3f} "
                 f"{_delta(new['macro_f1'], was):>8}")
    decision = report["decision"]
    if decision == "promoted":
        lines.append(f"decision: PROMOTED {report['version']} "
                     f"(champion was {report['champion_before'] or 'none'})")
    elif decision == "kept":
        lines.append(f"decision: KEPT {report['champion_before'] or 'no champion'}; "
                     f"{report['version']} recorded as rejected")
    else:
        lines.append(f"decision: dry run, nothing changed "
                     f"(would {'promote' if report['would_promote'] else 'keep the champion'})")
    lines += [f"  {r}" for r in report["reasons"]]
    if report.get("deleted"):
        lines.append(f"retention: deleted {', '.join(report['deleted'])}")
    return "\n".join(lines)


def _num(x) -> str:
    return "-" if x is None else f"{x:.3f}"


def _delta(new, old) -> str:
    return "" if old is None else f"{new - old:+.3f}"


def retrain_cli(
    data: Optional[list[Path]] = typer.Option(
        None, "--data", "-d", help="Labelled file or folder (repeatable), e.g. incoming/."),
    registry: Optional[Path] = typer.Option(
        None, "--registry", "-r", help="Registry directory; default: $RUTOPIC_HOME/registry."),
    no_bundled: bool = typer.Option(False, "--no-bundled",
                                    help="Leave the bundled corpus out (your own taxonomy)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c",
                                          help="TOML file with a [gate] table."),
    tolerance: Optional[float] = typer.Option(None, "--tolerance",
                                              help="Allowed macro-F1 shortfall vs the champion."),
    max_label_drop: Optional[float] = typer.Option(None, "--max-label-drop",
                                                   help="Largest allowed drop of any label's F1."),
    min_macro_f1: Optional[float] = typer.Option(None, "--min-macro-f1",
                                                 help="Minimum macro-F1 of the first model."),
    keep: Optional[int] = typer.Option(None, "--keep", "-k",
                                       help="Keep this many versions (oldest deleted first)."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write the JSON report here."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Train and score; change nothing."),
    force: bool = typer.Option(False, "--force", help="Retrain even if the data is unchanged."),
    text_col: Optional[str] = typer.Option(None, "--text-col", help="Text column name."),
    label_col: Optional[str] = typer.Option(None, "--label-col", help="Label column name."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines."),
) -> None:
    """Retrain on the bundled corpus plus new labelled data; promote only if not worse.

    Exit codes: 0 promoted (or data unchanged), 3 kept (gate failed), 2 bad input,
    75 another retrain running, 1 failure.

    Examples:

      rutopic retrain --data incoming/ --registry /srv/rutopic/registry --keep 10

      rutopic retrain --data incoming/ --dry-run --report report.json
    """
    from rutopic._console import progress
    from rutopic.model.persistence import save_json_atomic

    gate_config = GateConfig.load(config, tolerance=tolerance, max_label_drop=max_label_drop,
                                  min_macro_f1=min_macro_f1, keep=keep)
    with progress(not quiet) as step:
        result = retrain(data or [], registry=registry, bundled=not no_bundled,
                         config=gate_config, dry_run=dry_run, force=force, text_col=text_col,
                         label_col=label_col, progress=step)
    if report is not None:
        save_json_atomic(report, result)
    typer.echo(format_summary(result))
    sys.stdout.flush()
    if result["decision"] == "kept":
        raise typer.Exit(EXIT_KEPT)
