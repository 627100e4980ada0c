"""The verdict engine against SciPy and hand-worked examples."""

import re

import numpy as np
import pytest
from scipy import stats as sps

from keraslstm import stats


def seeds(mean, sd):
    """Three per-seed values with exactly this mean and sample standard deviation."""
    return [mean - sd, mean, mean + sd]


def test_mean_ci_against_the_t_table():
    mean, half = stats.mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0
    assert half == pytest.approx(4.302653 / np.sqrt(3), rel=1e-6)  # t(0.975, 2 dof), sd 1
    assert stats.mean_ci([2.0, 2.0]) == (2.0, 0.0)
    with pytest.raises(ValueError, match="at least 2 values"):
        stats.mean_ci([1.0])
    with pytest.raises(ValueError, match="finite"):
        stats.mean_ci([1.0, np.nan])


def test_clipped_ci_cuts_the_t_interval_at_the_bounds():
    values = [1.0, 1.0, 1.0, 1.0, 0.5]  # skewed: the t-interval runs past 1
    mean, half = stats.mean_ci(values)
    assert mean + half > 1.0
    assert stats.clipped_ci(values) == pytest.approx((mean, mean - half, 1.0))
    assert stats.clipped_ci([0.2, 0.4, 0.6], low=0.3, high=0.5) == pytest.approx((0.4, 0.3, 0.5))
    with pytest.raises(ValueError, match="low < high"):
        stats.clipped_ci(values, low=1.0, high=0.0)


def test_wilson_interval_hand_case():
    low, high = stats.wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    low, high = stats.wilson_interval(100, 100)
    assert high == pytest.approx(1.0) and low == pytest.approx(0.9630, abs=1e-4)
    with pytest.raises(ValueError, match="successes <= n"):
        stats.wilson_interval(5, 4)


def test_mean_sd_quotes_mean_spread_and_seed_count():
    assert stats.mean_sd([1.0, 2.0, 3.0]) == "2 ± 1 (3)"
    assert stats.mean_sd([0.12345, 0.12345], digits=2) == "0.12 ± 0 (2)"
    assert stats.mean_sd([619.0, 622.1, 616.0], digits=3) == "619 ± 3.1 (3)"  # spread to 2 digits
    assert stats.mean_sd([7.0]) == "7 (1 seed)"
    assert stats.mean_sd([1.0, 2.0, 3.0], unit="%") == "2 ± 1 % (3)"  # the unit after the spread
    assert stats.mean_sd([7.0], unit="dB") == "7 dB (1 seed)"
    # written out where Python's "g" would switch to exponents: the same value, readable
    assert stats.mean_sd([1000.0, 1210.0, 1420.0]) == "1210 ± 210 (3)"
    assert float("1210") == float(f"{1210.0:.3g}") and float("210") == float(f"{210.0:.2g}")
    assert (
        stats.mean_sd([6.3e-6, 6.4e-6])
        == f"{6.35e-6:.3g} ± {np.std([6.3e-6, 6.4e-6], ddof=1):.2g} (2)"
    )
    with pytest.raises(ValueError, match="at least one value"):
        stats.mean_sd([])


def test_compare_follows_scipys_welch_test():
    a = [1.0, 1.1, 0.9]
    assert stats.compare(a, [0.5, 0.6, 0.4]).verdict == "holds"
    assert stats.compare([0.5, 0.6, 0.4], a).verdict == "does not hold"
    assert stats.compare([0.5, 0.6, 0.4], a, higher_is_better=False).verdict == "holds"
    for shift in np.linspace(0.05, 0.6, 12):
        b = np.array([0.9, 1.0, 1.25]) - shift
        p = sps.ttest_ind(a, b, equal_var=False).pvalue
        result = stats.compare(a, b)
        assert result.p == pytest.approx(p)
        assert (result.verdict == "holds") == (p < 0.05), shift
        assert (stats.compare(a, b, alpha=0.01).verdict == "holds") == (p < 0.01), shift
    assert stats.compare([1.0, 1.0], [0.0, 0.0]).verdict == "holds"  # no noise at all
    assert stats.compare([1.0, 1.0], [1.0, 1.0]).verdict == "inconclusive"
    with pytest.raises(ValueError, match="at least 2 values"):
        stats.compare([1.0], [0.0, 1.0])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            seeds(0.787, 0.0042),
            seeds(0.83, 0.031),
        ),  # notebook 01: generation accuracy, DLSTM vs RFAGM
        (
            seeds(0.761, 0.037),
            seeds(0.812, 0.002),
        ),  # notebook 01: authenticity, LSTM vs conv encoder
    ],
)
def test_gaps_beyond_two_standard_errors_but_inside_welchs_band_are_inconclusive(a, b):
    se = np.sqrt(np.var(a, ddof=1) / 3 + np.var(b, ddof=1) / 3)
    assert abs(np.mean(a) - np.mean(b)) > 2 * se  # the old 2-SE rule called these decisive
    result = stats.compare(a, b)
    assert result.p == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue)
    assert result.p > 0.05 and result.verdict == "inconclusive"


