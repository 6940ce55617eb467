"""The verification rule of an improvement: before/after figures in, a verdict out (pure).

Rule: once every action of the problem is finished, over a window of N days after the last one
was completed versus the same length before it, for the problem's scope, the improvement holds
when at least one usable signal improved significantly and no usable signal got significantly
worse (``surveys.significance``: |z| >= 1.96; a smaller move is 无显著变化):

- complaints of the problem's categories fell (usable when both windows together hold at least
  ``min_complaints`` complaints; a drop from 2 to 1 proves nothing);
- CSAT (share of 4–5 ratings) rose (usable when each window has ``min_sample`` ratings);
- NPS rose (usable when each window has ``min_sample`` 0–10 answers).

A pass must not rest on one signal while another usable one points the other way: a usable
signal that moved the wrong way by at least ``TREND_Z`` standard errors (one-sided 10 %), though
short of significance, makes the figures contradict each other, and the verdict is "not
verified" (未通过验证; not a conclusive failure, so once the observation period is over a
manager may still accept the improvement in writing, 人工认定). Before, complaints falling
significantly passed while NPS fell from 35 to 9 on ~50 answers each (z ≈ -1.4).

Before the actions are finished there is nothing to verify yet (``pending``, no verdict). With
no usable signal, or while the after-window has not yet run its full length, the verdict is
"not enough data yet" — never a pass by default.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from surveys import significance
from surveys.scoring import half_up

TREND_Z = 1.28  # a wrong-way move this many standard errors or more blocks a pass (one-sided 10 %)


class Verdict(StrEnum):
    PENDING = "pending"  # actions still to finish: nothing to verify yet, no verdict
    PASSED = "passed"
    FAILED = "failed"
    INSUFFICIENT = "insufficient"


VERDICT_LABELS = {
    Verdict.PENDING: "待整改措施完成",
    Verdict.PASSED: "验证通过",
    Verdict.FAILED: "未通过验证",
    Verdict.INSUFFICIENT: "数据不足，暂无法判断",
}


@dataclass(frozen=True, slots=True)
class WindowFigures:
    """What one window (before or after) holds for the problem's scope."""

    complaints: int = 0
    csat_n: int = 0
    csat_good: int = 0
    nps_n: int = 0
    promoters: int = 0
    detractors: int = 0

    @property
    def csat(self) -> float | None:
        return half_up(100.0 * self.csat_good / self.csat_n, 1) if self.csat_n else None

    @property
    def nps(self) -> float | None:
        if not self.nps_n:
            return None
        return half_up(100.0 * (self.promoters - self.detractors) / self.nps_n, 1)


@dataclass(frozen=True, slots=True)
class Signal:
    """One compared figure: its values, sample sizes, whether usable, and its direction.

    ``change`` is "better" or "worse" only when the difference is significant, "same" when it
    is not (无显著变化), "unknown" when a window has no data; ``explain`` gives the test's
    figures in words."""

    name: str
    label: str
    before: float | None
    after: float | None
    n_before: int
    n_after: int
    usable: bool
    change: str  # "better" | "worse" | "same" | "unknown"
    z: float | None = None
    explain: str = ""

    @property
    def leans_worse(self) -> bool:
        """Not significant, but moved the wrong way by at least ``TREND_Z`` standard errors."""
        if self.change != "same" or self.z is None:
            return False
        wrong_way = self.z if self.name == "complaints" else -self.z  # fewer complaints is better
        return wrong_way >= TREND_Z


@dataclass(frozen=True, slots=True)
class Verification:
    verdict: Verdict
    reason: str
    signals: tuple[Signal, ...] = field(default_factory=tuple)
    days_left: int = 0

    @property
    def label(self) -> str:
        if self.verdict == Verdict.INSUFFICIENT and self.days_left > 0:
            return "观察期中，暂不判断"
        return VERDICT_LABELS[self.verdict]

    @property
    def started(self) -> bool:
        """Whether there is anything to verify yet (every action finished)."""
        return self.verdict != Verdict.PENDING

    @property
    def holds(self) -> bool:
        return self.verdict == Verdict.PASSED

    @property
    def observing(self) -> bool:
        """The after-window is still running: no verdict can be given yet."""
        return self.started and self.days_left > 0

    @property
    def got_worse(self) -> bool:
        """A usable signal got significantly worse: a conclusive failure."""
        return any(s.usable and s.change == "worse" for s in self.signals)

    @property
    def inconclusive(self) -> bool:
        """The observation period is over and the figures settle nothing: too few answers or
        complaints to judge, or no significant change either way. Only then may a manager
        accept the improvement without the figures (人工认定)."""
        if not self.started or self.observing or self.holds:
            return False
        return self.verdict == Verdict.INSUFFICIENT or not self.got_worse

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "reason": self.reason,
            "days_left": self.days_left,
            "signals": [asdict(s) for s in self.signals],
        }


