"""The one verdict engine of all five notebooks: intervals, the three rules and the verdict table.

A notebook judges each claim of its paper with one rule and gets a `Verdict`:
- `compare(a, b)`: two groups of per-seed values, Welch's t-test (`scipy.stats.ttest_ind` with
  `equal_var=False`);
- `paired(a, b)`: two models measured on the same units (a seed's data draws, one GAN), the
  paired t-test on the differences (`scipy.stats.ttest_rel`): the units' shared noise cancels;
- `contrast(groups, weights)`: a weighted sum of several groups' means (a 2×2's main effect or
  interaction), Welch's test generalised: each group's own variance, Satterthwaite's degrees of
  freedom;
- `level(values, target)`: "reaches X", a one-sided t-test against the level
  (`scipy.stats.ttest_1samp`);
- `counts(k_a, n_a, k_b, n_b)`: how often something happened (collapsed seeds), Fisher's exact test
  (`scipy.stats.fisher_exact`);
- `exact(holds, ours)`: a claim about a noise-free quantity (a parameter count), decided without
  a test and left out of Holm's correction;
- `not_testable(why)`: a model failed the sanity floor its notebook sets (a collapsed generator, a
  predictor that beats no trivial baseline, a detector at chance), so a comparison is no evidence.
`verdict_table(rows)` applies Holm's correction across the rows of one table and renders it. The
verdicts are "holds", "does not hold", "inconclusive" (inside the noise) and "not testable".
"""

import math
import warnings
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "HOLDS",
    "DOES_NOT_HOLD",
    "INCONCLUSIVE",
    "NOT_TESTABLE",
    "ALPHA",
    "Verdict",
    "mean_ci",
    "clipped_ci",
    "wilson_interval",
    "mean_sd",
    "compare",
    "paired",
    "contrast",
    "level",
    "counts",
    "exact",
    "not_testable",
    "holm",
    "claim",
    "verdict_table",
    "VerdictTable",
]

HOLDS, DOES_NOT_HOLD, INCONCLUSIVE, NOT_TESTABLE = (
    "holds",
    "does not hold",
    "inconclusive",
    "not testable",
)
ALPHA = 0.05  # every rule tests at 95 %; the table's Holm correction keeps it 95 % for the table


def _values(values, name, minimum=2):
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(array) < minimum:
        raise ValueError(f"{name} needs at least {minimum} values (seeds), got {len(array)}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} needs finite values, got {array.tolist()}")
    return array


def mean_ci(values, level=0.95):
    """Mean and the half-width of its Student-t confidence interval over repeated runs (seeds)."""
    from scipy import stats

    values = _values(values, "mean_ci")
    mean = float(values.mean())
    if values.std() == 0:
        return mean, 0.0
    low, _ = stats.t.interval(level, len(values) - 1, loc=mean, scale=stats.sem(values))
    return mean, float(mean - low)


def clipped_ci(values, low=0.0, high=1.0, level=0.95):
    """Mean and its Student-t interval `(mean, lower, upper)`, cut to the range `[low, high]`.

    For bounded scores (accuracy, AUC) over a few seeds, where a skewed spread makes the
    symmetric t-interval run past the bound (e.g. 93 +- 11 %).
    """
    if not low < high:
        raise ValueError(f"clipped_ci needs low < high, got low={low}, high={high}")
    mean, half = mean_ci(values, level)
    return mean, max(low, mean - half), min(high, mean + half)


def wilson_interval(successes, n, level=0.95):
    """Wilson score interval `(low, high)` for a proportion measured once on `n` trials."""
    from scipy import stats

    if n <= 0 or not 0 <= successes <= n:
        raise ValueError(
            f"wilson_interval needs 0 <= successes <= n and n > 0, got {successes}/{n}"
        )
    interval = stats.binomtest(int(successes), int(n)).proportion_ci(level, method="wilson")
    return float(interval.low), float(interval.high)


def significant(x, digits=3):
    """`x` to `digits` significant digits, written out (1210, not 1.21e+03) unless it is below
    1e-4 or from 1e6 on, where scientific notation is shorter."""
    if x == 0 or not np.isfinite(x) or not 1e-4 <= abs(x) < 1e6:
        return f"{x:.{digits}g}"
    return np.format_float_positional(x, precision=digits, unique=False, fractional=False, trim="-")


def mean_sd(values, digits=3, unit=""):
    """'mean ± sd unit (n)', the mean to `digits` significant digits and the standard deviation
    to 2: how a notebook quotes per-seed values (`unit`, e.g. "%", follows the spread)."""
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(values) == 0:
        raise ValueError("mean_sd needs at least one value")
    unit = f" {unit}" if unit else ""
    if len(values) == 1:
        return f"{significant(values[0], digits)}{unit} (1 seed)"
    mean, sd = values.mean(), values.std(ddof=1)
    return f"{significant(mean, digits)} ± {significant(sd, 2)}{unit} ({len(values)})"