def test_level_rule_is_a_one_sided_interval_around_the_target():
    values = [0.90, 0.93, 0.945]  # notebook 05's shape: MS-SSIM well short of 0.995
    result = stats.level(values, 0.995)
    upper = sps.t.interval(0.90, 2, loc=np.mean(values), scale=sps.sem(values))[1]  # one-sided 95 %
    assert upper < 0.995 and result.verdict == "does not hold"
    assert result.p == pytest.approx(sps.ttest_1samp(values, 0.995, alternative="less").pvalue)
    assert stats.level(values, 0.85).verdict == "holds"
    assert stats.level(values, 0.93).verdict == "inconclusive"
    assert stats.level(values, 0.85, at_least=False).verdict == "does not hold"
    assert stats.level([0.5, 0.5], 0.4).verdict == "holds"
    for target in np.linspace(0.85, 1.0, 16):
        low, high = sps.t.interval(0.90, 2, loc=np.mean(values), scale=sps.sem(values))
        expected = "holds" if low > target else "does not hold" if high < target else "inconclusive"
        assert stats.level(values, target).verdict == expected, target


def test_counts_is_fishers_exact_test():
    result = stats.counts(0, 5, 5, 5)  # collapsed seeds: 0 of 5 against 5 of 5
    assert result.p == pytest.approx(sps.fisher_exact([[0, 5], [5, 0]]).pvalue)
    assert result.p == pytest.approx(2 / 252)  # two tables as extreme of C(10, 5) = 252
    assert result.verdict == "holds"
    assert stats.counts(5, 5, 0, 5).verdict == "does not hold"
    assert stats.counts(5, 5, 0, 5, fewer_is_better=False).verdict == "holds"
    assert stats.counts(3, 5, 5, 5).verdict == "inconclusive"
    assert stats.counts(2, 5, 2, 5).verdict == "inconclusive"
    with pytest.raises(ValueError, match="0 <= k <= n"):
        stats.counts(6, 5, 0, 5)


def test_holm_against_a_hand_worked_example():
    # sorted 0.01, 0.02, 0.03, 0.04 -> x4, x3, x2, x1 = 0.04, 0.06, 0.06 (monotone), 0.06
    assert stats.holm([0.03, 0.01, None, 0.04, 0.02]) == pytest.approx(
        [0.06, 0.04, None, 0.06, 0.06]
    )
    assert stats.holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])  # capped at 1
    assert stats.holm([]) == []
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        stats.holm([1.5])


def test_verdict_table_turns_rows_that_fail_holm_into_inconclusive():
    strong = stats.compare([1.0, 1.1, 0.9, 1.05], [0.0, 0.1, -0.1, 0.05])
    weak = stats.compare([1.0, 1.1, 0.9], [0.75, 0.8, 0.7])  # p 0.032
    weaker = stats.compare([1.0, 1.1, 0.9], [0.78, 0.83, 0.73])  # p 0.043
    assert strong.verdict == weak.verdict == weaker.verdict == "holds"
    rows = [
        stats.claim("strong", strong, paper="+1", scope="toy, 4 seeds"),
        stats.claim("weak", weak, scope="toy, 3 seeds"),
        stats.claim("weaker", weaker, scope="toy, 3 seeds"),
        stats.claim("broken", stats.not_testable("collapsed: recall 0.01")),
        stats.claim("counted", stats.exact(False, "1,000 vs 1,000")),
    ]
    table = stats.verdict_table(rows)
    assert [row["Holm p"] for row in table.rows] == pytest.approx(
        [3 * strong.p, 2 * weak.p, 2 * weak.p, None, None]  # the last rank is lifted: monotone
    )
    assert table.verdict_of("counted") == "does not hold"  # exact rows keep their verdict
    assert table.verdict_of("strong") == "holds"
    assert table.verdict_of("weak") == table.verdict_of("weaker") == "inconclusive"
    assert table.rows[1]["uncorrected"] == "holds"
    assert table.verdict_of("broken") == "not testable"
    markdown = table.markdown()
    assert (
        markdown.splitlines()[0] == "| claim | paper | ours | rule | p | Holm p | verdict | scope |"
    )
    assert "Holm-corrected across the 3 tested rows" in markdown
    assert "| toy, 4 seeds |" in markdown
    with pytest.raises(KeyError, match="no claim 'other'"):
        table.verdict_of("other")
    with pytest.raises(TypeError, match="needs a Verdict"):
        stats.claim("x", "holds")
    with pytest.raises(ValueError, match="at least one claim"):
        stats.verdict_table([])
    with pytest.raises(ValueError, match="needs the reason"):
        stats.not_testable("")