def _signal(
    name: str,
    label: str,
    values: tuple[float | None, float | None],
    sizes: tuple[int, int],
    usable: bool,
    change: significance.Change | None,
    unit: str = "",
) -> Signal:
    if change is None:
        return Signal(name, label, *values, *sizes, usable, "unknown")
    z = None if change.z is None else round(change.z, 2)
    return Signal(name, label, *values, *sizes, usable, change.direction, z, change.explain(unit))


def signals_of(
    before: WindowFigures, after: WindowFigures, *, min_sample: int, min_complaints: int
) -> tuple[Signal, ...]:
    """The three compared figures with their sample sizes, usability and significance."""
    csat, nps = None, None
    if before.csat_n and after.csat_n:
        csat = significance.share_change(
            (before.csat_n, before.csat_good), (after.csat_n, after.csat_good)
        )
    if before.nps_n and after.nps_n:
        nps = significance.nps_change(
            (before.nps_n, before.promoters, before.detractors),
            (after.nps_n, after.promoters, after.detractors),
        )
    return (
        _signal(
            "complaints",
            "同类投诉量",
            (float(before.complaints), float(after.complaints)),
            (before.complaints, after.complaints),
            before.complaints + after.complaints >= min_complaints,
            significance.count_change(before.complaints, after.complaints),
            " 件",
        ),
        _signal(
            "csat",
            "满意度（CSAT，%）",
            (before.csat, after.csat),
            (before.csat_n, after.csat_n),
            min(before.csat_n, after.csat_n) >= min_sample,
            csat,
            " 个百分点",
        ),
        _signal(
            "nps",
            "净推荐值（NPS）",
            (before.nps, after.nps),
            (before.nps_n, after.nps_n),
            min(before.nps_n, after.nps_n) >= min_sample,
            nps,
        ),
    )


def pending(open_actions: int) -> Verification:
    """Nothing to verify yet: ``open_actions`` of the problem's actions are still to finish (0:
    it has none yet)."""
    if open_actions:
        reason = f"还有 {open_actions} 项整改措施未完成，全部完成后开始验证"
    else:
        reason = "尚无整改措施，整改措施完成后开始验证"
    return Verification(Verdict.PENDING, reason)


def verify(
    before: WindowFigures,
    after: WindowFigures,
    *,
    days_left: int = 0,
    min_sample: int = 30,
    min_complaints: int = 5,
) -> Verification:
    """Judge an improvement from its before/after windows.

    ``days_left`` is how many days of the after-window are still to run (0 = complete); while it
    runs the verdict is INSUFFICIENT, with the figures so far.
    """
    signals = signals_of(before, after, min_sample=min_sample, min_complaints=min_complaints)
    if days_left > 0:
        return Verification(
            Verdict.INSUFFICIENT, f"观察期尚未结束，还需 {days_left} 天", signals, days_left
        )
    usable = [s for s in signals if s.usable]
    if not usable:
        return Verification(
            Verdict.INSUFFICIENT,
            f"样本量不足：投诉合计少于 {min_complaints} 件，且满意度/推荐度每期答卷少于 "
            f"{min_sample} 份",
            signals,
        )
    worse = [s.label for s in usable if s.change == "worse"]
    better = [s.label for s in usable if s.change == "better"]
    if worse:
        return Verification(Verdict.FAILED, "、".join(worse) + " 显著变差", signals)
    if not better:
        return Verification(
            Verdict.FAILED, "整改后各项指标没有显著改善（变化在随机波动范围内）", signals
        )
    if leaning := [s for s in usable if s.leans_worse]:
        trends = "、".join(f"{s.label}（z = {s.z:+.2f}）" for s in leaning)
        return Verification(
            Verdict.FAILED,
            f"{'、'.join(better)} 显著改善，但 {trends}朝相反方向变化（未达显著）："
            "各项指标结论不一致，暂不能认定整改有效",
            signals,
        )
    return Verification(Verdict.PASSED, "、".join(better) + " 显著改善", signals)
