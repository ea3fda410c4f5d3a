"""Run records: one JSON file per run, written atomically, with provenance."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import torch

from .config import Config


class RecordError(RuntimeError):
    """A record file cannot be read; it is named, never skipped or overwritten silently."""


def record_path(out: str | os.PathLike, config: Config) -> Path:
    return Path(out) / f"{config.run_name()}.json"


def checkpoint_path(out: str | os.PathLike, config: Config) -> Path:
    """Where a run (or an ensemble led by it) saves its training state until its record is written."""
    return Path(out) / f".{config.run_name()}.ckpt"


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Write ``path`` by ``write(file)`` into a temporary file beside it, then rename that: neither a reader nor a kill
    midway ever sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_record(path: str | os.PathLike, record: dict[str, Any]) -> Path:
    """Write ``record`` as strict JSON (non-finite numbers become null), atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(_finite(record), indent=1, allow_nan=False) + "\n"
    return atomic_write(path, lambda f: f.write(text.encode()))


def _finite(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by None, for strict JSON parsers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return [_finite(v) for v in value] if isinstance(value, (list, tuple)) else value


def read_record(path: str | os.PathLike) -> dict[str, Any]:
    """One record; RecordError naming the file if it is not a complete record."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise RecordError(f"{path}: not a readable JSON record ({err}); move it away or delete it to re-run that configuration") from None
    missing = [k for k in ("config", "history", "q34", "provenance") if k not in record] if isinstance(record, dict) else ["all"]
    if missing:
        raise RecordError(f"{path}: record lacks {missing}; move it away or delete it to re-run that configuration")
    return record


def load_records(folder: str | os.PathLike) -> list[dict[str, Any]]:
    """Every ``*.json`` record under ``folder`` (recursively), sorted by name."""
    if Path(folder).exists() and not Path(folder).is_dir():
        raise RecordError(f"{folder} is not a folder of records")
    return [read_record(p) for p in sorted(Path(folder).rglob("*.json"))]


def cpu_model() -> str:
    """The processor's name as Linux reports it (``platform.processor()`` elsewhere)."""
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10, cwd=Path(__file__).parent)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def provenance(device: torch.device) -> dict[str, Any]:
    """What is needed to tell why two runs differ: code version, library versions, hardware."""
    import torchvision

    status = _git("status", "--porcelain", "--untracked-files=no")
    commit = _git("rev-parse", "HEAD")
    if os.environ.get("SEEDINIT_GIT_COMMIT"):  # a copy of the code whose .git is missing or stale (a remote worker)
        commit, status = os.environ["SEEDINIT_GIT_COMMIT"], os.environ.get("SEEDINIT_GIT_STATUS")
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    return {
        "git_commit": commit,
        "git_dirty": None if status is None else bool(status),
        "seedinit": version("seedinit"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "device": gpu or f"cpu ({platform.machine()}, {torch.get_num_threads()} threads)",
        "machine": f"{cpu_model()}, {os.cpu_count()} cores" + (f", {gpu}" if gpu else ""),
        "platform": platform.platform(),
    }
