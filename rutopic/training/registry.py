"""A local model registry: immutable versions, a champion pointer, an append-only history.

    registry/
      v0001/ v0002/ ...   full model directories (model.joblib, compact.npz, metadata.json)
      champion            the serving version's name, replaced atomically (temp, fsync, rename)
      history.jsonl       one JSON event per line: trained, promoted, rejected, rolled_back, ...
      .lock               held by a running retrain

Like MLflow's champion/challenger aliases, but local and serverless. Versions are written to a
temporary directory and renamed into place, so a process killed at any moment leaves no
half-written version visible and the champion untouched.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import shutil
import socket
import time
from pathlib import Path
from typing import Any, Optional

import typer

from rutopic.errors import ModelNotFoundError, RegistryError
from rutopic.model.persistence import CHAMPION_FILE, write_atomic
HISTORY_FILE = "history.jsonl"
LOCK_FILE = ".lock"
VERSION_RE = re.compile(r"^v(\d{4,})$")
CHANGES = ("promoted", "rolled_back")


def default_registry() -> Path:
    from rutopic.model.persistence import data_home

    return data_home() / "registry"


def versions(registry: Path) -> list[str]:
    """Version names, oldest first (only complete, renamed-into-place directories)."""
    if not Path(registry).is_dir():
        return []
    names = [p.name for p in Path(registry).iterdir() if p.is_dir() and VERSION_RE.match(p.name)]
    return sorted(names, key=lambda n: int(n[1:]))


def next_version(registry: Path) -> str:
    existing = versions(registry)
    return f"v{int(existing[-1][1:]) + 1 if existing else 1:04d}"


def champion(registry: Path) -> Optional[str]:
    pointer = Path(registry) / CHAMPION_FILE
    if not pointer.exists():
        return None
    return pointer.read_text(encoding="utf-8").strip() or None


def champion_dir(registry: Path) -> Path:
    """The directory of a registry's champion version."""
    name = champion(registry)
    if name is None:
        raise ModelNotFoundError(f"{registry} has no champion yet; run `rutopic retrain` first")
    path = Path(registry) / name
    if not path.is_dir():
        raise ModelNotFoundError(f"{registry}: champion {name} is missing; "
                                 "run `rutopic models rollback` or `rutopic models promote V`")
    return path


def set_champion(registry: Path, name: str) -> None:
    write_atomic(Path(registry) / CHAMPION_FILE, name + "\n")


def record(registry: Path, event: str, **fields: Any) -> dict:
    """Append one event to history.jsonl (one write, fsynced): who, when, what."""
    entry = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "event": event,
             "user": _user(), "host": socket.gethostname(), **fields}
    line = json.dumps(entry, ensure_ascii=False, default=str) + "\n"
    fd = os.open(Path(registry) / HISTORY_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return entry


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


def history(registry: Path) -> list[dict]:
    path = Path(registry) / HISTORY_FILE
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except ValueError:  # a torn last line from a crash: ignore it
                continue
    return out


def lineage(registry: Path) -> list[str]:
    """Champions in order of promotion, with rolled-back ones removed (last = current)."""
    stack: list[str] = []
    for e in history(registry):
        if e["event"] == "promoted":
            stack.append(e["version"])
        elif e["event"] == "rolled_back" and stack:
            stack.pop()
    return stack


def previous_champion(registry: Path) -> Optional[str]:
    chain = lineage(registry)
    return chain[-2] if len(chain) >= 2 else None


def add_version(registry: Path, model, *, metadata: dict) -> str:
    """Save ``model`` as the next immutable version (temp dir, then rename); return its name."""
    from rutopic.model.persistence import save_model

    registry = Path(registry)
    registry.mkdir(parents=True, exist_ok=True)
    name = next_version(registry)
    staging = registry / f".{name}.staging-{os.getpid()}"
    save_model(model, staging, metadata={**metadata, "version": name})
    os.rename(staging, registry / name)  # a new name: never replaces an existing version
    return name


def promote(registry: Path, name: str, *, reason: str = "manual", **fields: Any) -> dict:
    """Make ``name`` the champion and record it."""
    registry = Path(registry)
    if name not in versions(registry):
        raise RegistryError(f"{registry}: no version {name}; see `rutopic models list`")
    previous = champion(registry)
    set_champion(registry, name)
    return record(registry, "promoted", version=name, previous=previous, reason=reason, **fields)


def rollback(registry: Path) -> dict:
    """Return to the previous champion."""
    registry = Path(registry)
    current, target = champion(registry), previous_champion(registry)
    if target is None:
        raise RegistryError(f"{registry}: no previous champion to roll back to")
    if target not in versions(registry):
        raise RegistryError(f"{registry}: previous champion {target} was deleted")
    set_champion(registry, target)
    return record(registry, "rolled_back", version=current, to=target)


def prune(registry: Path, keep: int) -> list[str]:
    """Delete the oldest versions beyond ``keep``, never the champion or its predecessor."""
    if keep < 1:
        raise RegistryError(f"--keep must be at least 1, got {keep}")
    registry = Path(registry)
    protected = {champion(registry), previous_champion(registry)} - {None}
    names = versions(registry)
    removable = [n for n in names if n not in protected]
    excess = len(names) - keep
    deleted = []
    for name in removable[:max(0, excess)]:
        shutil.rmtree(registry / name)
        deleted.append(name)
    if deleted:
        record(registry, "deleted", versions=deleted, keep=keep)
    return deleted


def clean_staging(registry: Path) -> list[str]:
    """Remove staging directories left by killed retrains (they were never visible)."""
    removed = []
    for p in Path(registry).glob(".v*.staging-*"):
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p.name)
    return removed


