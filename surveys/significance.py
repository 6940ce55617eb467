"""Whether a figure really moved between two periods, or only by chance (pure).

Every comparison that calls a figure 改善 / 变差 asks this module, so a few points of NPS on a
few hundred answers are never read as a change. Each test gives the difference (after minus
before, in the figure's own units), its standard error and z = difference / standard error; the
change counts only when |z| >= 1.96 (two-sided, 5 %), else it is "same" (无显著变化):

- NPS: each answer scores +100 (promoter, 9-10), 0 (passive) or -100 (detractor); the NPS is
  their mean, so its standard error is sqrt(variance / n) with variance
  = 100^2 * (promoter share + detractor share) - NPS^2, and the two periods' errors add in
  quadrature.
- A share (CSAT: ratings 4-5 out of all ratings): the two-proportion z-test with the pooled
  share p, standard error sqrt(p * (1 - p) * (1/n1 + 1/n2)); figures in percentage points.
- A count over two periods of equal length (complaints): counts are Poisson, so the standard
  error of the difference is sqrt(count1 + count2).

Whether a sample is large enough to be judged at all (``MIN_SAMPLE_SIZE``) is the caller's rule;
this module only says whether the difference exceeds its noise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_CRITICAL = 1.96  # two-sided 5 %


@dataclass(frozen=True, slots=True)
class Change:
    """A difference between two periods and whether it exceeds its noise.

    ``z`` is None when the standard error is 0 (every answer alike in both periods): then any
    difference at all is certain. ``direction`` is "better", "worse" or "same" (not significant).
    """

    difference: float
    se: float
    z: float | None
    significant: bool
    direction: str

    def explain(self, unit: str = "") -> str:
        """The figures in words, for a tooltip: 差值 -3，标准误 5.2，z = -0.57 ……"""
        z = "—" if self.z is None else f"{self.z:.2f}"
        verdict = "显著" if self.significant else "不显著，可能只是随机波动"
        return (
            f"差值 {round(self.difference, 1):+g}{unit}，标准误 {round(self.se, 1):g}{unit}，"
            f"z = {z}"
            f"（|z| ≥ {Z_CRITICAL} 视为显著；{verdict}）"
        )


def judge(difference: float, se: float, *, higher_is_better: bool = True) -> Change:
    """The one decision: significant when |difference / se| >= Z_CRITICAL."""
    if se > 0:
        z: float | None = difference / se
        significant = abs(z) >= Z_CRITICAL
    else:
        z, significant = None, difference != 0
    if not significant:
        direction = "same"
    else:
        direction = "better" if (difference > 0) == higher_is_better else "worse"
    return Change(difference, se, z, significant, direction)


def nps_variance(n: int, promoters: int, detractors: int) -> float:
    """Variance of the per-answer score (+100 / 0 / -100) whose mean is the NPS."""
    p, d = promoters / n, detractors / n
    return 100.0**2 * (p + d) - (100.0 * (p - d)) ** 2


def nps_change(before: tuple[int, int, int], after: tuple[int, int, int]) -> Change:
    """NPS after minus before; each period is (answers, promoters, detractors), answers > 0."""
    (n1, p1, d1), (n2, p2, d2) = before, after
    nps1, nps2 = 100.0 * (p1 - d1) / n1, 100.0 * (p2 - d2) / n2
    se = math.sqrt(nps_variance(n1, p1, d1) / n1 + nps_variance(n2, p2, d2) / n2)
    return judge(nps2 - nps1, se)


def share_change(before: tuple[int, int], after: tuple[int, int]) -> Change:
    """A share's change in percentage points by the pooled two-proportion z-test; each period is
    (answers, hits), answers > 0."""
    (n1, k1), (n2, k2) = before, after
    pooled = (k1 + k2) / (n1 + n2)
    se = 100.0 * math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    return judge(100.0 * (k2 / n2 - k1 / n1), se)


def count_change(before: int, after: int, *, lower_is_better: bool = True) -> Change:
    """A count's change between two periods of equal length (Poisson counts)."""
    return judge(
        float(after - before), math.sqrt(before + after), higher_is_better=not lower_is_better
    )
