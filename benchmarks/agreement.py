"""Do several `make benchmark` runs agree? Each ratio's median against every run's range.

Copy `results/benchmarks.json` after each run, then pass the copies:

    python benchmarks/agreement.py run1.json run2.json run3.json run4.json

For every ratio the benchmarks report (our LSTM cell against Keras's, hard sigmoid against
sigmoid, the codec's encoding time over its decoding time), prints each run's median and
interquartile range and "agree" when every run's median lies inside every run's range
(`keraslstm.timing.agree`), "differ" otherwise. Exits with status 1 when any ratio differs.
"""

import argparse
import json
import sys

from keraslstm.timing import Spread, agree


def reported_ratios(report):
    """{name: Spread} of every ratio in one `benchmarks.json`."""
    found = {
        f"lstm_cell: {name}": Spread(**value)
        for name, value in report.get("lstm_cell", {}).get("ratios", {}).items()
    }
    for rate, speed in report.get("codec", {}).get("throughput", {}).items():
        if "encode_time_over_decode_time" in speed:
            found[f"codec: encode / decode time at {rate}"] = Spread(
                **speed["encode_time_over_decode_time"]
            )
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="+", help="copies of results/benchmarks.json")
    args = parser.parse_args()
    if len(args.reports) < 2:
        parser.error(f"agreement needs at least two runs' reports, got {len(args.reports)}")
    runs = []
    for path in args.reports:
        try:
            runs.append(reported_ratios(json.loads(open(path).read())))
        except (OSError, json.JSONDecodeError, TypeError) as error:
            parser.error(f"{path} is not a readable benchmarks.json: {error}")
    names = [name for name in runs[0] if all(name in run for run in runs)]
    if not names:
        parser.error("the reports share no ratio: were they written by make benchmark?")
    all_agree = True
    for name in names:
        spreads = [run[name] for run in runs]
        verdict = "agree" if agree(spreads) else "differ"
        all_agree &= verdict == "agree"
        print(f"{name}: {verdict}")
        for path, s in zip(args.reports, spreads, strict=True):
            print(f"    {s}  {path}")
    sys.exit(0 if all_agree else 1)


if __name__ == "__main__":
    main()
