"""Measured numbers of each notebook, and the summary table that `make reproduce` writes.

`record("05_lstm_image_compression", psnr_db=28.1, ms_ssim_025=dict(claim=..., paper=0.904,
ours=0.87))` writes `05_lstm_image_compression.json` to this run's folder. A value is a number (a
plain measurement) or a dict with `ours` and optionally `paper`, `claim` and `note` (the caveat a
reader of the summary needs: budget, test set, what the verdict rests on).

Where a run writes (numbers and figures alike), so that a student's run never touches the
committed results and `git pull` never conflicts:
- `results/` itself: full mode with `KERASLSTM_WRITE_RESULTS=1`, which only `make reproduce` sets;
- `results/quick/`: quick mode (the tests);
- `results/local/`: every other run (lab mode, or full size run interactively).
`results/quick/` and `results/local/` are ignored by git.
`keraslstm.results.main()` (run by `make reproduce`) builds `results/summary.md` from the full-run files.
"""

import json
import math
import os
from pathlib import Path

import numpy as np

from keraslstm.config import mode, quick_mode

__all__ = [
    "project_root",
    "results_dir",
    "relative",
    "record",
    "load",
    "summary",
    "markdown_table",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def project_root():
    """The folder holding pyproject.toml at or above the working directory (notebooks run in
    `notebooks/`), else the working directory."""
    here = Path.cwd().resolve()
    return next((p for p in (here, *here.parents) if (p / "pyproject.toml").exists()), here)


def _writes_committed_results():
    value = os.environ.get("KERASLSTM_WRITE_RESULTS", "").strip().lower()
    if value not in _TRUE | _FALSE:
        raise ValueError(
            f"KERASLSTM_WRITE_RESULTS must be one of 1/0/true/false/yes/no/on/off, got {value!r}"
        )
    return value in _TRUE


def results_dir(quick=None):
    """The results folder: `$KERASLSTM_RESULTS`, else `results/` in the project root.

    `quick=False` is the committed full-run results (what `load` and `main` read), `quick=True`
    its `quick/` subfolder. The default is where this run writes: `quick/` in quick mode, the
    results folder itself in full mode under `KERASLSTM_WRITE_RESULTS=1` (`make reproduce`), and
    `local/` otherwise.
    """
    if "KERASLSTM_RESULTS" in os.environ:
        root = Path(os.environ["KERASLSTM_RESULTS"])
    else:
        root = project_root() / "results"
    if quick is not None:
        return root / "quick" if quick else root
    current, write = mode(), _writes_committed_results()
    if current == "quick":
        return root / "quick"
    if current == "full" and write:
        return root
    return root / "local"


def relative(path):
    """`path` relative to the project root when it lies inside it (what notebooks print: no
    machine's folder names in committed outputs), else unchanged."""
    path = Path(path)
    try:
        return path.resolve().relative_to(project_root())
    except ValueError:
        return path


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


def _table(name, rows):
    if not isinstance(rows, list) or not rows or not all(isinstance(r, dict) for r in rows):
        raise ValueError(f"table {name!r} must be a non-empty list of dicts (one per row)")
    for row in rows:
        for key, value in row.items():
            if value is not None and not isinstance(value, (int, float, str)):
                raise ValueError(f"table {name!r}: {key!r} must be a number or a string, got {value!r}")  # fmt: skip
    return rows


def _series(name, mapping):
    if not isinstance(mapping, dict) or not mapping:
        raise ValueError(f"series {name!r} must be a non-empty dict of name -> list of numbers")
    checked = {}
    for key, values in mapping.items():
        values = np.asarray(values, dtype=np.float64) if np.ndim(values) == 1 else None
        if values is None or not np.all(np.isfinite(values)):
            raise ValueError(f"series {name!r}: {key!r} must be a list of finite numbers, got {mapping[key]!r}")  # fmt: skip
        checked[str(key)] = [round(float(v), 6) for v in values]
    return checked


def record(notebook, tables=None, series=None, **figures):
    """Write `figures` (name -> number or {claim, paper, ours}) to `<results_dir()>/<notebook>.json`.

    `tables` (name -> list of row dicts of numbers and strings, e.g. every run of a grid) and
    `series` (name -> {model: list of numbers}, e.g. the error per frame ahead) go beside the
    figures, under their names. Returns the file's path, relative to the project root when it
    lies inside it.
    """
    if not figures:
        raise ValueError("record needs at least one figure, e.g. record('01_x', psnr_db=20.5)")
    entries = {name: _entry(name, value) for name, value in figures.items()}
    tables = {name: _table(name, rows) for name, rows in (tables or {}).items()}
    tables |= {name: _series(name, mapping) for name, mapping in (series or {}).items()}
    clash = sorted({"notebook", "mode", "quick_mode", "figures"} & set(tables))
    if clash:
        raise ValueError(f"table and series names {clash} are reserved for the record's own keys")
    path = results_dir() / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"notebook": notebook, "mode": mode(), "quick_mode": quick_mode(), "figures": entries}
    payload |= tables
    path.write_text(json.dumps(payload, indent=2, default=float) + "\n")
    return relative(path)


def load(directory=None):
    """All recorded notebooks in `directory` (default: the full-run results), sorted by name.

    Other JSON files there (`benchmarks.json`) are not notebook records and are left out.
    """
    directory = Path(directory) if directory is not None else results_dir(quick=False)
    payloads = [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]
    return [p for p in payloads if "notebook" in p and "figures" in p]


def recorded(notebook, key, directory=None):
    """What a full run of `notebook` recorded under `key` (a table, series or "figures").

    Lab mode reads the full run's numbers where a class cannot wait for them (notebook 03's
    exercise 1); a clear error says which run writes them when they are missing.
    """
    path = (
        Path(directory) if directory is not None else results_dir(quick=False)
    ) / f"{notebook}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"{relative(path)} is missing: a full run (`make reproduce`) writes it"
        )
    payload = json.loads(path.read_text())
    if key not in payload:
        raise KeyError(f"{relative(path)} records no {key!r}; it records {sorted(payload)}")
    return payload[key]


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
    print(f"wrote {relative(path)}")
    return path
