"""Each benchmark's numbers as a JSON record beside its printout, for the book's performance page."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from seedinit.records import provenance, write_record

RESULTS = Path(__file__).parent / "results"


def save(name: str, args: argparse.Namespace, results: dict[str, Any], device: torch.device) -> Path:
    """Write ``benchmarks/results/<name>-<cpu|cuda>.json`` with the arguments, results and provenance."""
    record = {"benchmark": name, "args": vars(args), "results": results, "provenance": provenance(device)}
    path = write_record(RESULTS / f"{name}-{device.type}.json", record)
    print(f"recorded in {path}")
    return path