def test_exact_decides_without_a_test():
    assert stats.exact(True, "3 vs 5").verdict == "holds"
    result = stats.exact(np.int64(7) < np.int64(7), "7 vs 7")  # numpy's bool counts too
    assert (result.verdict, result.p, result.ours) == ("does not hold", None, "7 vs 7")
    with pytest.raises(TypeError, match="holds as a bool"):
        stats.exact("holds", "3 vs 5")


# What each rule reports (text, p, detail) and its exact boundaries: a table reader sees these.


@pytest.mark.filterwarnings("ignore:Precision loss occurred:RuntimeWarning")  # the flat group
def test_compare_reports_what_it_compared_and_decides_strictly_below_alpha():
    result = stats.compare([1.0, 1.1, 0.9], [0.5, 0.6, 0.4])
    assert str(result) == "holds" and result.verdict == stats.HOLDS
    assert result.ours == "A 1 ± 0.1 (3) vs B 0.5 ± 0.1 (3)"
    assert result.rule == "Welch t-test, higher is better"
    assert result.detail == {"a": [1.0, 1.1, 0.9], "b": [0.5, 0.6, 0.4]}
    lower = stats.compare([1.0, 1.1, 0.9], [0.5, 0.6, 0.4], higher_is_better=False, names=("x", "y"), digits=2)  # fmt: skip
    assert lower.verdict == "does not hold" and lower.rule == "Welch t-test, lower is better"
    assert lower.ours == "x 1 ± 0.1 (3) vs y 0.5 ± 0.1 (3)"
    # at p exactly alpha the gap is not significant
    assert stats.compare([1.0, 1.1, 0.9], [0.5, 0.6, 0.4], alpha=result.p).verdict == "inconclusive"
    # one group without spread still goes through Welch's test; two give p 0 or 1
    one_flat = stats.compare([1.0, 1.0, 1.0], [0.5, 0.6, 0.4])
    expected = sps.ttest_ind([1.0, 1.0, 1.0], [0.5, 0.6, 0.4], equal_var=False).pvalue
    assert one_flat.p == pytest.approx(expected)
    assert stats.compare([1.0, 1.0], [0.0, 0.0]).p == 0.0
    assert stats.compare([1.0, 1.0], [1.0, 1.0]).p == 1.0


def test_level_reports_its_target_and_decides_strictly_below_alpha():
    values = [0.9, 0.93, 0.945]
    result = stats.level(values, 0.995)
    assert result.ours == "0.925 ± 0.023 (3)"
    assert result.rule == "one-sided t-test against 0.995 (at least)"
    assert result.detail == {"values": values, "target": 0.995}
    at_most = stats.level(values, 0.995, at_least=False, digits=2)
    assert at_most.verdict == "holds" and at_most.rule == "one-sided t-test against 0.995 (at most)"
    assert at_most.ours == "0.92 ± 0.023 (3)"
    assert stats.level([34.0, 65.0, 20.0], 0.0, at_least=False, unit="%").ours == "39.7 ± 23 % (3)"
    assert stats.level(values, 0.995, at_least=False, alpha=at_most.p).verdict == "inconclusive"
    # without spread: past the target holds at p 0, short of it fails at p 0, on it p 1
    assert (stats.level([0.5, 0.5], 0.4).verdict, stats.level([0.5, 0.5], 0.4).p) == ("holds", 0.0)
    below = stats.level([0.5, 0.5], 0.6)
    assert (below.verdict, below.p) == ("does not hold", 0.0)
    on = stats.level([0.5, 0.5], 0.5)
    assert (on.verdict, on.p) == ("inconclusive", 1.0)