def version_summary(registry: Path, name: str) -> dict:
    from rutopic.model.persistence import read_metadata

    meta = read_metadata(Path(registry) / name)
    gate = meta.get("gate") or {}
    return {"version": name, "created": meta.get("created"),
            "macro_f1": (gate.get("challenger") or {}).get("macro_f1"),
            "n_items": meta.get("training_data", {}).get("n_items"),
            "status": gate.get("decision")}


# -- CLI ----------------------------------------------------------------------------------------
models_app = typer.Typer(name="models", help="Inspect and manage a model registry.",
                         no_args_is_help=True)

REGISTRY_OPTION = typer.Option(None, "--registry", "-r",
                               help="Registry directory; default: $RUTOPIC_HOME/registry.")


def _registry(path: Optional[Path]) -> Path:
    registry = Path(path) if path is not None else default_registry()
    if not registry.is_dir():
        raise RegistryError(f"no registry at {registry}; run `rutopic retrain` to create one")
    return registry


@models_app.command("list")
def list_cli(registry: Optional[Path] = REGISTRY_OPTION) -> None:
    """List versions, newest last, with the champion marked.

    Example: rutopic models list --registry /srv/rutopic/registry
    """
    reg = _registry(registry)
    current, prev = champion(reg), previous_champion(reg)
    typer.echo(f"{'version':<8} {'created':<25} {'macro-F1':>8} {'items':>7}  status")
    for name in versions(reg):
        s = version_summary(reg, name)
        decided = {"kept": "rejected"}.get(s["status"], s["status"] or "")
        mark = "champion" if name == current else "previous" if name == prev else decided
        f1 = f"{s['macro_f1']:.3f}" if s["macro_f1"] is not None else "-"
        typer.echo(f"{name:<8} {s['created'] or '?':<25} {f1:>8} {s['n_items'] or '-':>7}  {mark}")


@models_app.command("show")
def show_cli(version: str = typer.Argument(..., help="Version name, e.g. v0003."),
             registry: Optional[Path] = REGISTRY_OPTION) -> None:
    """Show one version's metadata as JSON.

    Example: rutopic models show v0003
    """
    from rutopic.model.persistence import read_metadata

    reg = _registry(registry)
    if version not in versions(reg):
        raise RegistryError(f"{reg}: no version {version}; see `rutopic models list`")
    typer.echo(json.dumps(read_metadata(reg / version), ensure_ascii=False, indent=2))


@models_app.command("promote")
def promote_cli(version: str = typer.Argument(..., help="Version to serve, e.g. v0003."),
                registry: Optional[Path] = REGISTRY_OPTION) -> None:
    """Make a version the champion (by hand, skipping the gate).

    Example: rutopic models promote v0003
    """
    reg = _registry(registry)
    promote(reg, version, reason="manual")
    typer.echo(f"champion is now {version}")


@models_app.command("rollback")
def rollback_cli(registry: Optional[Path] = REGISTRY_OPTION) -> None:
    """Return to the previous champion.

    Example: rutopic models rollback
    """
    entry = rollback(_registry(registry))
    typer.echo(f"champion is now {entry['to']} (was {entry['version']})")


@models_app.command("prune")
def prune_cli(keep: int = typer.Option(..., "--keep", "-k", help="Versions to keep."),
              registry: Optional[Path] = REGISTRY_OPTION) -> None:
    """Delete the oldest versions beyond --keep (never the champion or its predecessor).

    Example: rutopic models prune --keep 5
    """
    deleted = prune(_registry(registry), keep)
    typer.echo(f"deleted {', '.join(deleted)}" if deleted else "nothing to delete")
