"""Urgency scoring of complaints and remarks from escalation, loss and vulnerability cues."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

__all__ = ["Urgency", "urgency"]

# (code, Chinese reason, weight, cues). Weights are additive; see _priority for the cut-offs.
_RULES: tuple[tuple[str, str, float, tuple[str, ...]], ...] = (
    ("self_harm", "客户有极端言行", 6.0, ("跳楼", "自杀", "不想活", "轻生", "同归于尽")),
    (
        "escalation",
        "扬言向监管/媒体/司法渠道升级",
        3.0,
        (
            "监管",
            "12378",
            "银保监",
            "保监会",
            "银监会",
            "金融监管总局",
            "监管局",
            "人民银行",
            "人行",
            "12363",
            "媒体",
            "曝光",
            "记者",
            "报警",
            "公安",
            "起诉",
            "法院",
            "律师",
            "12315",
            "消协",
            "信访",
            "上访",
            "黑猫投诉",
            "市长热线",
            "12345",
            "仲裁",
        ),
    ),
    (
        "group",
        "群体性投诉",
        2.5,
        (
            "多人",
            "集体",
            "业主们",
            "几十个",
            "几十人",
            "上百人",
            "联名",
            "一起投诉",
            "大家都",
            "很多人都",
            "好多人都",
            "我们一群",
        ),
    ),
    (
        "money_loss",
        "客户资金损失",
        2.5,
        (
            "被骗",
            "盗刷",
            "钱没了",
            "被盗",
            "诈骗",
            "不翼而飞",
            "被转走",
            "莫名扣款",
            "资金损失",
            "血汗钱",
            "损失",
        ),
    ),
    (
        "vulnerable",
        "涉及特殊群体客户",
        2.0,
        (
            "老人",
            "老年人",
            "残疾",
            "孕妇",
            "病人",
            "住院",
            "癌症",
            "盲人",
            "聋哑",
            "低保",
            "八十多岁",
            "七十多岁",
            "行动不便",
            "未成年",
            "重病",
        ),
    ),
    (
        "repeated",
        "多次反映仍未解决",
        1.5,
        (
            "多次",
            "第二次",
            "第三次",
            "好几次",
            "反复",
            "一直没人处理",
            "至今没有",
            "仍未解决",
            "三番五次",
            "屡次",
            "一直没有解决",
            "还没解决",
            "还是没解决",
            "没人管",
            "再次投诉",
        ),
    ),
    (
        "distress",
        "客户情绪激烈",
        1.0,
        ("气愤", "愤怒", "太过分", "忍无可忍", "欺人太甚", "无法接受"),
    ),
)
_NEGATION_RE = re.compile(
    r"(不会|不想|不打算|不准备|没打算|暂不|不用|无需|不必|不要|没有|别)\S{0,2}$"
)
_AMOUNT_RE = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(万元|万|元|块)")
_NEGATED_FACTOR = 0.25
_EXTRA_CUE_FACTOR = 0.5


@dataclass(frozen=True, slots=True)
class Urgency:
    """Priority (low/normal/high/critical), a score in [0, 1] and (code, reason, cue) reasons."""

    priority: str
    score: float
    reasons: tuple[tuple[str, str, str], ...]

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {
            "priority": self.priority,
            "score": self.score,
            "reasons": [list(r) for r in self.reasons],
        }


def _negated(text: str, start: int) -> bool:
    return bool(_NEGATION_RE.search(text[max(0, start - 5) : start]))


def _cue_hits(text: str) -> list[tuple[str, str, str, float]]:
    hits = []
    for code, reason, weight, cues in _RULES:
        found = []
        for cue in cues:
            pos = text.find(cue)
            if pos >= 0:
                found.append((weight * (_NEGATED_FACTOR if _negated(text, pos) else 1.0), cue))
        if found:
            found.sort(reverse=True)
            # Each further distinct cue of the same kind adds a little: "银保监 ... 媒体曝光".
            bonus = sum(w for w, _ in found[1:3]) * _EXTRA_CUE_FACTOR
            hits.append((code, reason, found[0][1], found[0][0] + bonus))
    return hits


def _amount_hit(text: str) -> tuple[str, str, str, float] | None:
    top, cue = 0.0, ""
    for m in _AMOUNT_RE.finditer(text):
        try:
            value = float(m.group(1).replace(",", "")) * (10_000 if "万" in m.group(2) else 1)
        except ValueError:
            continue
        if value > top:
            top, cue = value, m.group(0)
    if top < 1000:
        return None
    return ("amount", "涉及较大金额", cue, 1.5 if top >= 10_000 else 0.75)


def _priority(raw: float, codes: set[str]) -> str:
    if "self_harm" in codes or raw >= 6.0:
        return "critical"
    if "escalation" in codes and codes & {"money_loss", "group"}:
        return "critical"
    if raw >= 2.25:
        return "high"
    if raw >= 0.75:
        return "normal"
    return "low"


def urgency(text: str) -> Urgency:
    """Score how urgently a text needs attention; negated cues (不会起诉) weigh a quarter.

    Never raises; an empty text is ``low`` with score 0.
    """
    text = text or ""
    hits = _cue_hits(text)
    amount = _amount_hit(text)
    if amount:
        hits.append(amount)
    raw = sum(h[3] for h in hits)
    strong = {h[0] for h in hits if h[3] >= 1.0}
    reasons = tuple((code, reason, cue) for code, reason, cue, _ in hits)
    return Urgency(_priority(raw, strong), round(1.0 - math.exp(-raw / 3.0), 4), reasons)
