"""Model registry (see issue: scheduled retraining). Minimal reader until retrain lands."""

from __future__ import annotations

from pathlib import Path

from rutopic.errors import ModelNotFoundError

CHAMPION_FILE = "champion"


def champion_dir(registry: Path) -> Path:
    """The directory of a registry's champion version."""
    pointer = Path(registry) / CHAMPION_FILE
    if not pointer.exists():
        raise ModelNotFoundError(f"{registry} has no champion yet; run `rutopic retrain` first")
    return Path(registry) / pointer.read_text(encoding="utf-8").strip()