@dataclass(frozen=True)
class Verdict:
    """A rule's outcome: the verdict, its p-value (None for "not testable"), the rule's name and
    what was compared, as text a table can show."""

    verdict: str
    p: float | None
    rule: str
    ours: str
    detail: dict = field(default_factory=dict)

    def __str__(self):
        return self.verdict


def _decide(p_for, p_against, alpha):
    if p_for < alpha:
        return HOLDS
    if p_against < alpha:
        return DOES_NOT_HOLD
    return INCONCLUSIVE


def compare(a, b, higher_is_better=True, names=("A", "B"), digits=3, alpha=ALPHA, log=False):
    """Does "a beats b" hold on per-seed values? Welch's two-sided t-test at `alpha`.

    With 3 seeds a side the gap must be about 4 standard errors, not 2: few seeds make a wide
    noise band. Two groups without any spread differ decisively when their means differ.
    `log=True` tests the logarithms (a ratio), for positive values whose noise is a share of
    their size, such as timings: one slowed run then weighs as a ratio, not in seconds.
    """
    from scipy import stats

    a, b = _values(a, "compare"), _values(b, "compare")
    if log and (a.min() <= 0 or b.min() <= 0):
        raise ValueError(f"compare(log=True) needs positive values, got {a.tolist()} and {b.tolist()}")  # fmt: skip
    x, y = (np.log(a), np.log(b)) if log else (a, b)
    sign = 1 if higher_is_better else -1
    gap = sign * (x.mean() - y.mean())
    if x.std() == 0 and y.std() == 0:
        p = 1.0 if gap == 0 else 0.0
    else:
        with warnings.catch_warnings():  # nearly equal values: scipy warns, the p-value stands
            warnings.simplefilter("ignore", RuntimeWarning)
            p = float(stats.ttest_ind(x, y, equal_var=False).pvalue)
    verdict = INCONCLUSIVE if p >= alpha else (HOLDS if gap > 0 else DOES_NOT_HOLD)
    ours = f"{names[0]} {mean_sd(a, digits)} vs {names[1]} {mean_sd(b, digits)}"
    rule = f"Welch t-test{' on logs (a ratio)' if log else ''}, {'higher' if higher_is_better else 'lower'} is better"  # fmt: skip
    return Verdict(verdict, p, rule, ours, {"a": a.tolist(), "b": b.tolist()})


def paired(a, b, higher_is_better=True, names=("A", "B"), digits=3, alpha=ALPHA, log=False):
    """Does "a beats b" hold when `a[i]` and `b[i]` were measured on the same unit `i`? The
    two-sided paired t-test at `alpha` on the differences `a - b`.

    Two detectors trained on the same seed's draw and tested on the same images share that draw's
    luck; a per-unit difference removes it, which Welch's `compare` cannot. Differences without
    any spread decide by their sign. `log=True` tests the per-unit log ratios, for positive
    values such as the timings of one interleaved round (a busy round slows both by a share).
    """
    from scipy import stats

    a, b = _values(a, "paired"), _values(b, "paired")
    if len(a) != len(b):
        raise ValueError(f"paired needs one value of each per unit, got {len(a)} and {len(b)}")
    if log and (a.min() <= 0 or b.min() <= 0):
        raise ValueError(f"paired(log=True) needs positive values, got {a.tolist()} and {b.tolist()}")  # fmt: skip
    differences = np.log(a) - np.log(b) if log else a - b
    gap = (1 if higher_is_better else -1) * differences.mean()
    if differences.std() == 0:
        p = 1.0 if gap == 0 else 0.0
    else:
        p = float(stats.ttest_1samp(differences, 0.0).pvalue)
    verdict = INCONCLUSIVE if p >= alpha else (HOLDS if gap > 0 else DOES_NOT_HOLD)
    if log:
        ours = f"{names[0]} / {names[1]}: {mean_sd(np.exp(differences), digits)} (paired ratio)"
    else:
        ours = f"{names[0]} − {names[1]}: {mean_sd(differences, digits)} (paired)"
    rule = f"paired t-test{' on logs (a ratio)' if log else ''}, {'higher' if higher_is_better else 'lower'} is better"  # fmt: skip
    return Verdict(verdict, p, rule, ours, {"a": a.tolist(), "b": b.tolist()})