def test_counts_reports_the_counts_and_refuses_empty_groups():
    result = stats.counts(0, 5, 5, 5)
    assert result.ours == "A 0/5 vs B 5/5" and result.rule == "Fisher's exact test"
    assert result.detail == {"a": (0, 5), "b": (5, 5)}
    assert stats.counts(0, 5, 5, 5, alpha=result.p).verdict == "inconclusive"
    assert stats.counts(0, 5, 5, 5, names=("x", "y")).ours == "x 0/5 vs y 5/5"
    with pytest.raises(ValueError, match=r"^counts needs 0 <= k <= n and n > 0, got 0/0$"):
        stats.counts(0, 0, 1, 5)
    with pytest.raises(ValueError, match=r"^counts needs 0 <= k <= n and n > 0, got -1/5$"):
        stats.counts(1, 5, -1, 5)


def test_intervals_at_another_level_and_their_edges():
    z = sps.norm.ppf(0.95)  # Wilson's formula at 90 %, written out
    centre = (0.5 + z**2 / 200) / (1 + z**2 / 100)
    half = z * np.sqrt(0.25 / 100 + z**2 / 40000) / (1 + z**2 / 100)
    assert stats.wilson_interval(50, 100, level=0.9) == pytest.approx(
        (centre - half, centre + half)
    )
    assert stats.wilson_interval(0, 10)[0] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match=r"^wilson_interval needs 0 <= successes <= n and n > 0, got 0/0$"):  # fmt: skip
        stats.wilson_interval(0, 0)
    values = [0.2, 0.4, 0.6]
    half = sps.t.ppf(0.95, 2) * np.std(values, ddof=1) / np.sqrt(3)  # 90 %
    assert stats.mean_ci(values, level=0.9) == pytest.approx((0.4, half))
    assert stats.clipped_ci(values, level=0.9) == pytest.approx((0.4, 0.4 - half, 0.4 + half))
    with pytest.raises(ValueError, match=r"^clipped_ci needs low < high, got low=0.5, high=0.5$"):
        stats.clipped_ci(values, low=0.5, high=0.5)
    assert stats.mean_sd([0.12345, 0.2]) == "0.162 ± 0.054 (2)"  # mean 3 digits, spread 2


def test_not_testable_and_claim_defaults():
    broken = stats.not_testable("collapsed")
    assert (broken.verdict, broken.p, broken.rule, broken.ours) == ("not testable", None, "sanity floor: collapsed", "-")  # fmt: skip
    message = "not_testable needs the reason, e.g. 'generator collapsed: recall 0.01'"
    with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
        stats.not_testable("")
    beyond = stats.not_testable("needs a week of training", rule="beyond this budget")
    assert (beyond.verdict, beyond.rule) == (
        "not testable",
        "beyond this budget: needs a week of training",
    )
    row = stats.claim("x", broken)
    assert row == {"claim": "x", "paper": "-", "result": broken, "scope": "-"}


def test_holm_accepts_the_ends_of_the_unit_interval_only():
    assert stats.holm([0.0, 1.0]) == [0.0, 1.0]
    for bad in (float("nan"), -0.1):
        with pytest.raises(ValueError, match="in \\[0, 1\\]"):
            stats.holm([bad])


def _verdict(p, verdict="holds", ours="o"):
    return stats.Verdict(verdict, p, "rule", ours)


def test_verdict_table_at_exactly_alpha_and_for_failures_too():
    table = stats.verdict_table(
        [
            stats.claim("at alpha", _verdict(0.025)),  # Holm: 2 x 0.025 = 0.05, not below it
            stats.claim("other", _verdict(0.03)),  # lifted to 0.05 to stay monotone
            stats.claim("fails", _verdict(0.001, "does not hold"), paper="p", scope="s"),
            stats.claim("broken", stats.not_testable("collapsed")),
        ]
    )
    assert [row["verdict"] for row in table.rows] == ["inconclusive", "inconclusive", "does not hold", "not testable"]  # fmt: skip
    assert [row["Holm p"] for row in table.rows] == pytest.approx([0.05, 0.05, 0.003, None])
    fails = dict(table.rows[2])
    assert fails.pop("Holm p") == pytest.approx(0.003) and fails == {
        "claim": "fails", "paper": "p", "ours": "o", "rule": "rule", "p": 0.001,
        "verdict": "does not hold", "scope": "s", "uncorrected": "does not hold",
    }  # fmt: skip
    weak_failure = stats.verdict_table([stats.claim("a", _verdict(0.04, "does not hold")), stats.claim("b", _verdict(0.03))])  # fmt: skip
    assert [row["verdict"] for row in weak_failure.rows] == ["inconclusive", "inconclusive"]
    lenient = stats.verdict_table([stats.claim("a", _verdict(0.04)), stats.claim("b", _verdict(0.03))], alpha=0.1)  # fmt: skip
    assert [row["verdict"] for row in lenient.rows] == ["holds", "holds"]
    assert "(family-wise 90%)" in lenient.caption() and "Holm p < 0.1," in lenient.caption()


