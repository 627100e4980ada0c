"""Measured numbers of each notebook, and the summary table that `make reproduce` writes.

`record("05_lstm_image_compression", psnr_db=28.1, ms_ssim_025=dict(claim=..., paper=0.904,
ours=0.87))` writes `results/05_lstm_image_compression.json`. A value is a number (a plain
measurement) or a dict with `ours` and optionally `paper`, `claim` and `note` (the caveat a
reader of the summary needs: budget, test set, what the verdict rests on). In quick mode the files go
to `results/quick/`, so test runs never overwrite the numbers of a full run.
`keraslstm.results.main()` (run by `make reproduce`) builds `results/summary.md` from the full-run files.
"""

import json
import math
import os
from pathlib import Path

from keraslstm.config import quick_mode

__all__ = ["results_dir", "record", "load", "summary", "markdown_table"]


def results_dir(quick=None):
    """`$KERASLSTM_RESULTS`, else `results/` in the project root (the folder with pyproject.toml
    above the working directory), else `./results`; with `quick/` below it in quick mode."""
    if "KERASLSTM_RESULTS" in os.environ:
        root = Path(os.environ["KERASLSTM_RESULTS"])
    else:
        here = Path.cwd().resolve()
        project = next((p for p in (here, *here.parents) if (p / "pyproject.toml").exists()), here)
        root = project / "results"
    quick = quick_mode() if quick is None else quick
    return root / "quick" if quick else root


_KEYS = ("claim", "paper", "ours", "note")


def _entry(name, value):
    if isinstance(value, dict):
        unknown = set(value) - set(_KEYS)
        if "ours" not in value or unknown:
            raise ValueError(
                f"result {name!r} must be a number or a dict with 'ours' and optionally "
                f"'paper', 'claim' and 'note', got keys {sorted(value)}"
            )
        return {key: value.get(key) for key in _KEYS}
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"result {name!r} must be a number, a string or a dict, got {value!r}")
    return {**dict.fromkeys(_KEYS), "ours": value}


def record(notebook, **figures):
    """Write `figures` (name -> number or {claim, paper, ours}) to `<results_dir>/<notebook>.json`."""
    if not figures:
        raise ValueError("record needs at least one figure, e.g. record('01_x', psnr_db=20.5)")
    entries = {name: _entry(name, value) for name, value in figures.items()}
    path = results_dir() / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"notebook": notebook, "quick_mode": quick_mode(), "figures": entries}
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return path


def load(directory=None):
    """All recorded notebooks in `directory` (default: the full-run results), sorted by name.

    Other JSON files there (`benchmarks.json`) are not notebook records and are left out.
    """
    directory = Path(directory) if directory is not None else results_dir(quick=False)
    payloads = [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]
    return [p for p in payloads if "notebook" in p and "figures" in p]


def markdown_table(rows, columns=None):
    """A Markdown table of `rows` (dicts; `columns` picks and orders the keys)."""
    if not rows:
        raise ValueError("markdown_table needs at least one row")
    columns = list(columns or rows[0])
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join(_format(row.get(c)) for c in columns) + " |")
    return "\n".join(lines)


def _format(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    return str(value)


def summary(directory=None):
    """Markdown: one table per notebook (what was measured or claimed, paper, ours, note)."""
    runs = load(directory)
    lines = ["# Results", "", "Numbers measured by the last full run of each notebook.", ""]
    if not runs:
        lines.append("No notebook has recorded results yet.")
    for run in runs:
        lines += [
            f"## {run['notebook']}",
            "",
            "| what | paper | ours | note |",
            "|---|---|---|---|",
        ]
        for name, entry in run["figures"].items():
            what = entry.get("claim") or name  # a claim names the row; never both
            cells = [what, _format(entry["paper"]), _format(entry["ours"]), entry.get("note") or ""]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main():
    directory = results_dir(quick=False)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "summary.md"
    path.write_text(summary(directory) + "\n")
    print(f"wrote {path}")
    return path