def contrast(groups, weights, higher_is_better=True, names=("A", "B"), digits=3, alpha=ALPHA):
    """Is a contrast of group means, sum(weights[i] * mean(groups[i])), above 0 (below when lower
    is better)? Welch's two-sided t-test generalised to several groups at `alpha`.

    In a 2×2 the encoder's main effect is weights (1/2, 1/2, -1/2, -1/2) over the arms (LSTM with
    and without the adversary, conv with and without): every run counts and the other factor's
    effect cancels instead of counting as noise. Each group keeps its own variance (a two-way ANOVA
    would pool them), with Satterthwaite's degrees of freedom; two groups with weights (1, -1) give
    exactly `compare`. `names` name the positive and the negative side.
    """
    from scipy import stats

    groups = [_values(g, "contrast") for g in groups]
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape != (len(groups),):
        raise ValueError(f"contrast needs one weight per group: {len(groups)} groups, weights {weights.tolist()}")  # fmt: skip
    if not math.isclose(weights.sum(), 0, abs_tol=1e-9) or not np.any(weights):
        raise ValueError(f"contrast weights must sum to 0 and not all be 0, got {weights.tolist()}")  # fmt: skip
    sign = 1 if higher_is_better else -1
    estimate = float(sum(w * g.mean() for w, g in zip(weights, groups, strict=True)))
    shares = np.array([w**2 * g.var(ddof=1) / len(g) for w, g in zip(weights, groups, strict=True)])
    error = float(np.sqrt(shares.sum()))
    dof = math.inf
    if error == 0:
        p = 1.0 if estimate == 0 else 0.0
    else:
        dof = shares.sum() ** 2 / sum(v**2 / (len(g) - 1) for v, g in zip(shares, groups, strict=True))  # fmt: skip
        p = float(2 * stats.t.sf(abs(estimate) / error, dof))
    verdict = INCONCLUSIVE if p >= alpha else (HOLDS if sign * estimate > 0 else DOES_NOT_HOLD)
    runs = sum(len(g) for g in groups)
    ours = f"{names[0]} − {names[1]}: {significant(estimate, digits)} ± {significant(error, 2)} (standard error, {runs} runs)"  # fmt: skip
    rule = f"Welch t-test on a contrast, {'higher' if higher_is_better else 'lower'} is better"
    detail = {"groups": [g.tolist() for g in groups], "weights": weights.tolist(), "estimate": estimate,
              "standard error": error, "dof": dof}  # fmt: skip
    return Verdict(verdict, p, rule, ours, detail)


def level(values, target, at_least=True, digits=3, alpha=ALPHA, unit=""):
    """Does "reaches `target`" hold (or "stays below", with `at_least=False`)?

    One-sided t-tests of the mean against the level: holds when the one-sided 95 % interval lies
    past the target, does not hold when it lies short of it, inconclusive when it contains it.
    The p-value is that of the side the mean lies on; `unit` (e.g. "%") labels the values.
    """
    from scipy import stats

    values = _values(values, "level")
    if values.std() == 0:
        gap = values.mean() - target
        above, below = (0.0, 1.0) if gap > 0 else (1.0, 0.0) if gap < 0 else (1.0, 1.0)
    else:
        with warnings.catch_warnings():  # nearly equal values: scipy warns, the p-value stands
            warnings.simplefilter("ignore", RuntimeWarning)
            above = float(stats.ttest_1samp(values, target, alternative="greater").pvalue)
            below = float(stats.ttest_1samp(values, target, alternative="less").pvalue)
    p_for, p_against = (above, below) if at_least else (below, above)
    rule = f"one-sided t-test against {target:g} ({'at least' if at_least else 'at most'})"
    return Verdict(
        _decide(p_for, p_against, alpha),
        min(p_for, p_against),
        rule,
        mean_sd(values, digits, unit),
        {"values": values.tolist(), "target": target},
    )


def counts(k_a, n_a, k_b, n_b, fewer_is_better=True, names=("A", "B"), alpha=ALPHA):
    """Does A have fewer (or, with `fewer_is_better=False`, more) events than B? Fisher's exact
    two-sided test on `k_a` of `n_a` against `k_b` of `n_b` (e.g. collapsed seeds)."""
    from scipy import stats

    for k, n in ((k_a, n_a), (k_b, n_b)):
        if n <= 0 or not 0 <= k <= n:
            raise ValueError(f"counts needs 0 <= k <= n and n > 0, got {k}/{n}")
    p = float(stats.fisher_exact([[k_a, n_a - k_a], [k_b, n_b - k_b]]).pvalue)
    gap = (k_b / n_b - k_a / n_a) * (1 if fewer_is_better else -1)
    verdict = INCONCLUSIVE if p >= alpha or gap == 0 else (HOLDS if gap > 0 else DOES_NOT_HOLD)
    ours = f"{names[0]} {k_a}/{n_a} vs {names[1]} {k_b}/{n_b}"
    return Verdict(verdict, p, "Fisher's exact test", ours, {"a": (k_a, n_a), "b": (k_b, n_b)})