def test_markdown_of_a_verdict_table_whole():
    table = stats.verdict_table(
        [
            stats.claim("small p", _verdict(0.0004, ours="a | b"), paper="+3", scope="toy"),
            stats.claim("edge", _verdict(0.001)),
            stats.claim("broken", stats.not_testable("collapsed")),
        ]
    )
    assert table.markdown() == (
        "| claim | paper | ours | rule | p | Holm p | verdict | scope |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| small p | +3 | a \\| b | rule | < 0.001 | < 0.001 | holds | toy |\n"
        "| edge | - | o | rule | 0.001 | 0.001 | holds | - |\n"
        "| broken | - | - | sanity floor: collapsed | - | - | not testable | - |\n"
        "\n"
        "*Holm-corrected across the 2 tested rows of this table (family-wise 95%); a row holds "
        "or does not hold only when its Holm p < 0.05, otherwise it is inconclusive.*"
    )
    assert table._repr_markdown_() == table.markdown()


def test_contrast_of_two_groups_is_welchs_test():
    a, b = [1.0, 1.1, 0.9], [0.5, 0.65, 0.4, 0.55]
    result = stats.contrast([a, b], [1, -1])
    assert result.p == pytest.approx(sps.ttest_ind(a, b, equal_var=False).pvalue)
    assert result.verdict == "holds"
    assert stats.contrast([a, b], [-1, 1]).verdict == "does not hold"
    assert stats.contrast([a, b], [1, -1], higher_is_better=False).verdict == "does not hold"


def test_contrast_matches_a_two_way_anova_when_the_arms_spread_alike():
    # four arms of a 2x2 with the same deviations: each arm's variance equals the pooled one, so
    # the contrast's t-test is the ANOVA's F-test, here computed by least squares on +-1 codes
    deviations = np.array([-0.3, 0.1, 0.2])
    means = {(1, 1): 2.0, (1, -1): 1.6, (-1, 1): 1.5, (-1, -1): 1.4}
    arms = {cell: mean + deviations for cell, mean in means.items()}
    rows = [(e, a, y) for (e, a), values in arms.items() for y in values]
    e, a, y = (np.array(column, dtype=float) for column in zip(*rows, strict=True))
    design = np.column_stack([np.ones_like(e), e, a, e * a])
    coef, residual, *_ = np.linalg.lstsq(design, y, rcond=None)
    dof = len(y) - design.shape[1]
    mse = residual[0] / dof
    cov = mse * np.linalg.inv(design.T @ design)
    groups = [arms[cell] for cell in means]
    for column, weights in ((1, [0.5, 0.5, -0.5, -0.5]), (2, [0.5, -0.5, 0.5, -0.5]), (3, [1, -1, -1, 1])):  # fmt: skip
        t = coef[column] / np.sqrt(cov[column, column])
        result = stats.contrast(groups, weights)
        assert result.p == pytest.approx(2 * sps.t.sf(abs(t), dof))
        # +-1 codes: a main effect is 2 coefficients, the interaction 4
        scale = {1: 2, 2: 2, 3: 4}[column]
        assert result.detail["estimate"] == pytest.approx(scale * coef[column])


def test_contrast_names_its_sides_and_refuses_bad_weights():
    result = stats.contrast([[2.0, 2.2], [1.0, 1.1]], [1, -1], names=("x", "y"))
    assert result.ours.startswith("x − y: 1.05 ± ") and result.ours.endswith("(standard error, 4 runs)")  # fmt: skip
    assert result.rule == "Welch t-test on a contrast, higher is better"
    assert stats.contrast([[1.0, 1.0], [0.0, 0.0]], [1, -1]).p == 0.0  # no noise at all
    assert stats.contrast([[1.0, 1.0], [1.0, 1.0]], [1, -1]).verdict == "inconclusive"
    with pytest.raises(ValueError, match="sum to 0"):
        stats.contrast([[1.0, 2.0], [1.0, 2.0]], [1, 1])
    with pytest.raises(ValueError, match="one weight per group"):
        stats.contrast([[1.0, 2.0], [1.0, 2.0]], [1, -1, 0])
    with pytest.raises(ValueError, match="at least 2 values"):
        stats.contrast([[1.0], [1.0, 2.0]], [1, -1])


