"""Mutation score of the unit tests (`make mutate`; slow, so not part of `make test`).

mutmut (configured in pyproject.toml's `[tool.mutmut]`) makes small changes ("mutants") to the
modules where a silent bug would change a file or a verdict (an operator, a constant, a
condition, a keyword argument) and runs the fast tests that cover each changed function. A
mutant the tests notice is *killed*; one they miss *survives*. This script runs mutmut one
module at a time and writes, per module, how many mutants were killed out of those tested, and
every survivor, to `results/mutation.json`; `EQUIVALENT` marks the survivors that cannot change
behaviour, and why.

    python benchmarks/mutation.py                          # every module
    python benchmarks/mutation.py keraslstm/metrics.py     # one module
    python benchmarks/mutation.py "keraslstm/codec/entropy.py:xǁContextModelǁ*"  # a chunk of one
    python benchmarks/mutation.py --children 1 ...         # fewer processes on a shared machine

A chunk (module:function pattern, mutmut's mangled names: `x_name` for a function,
`xǁClassǁmethod` for a method) runs part of a module; the module's score then counts the
mutants tested so far, and `not checked` says how many are left.

Mutant names (e.g. `keraslstm.metrics.x_psnr__mutmut_3`) number the mutants of one function in
order; a change to that function renumbers them, so `EQUIVALENT` is checked against the code at
the commit that `results/mutation.json` names.
"""

import argparse
import datetime
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUTMUT = Path(sys.executable).with_name("mutmut")
RESULTS = ROOT / "results" / "mutation.json"

# module file -> the functions whose mutants count (api.py: its rate control only, the rest of
# that file is the network's tile loop, covered by the slower tests of test_codec.py)
MODULES = {
    "keraslstm/codec/fileformat.py": ["*"],
    "keraslstm/codec/entropy.py": ["*"],
    "keraslstm/codec/api.py": ["x__block_errors", "x__encode_for_budget", "x__choose_rate"],
    "keraslstm/metrics.py": ["*"],
    "keraslstm/config.py": ["*"],
    "keraslstm/stats.py": ["*"],
}

# Surviving mutants that cannot change what the code does, and why (see the module docstring).
EQUIVALENT = {}


def _patterns(module, functions=None):
    dotted = module.removesuffix(".py").replace("/", ".")
    return [f"{dotted}.{function}__mutmut_*" for function in functions or MODULES[module]]


def _statuses(module):
    """{mutant name: status} of the mutants of `module` that count, from mutmut's record."""
    import fnmatch

    from mutmut.stats import status_by_exit_code

    meta = json.loads((ROOT / "mutants" / f"{module}.meta").read_text())
    patterns = _patterns(module)
    return {
        name: status_by_exit_code[code]
        for name, code in meta["exit_code_by_key"].items()
        if any(fnmatch.fnmatch(name, p) for p in patterns)
    }


def _children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def score(statuses):
    """Counts per status, and killed / tested (timeouts count as killed, as mutmut counts them)."""
    counts = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    killed = counts.get("killed", 0) + counts.get("timeout", 0)
    tested = sum(n for status, n in counts.items() if status not in ("skipped", "not checked"))
    return counts, (killed / tested if tested else None)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", default=list(MODULES), help="module[:function]")
    parser.add_argument("--children", type=int, default=2, help="parallel mutant runs")
    args = parser.parse_args(argv)
    record = json.loads(RESULTS.read_text()) if RESULTS.exists() else {"modules": {}}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    for chunk in args.modules:
        module, _, function = chunk.partition(":")
        if module not in MODULES:
            parser.error(f"unknown module {module!r}; choose from {', '.join(MODULES)}")
        start, cpu = time.perf_counter(), _children_cpu()
        patterns = _patterns(module, [function] if function else None)
        command = [str(MUTMUT), "run", "--max-children", str(args.children), *patterns]
        subprocess.run(command, cwd=ROOT, check=True)
        previous = record["modules"].get(module, {})
        carried = previous if function and previous.get("commit") == commit else {}
        statuses = _statuses(module)
        counts, killed = score(statuses)
        survivors = {n: s for n, s in statuses.items() if s not in ("killed", "timeout", "not checked")}  # fmt: skip
        record["modules"][module] = {
            "killed share": None if killed is None else round(killed, 4),
            "mutants": len(statuses),
            **counts,
            "functions": MODULES[module],
            "survivors": {
                name: {"status": status, "equivalent": EQUIVALENT.get(name)}
                for name, status in sorted(survivors.items())
            },
            "seconds": round(time.perf_counter() - start + carried.get("seconds", 0), 1),
            "cpu seconds": round(_children_cpu() - cpu + carried.get("cpu seconds", 0), 1),
            "commit": commit,
            "date": datetime.date.today().isoformat(),
        }
        share = "no mutant tested" if killed is None else f"{killed:.1%} killed"
        print(f"{module}: {share} ({counts})")
    record["tool"] = "mutmut " + subprocess.run([str(MUTMUT), "--version"], capture_output=True,
                                                 text=True).stdout.split()[-1]  # fmt: skip
    RESULTS.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
