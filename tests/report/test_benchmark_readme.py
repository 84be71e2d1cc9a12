"""The README's inference table is generated from benchmarks/results/inference.json, never typed."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from ticketlab.report.readme_blocks import render_readme

REPO = Path(__file__).resolve().parents[2]


def _benchmark():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("inference_benchmark", REPO / "benchmarks" / "inference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_inference_block_matches_the_committed_results() -> None:
    results = json.loads((REPO / "benchmarks" / "results" / "inference.json").read_text(encoding="utf-8"))
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert render_readme(text, _benchmark().readme_blocks(results)) == text, (
        "README.md's inference table is stale: python benchmarks/inference.py --readme README.md")


def test_verdict_reads_the_ratios_from_the_results() -> None:
    speed = {"dense": {"latency_ms": 1.0, "throughput": 100.0}, "sparse": {"latency_ms": 0.4, "throughput": 350.0},
             "compact": {"latency_ms": 0.6, "throughput": 200.0}}
    results = {"machine": "m", "threads": 1, "torch": "t", "tickets": {"LeNet-300-100 98%": {"speed": speed}}}
    text = _benchmark().verdict(results)
    assert "3.50x dense (sparse; target >= 3x: met)" in text and "0.40x dense (sparse; target <= 0.5x: met)" in text
    speed["sparse"] = {"latency_ms": 0.7, "throughput": 250.0}
    text = _benchmark().verdict(results)
    assert "2.50x dense (sparse; target >= 3x: missed)" in text and "0.60x dense (compact; target <= 0.5x: missed)" in text