def test_compare_on_logs_is_welchs_test_of_the_logarithms():
    a, b = [132.0, 104.0, 201.0], [16.4, 17.3, 17.3]
    result = stats.compare(a, b, log=True)
    assert result.p == pytest.approx(sps.ttest_ind(np.log(a), np.log(b), equal_var=False).pvalue)
    assert result.p < stats.compare(a, b).p  # one slow run weighs as a ratio, not in seconds
    assert result.rule == "Welch t-test on logs (a ratio), higher is better"
    assert result.ours == stats.compare(a, b).ours  # the values shown stay in seconds
    with pytest.raises(ValueError, match="positive values"):
        stats.compare([1.0, 0.0], [1.0, 2.0], log=True)


def test_contrast_reports_satterthwaites_degrees_of_freedom():
    a, b = [1.0, 1.1, 0.9], [0.5, 0.65, 0.4, 0.55]
    va, vb = np.var(a, ddof=1) / 3, np.var(b, ddof=1) / 4
    result = stats.contrast([a, b], [1, -1])
    assert result.detail["dof"] == pytest.approx((va + vb) ** 2 / (va**2 / 2 + vb**2 / 3))
    assert result.detail["standard error"] == pytest.approx(np.sqrt(va + vb))


def test_paired_is_scipys_paired_t_test_and_removes_the_units_noise():
    # each unit (a seed's draw) moves both models alike: Welch sees that spread, the pairs do not
    rng = np.random.default_rng(3)
    luck = rng.normal(0, 1.0, 6)
    a, b = luck + 0.3 + rng.normal(0, 0.05, 6), luck + rng.normal(0, 0.05, 6)
    result = stats.paired(a, b, names=("LSTM", "CNN"))
    assert result.p == pytest.approx(sps.ttest_rel(a, b).pvalue)
    differences = a - b  # by hand: t = mean / (sd / sqrt(n)), n - 1 degrees of freedom
    t = differences.mean() / (differences.std(ddof=1) / np.sqrt(6))
    assert result.p == pytest.approx(2 * sps.t.sf(abs(t), 5))
    assert result.verdict == stats.HOLDS and stats.compare(a, b).verdict == stats.INCONCLUSIVE
    assert result.ours.startswith("LSTM − CNN: 0.") and result.ours.endswith("(paired)")
    assert stats.paired(a, b, higher_is_better=False).verdict == stats.DOES_NOT_HOLD
    assert stats.paired(b, a).verdict == stats.DOES_NOT_HOLD


def test_paired_on_logs_tests_per_unit_ratios():
    # rounds of a shared machine: each slows both models by a share, the ratio stays about 1.4
    rng = np.random.default_rng(4)
    load = np.exp(rng.normal(0, 0.6, 8))
    slow, fast = 1.4 * load * np.exp(rng.normal(0, 0.02, 8)), load
    result = stats.paired(slow, fast, names=("hybrid", "DCGAN"), log=True)
    assert result.p == pytest.approx(sps.ttest_rel(np.log(slow), np.log(fast)).pvalue)
    assert result.verdict == stats.HOLDS and result.rule.startswith("paired t-test on logs")
    assert result.ours.startswith("hybrid / DCGAN: 1.4") and result.ours.endswith("(paired ratio)")
    assert stats.compare(slow, fast, log=True).verdict == stats.INCONCLUSIVE  # unpaired: noise
    with pytest.raises(ValueError, match="needs positive values"):
        stats.paired([1.0, 0.0], [1.0, 2.0], log=True)


def test_paired_decides_constant_differences_by_sign_and_names_unequal_lengths():
    assert stats.paired([1.0, 2.0], [0.5, 1.5]).p == 0.0  # every unit 0.5 better
    assert stats.paired([1.0, 2.0], [1.0, 2.0]).verdict == stats.INCONCLUSIVE
    with pytest.raises(ValueError, match="one value of each per unit, got 3 and 2"):
        stats.paired([1.0, 2.0, 3.0], [1.0, 2.0])