def exact(holds, ours, rule="exact count, no noise"):
    """The verdict of a claim about a quantity without noise (a parameter count, a file's size in
    bytes): "holds" or "does not hold" as measured, with no p-value, so Holm leaves it out."""
    if not isinstance(holds, bool | np.bool_):
        raise TypeError(f"exact needs holds as a bool (the measured outcome), got {holds!r}")
    return Verdict(HOLDS if holds else DOES_NOT_HOLD, None, rule, ours)


def not_testable(why, ours="-", rule="sanity floor"):
    """The verdict for a claim that this run cannot test; `why` names the failure. By default the
    model failed its sanity floor; `rule` names another reason (e.g. "beyond this budget")."""
    if not why:
        raise ValueError("not_testable needs the reason, e.g. 'generator collapsed: recall 0.01'")
    return Verdict(NOT_TESTABLE, None, f"{rule}: {why}", ours)


def holm(pvalues):
    """Holm's step-down adjusted p-values, in the input order (None stays None).

    Sorted ascending, the i-th of m p-values (from 0) is multiplied by m - i, made monotone
    non-decreasing and capped at 1; a row holds at 95 % for the family when its adjusted p < 0.05.
    """
    indexed = [(p, i) for i, p in enumerate(pvalues) if p is not None]
    for p, _ in indexed:
        if not 0 <= p <= 1 or math.isnan(p):
            raise ValueError(f"holm needs p-values in [0, 1], got {p}")
    adjusted = [None] * len(pvalues)
    running = 0.0
    for rank, (p, i) in enumerate(sorted(indexed)):
        running = max(running, min(1.0, (len(indexed) - rank) * p))
        adjusted[i] = running
    return adjusted


def claim(text, result, paper="-", scope="-"):
    """One row of a verdict table: the paper's claim, its number, our `Verdict`, and the scope
    (the budget and data the verdict is about, e.g. "digits, 15 epochs, 3 seeds")."""
    if not isinstance(result, Verdict):
        raise TypeError(f"claim {text!r} needs a Verdict from compare/level/counts/not_testable")
    return {"claim": text, "paper": paper, "result": result, "scope": scope}


COLUMNS = ("claim", "paper", "ours", "rule", "p", "Holm p", "verdict", "scope")


@dataclass(frozen=True)
class VerdictTable:
    """Rows after Holm's correction; shows as Markdown in a notebook and as dicts in `rows`."""

    rows: list
    alpha: float

    def verdict_of(self, text):
        """The corrected verdict of the row whose claim is `text`."""
        for row in self.rows:
            if row["claim"] == text:
                return row["verdict"]
        raise KeyError(f"no claim {text!r}; claims are {[r['claim'] for r in self.rows]}")

    def caption(self):
        tested = sum(row["p"] is not None for row in self.rows)
        return (
            f"Holm-corrected across the {tested} tested rows of this table (family-wise "
            f"{1 - self.alpha:.0%}); a row holds or does not hold only when its Holm p < "
            f"{self.alpha:g}, otherwise it is inconclusive."
        )

    def markdown(self):
        lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
        for row in self.rows:
            cells = [_cell(row[c]) for c in COLUMNS]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + f"\n\n*{self.caption()}*"

    def _repr_markdown_(self):
        return self.markdown()


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2g}" if value >= 0.001 else "< 0.001"
    return str(value).replace("|", "\\|")


def verdict_table(rows, alpha=ALPHA):
    """Holm-correct the claims of one notebook (rows from `claim`) and return the table.

    A decisive row whose adjusted p is not below `alpha` becomes "inconclusive"; "not testable"
    and `exact` rows (no p-value) take no part in the correction.
    """
    if not rows:
        raise ValueError("verdict_table needs at least one claim")
    adjusted = holm([row["result"].p for row in rows])
    table = []
    for row, p_holm in zip(rows, adjusted, strict=True):
        result = row["result"]
        verdict = result.verdict
        if p_holm is not None and p_holm >= alpha and verdict in (HOLDS, DOES_NOT_HOLD):
            verdict = INCONCLUSIVE
        table.append(
            {
                "claim": row["claim"],
                "paper": row["paper"],
                "ours": result.ours,
                "rule": result.rule,
                "p": result.p,
                "Holm p": p_holm,
                "verdict": verdict,
                "scope": row["scope"],
                "uncorrected": result.verdict,
            }
        )
    return VerdictTable(table, alpha)
