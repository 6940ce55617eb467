"""Urgency scoring of complaints and remarks from escalation, loss and vulnerability cues."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Urgency", "urgency"]

# Chinese numerals as written in counts, ages and amounts: 三十多, 十几, 两万, 一百零五.
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_CN_DIGITS |= {"八": 8, "九": 9, "几": 2}  # 几 ("a few"): its lower bound
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
_CN_NUM = "[一二两三四五六七八九十几][零一二两三四五六七八九十百千万亿几]*"
_NUM = rf"(?<![\d.零一二两三四五六七八九十百千万亿几])(\d+|{_CN_NUM})"


def _number(s: str) -> int:
    """Value of ASCII digits or a Chinese numeral; a range (五六, 七八十) reads as its lower
    bound. Unparseable input reads as 0."""
    if s.isdigit():
        return int(s) if s.isascii() else 0
    total = section = 0
    digit: int | None = None
    for ch in s:
        if ch in _CN_DIGITS:
            digit = _CN_DIGITS[ch] if digit is None or ch == "零" else digit
            if ch == "零":
                digit = None
        elif ch in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        elif ch in _CN_BIG:
            total += (section + (digit or 0) or 1) * _CN_BIG[ch]
            section, digit = 0, None
    return total + section + (digit or 0)


def _at_least(n: int, group: int = 1) -> Callable[[re.Match[str]], bool]:
    return lambda m: _number(m.group(group)) >= n


def _age_65_plus(m: re.Match[str]) -> bool:
    return 65 <= _number(m.group(1)) <= 120


# A cue is a pattern (plain text is a pattern too), optionally with a check of its match.
_Cue = tuple[re.Pattern[str], Callable[[re.Match[str]], bool] | None]


def _cues(*cues: str | tuple[str, Callable[[re.Match[str]], bool]]) -> tuple[_Cue, ...]:
    out = []
    for cue in cues:
        pattern, check = cue if isinstance(cue, tuple) else (cue, None)
        if pattern.isdigit():  # hotlines: never inside a longer number (a phone, a card)
            pattern = rf"(?<!\d){pattern}(?!\d)"
        out.append((re.compile(pattern), check))
    return tuple(out)


# (code, Chinese reason, weight, cues). Weights are additive; see _priority for the cut-offs.
_RULES: tuple[tuple[str, str, float, tuple[_Cue, ...]], ...] = (
    ("self_harm", "客户有极端言行", 6.0, _cues("跳楼", "自杀", "不想活", "轻生", "同归于尽")),
    (
        "escalation",
        "扬言向监管/媒体/司法渠道升级",
        3.0,
        _cues(
            # a bare 监管 only as a threat: not 资金监管的楼盘, 监管账户
            r"(?:向|找|去|到|告到|告去|投诉到|投诉给|举报到|反映到|反映给)监管|监管(?:部门|机构)",
            "12378",
            "银保监",
            "保监会",
            "银监会",
            "金融监管总局",
            "监管局",
            "人民银行",
            r"(?<!个)人行(?!道)",  # not 个人行为, 人行道
            "12363",
            # media only as a threat: not 在媒体上看到广告
            r"(?:找|向|让|联系|告诉|通知)媒体|媒体曝光",
            "曝光",
            "记者",
            "报警",
            "公安",
            "起诉",
            # a court only as where the customer goes: not 卡被法院冻结了
            r"(?:去|到|上|向)法院|法院见",
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
        _cues(
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
            # 我们三十多个客户, 十几户业主, 二十多人: five or more
            (
                _NUM + r"(?:多|余|来)?(?:(?:个|位|名)?(?:客户|业主|储户|投资者|投资人|老人|商户)"
                r"|(?:个|位|名)?人(?!民|次)|户)",
                _at_least(5),
            ),
        ),
    ),
    (
        "money_loss",
        "客户资金损失",
        2.5,
        _cues(
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
            # investment losses: 理财产品亏了五万, 基金亏损了一大半 (not 多亏了, 幸亏)
            r"(?<![多幸吃])亏(?:了|损|掉|光|本)",
            "血本无归",
            "打水漂",
        ),
    ),
    (
        "vulnerable",
        "涉及特殊群体客户",
        2.0,
        _cues(
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
            "行动不便",
            "未成年",
            "重病",
            # aged 65 and over: 我今年75岁了, 六十八周岁
            (_NUM + r"(?:多|来)?周?岁", _age_65_plus),
        ),
    ),
    (
        "repeated",
        "多次反映仍未解决",
        1.5,
        _cues(
            "多次",
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
            # 这是我第四次来网点了, 第5次
            (r"第(\d+|[一二两三四五六七八九十]+)(?:次|回|趟)", _at_least(2)),
            # 已经打了五六次电话了, 跑了三趟
            (
                r"(?:打|来|跑|去|找|问|催|投诉|反映|联系)(?:了|过)?"
                r"(\d+|[一二两三四五六七八九十几]+)(?:次|回|趟|遍)",
                _at_least(2),
            ),
            # 上周已经投诉过一次……又来反映
            r"(?:已经|之前|上次|曾经)(?:投诉|反映)过",
            r"又(?:来|要|一次)?(?:投诉|反映)",
        ),
    ),
    (
        "distress",
        "客户情绪激烈",
        1.0,
        _cues("气愤", "愤怒", "太过分", "忍无可忍", "欺人太甚", "无法接受"),
    ),
)
# A threat the customer says they will not make (我不会去起诉, 不打算投诉到监管, 没想找媒体)
# does not count; a weaker negation (暂不起诉, 没有报警) weighs a quarter.
_INTENT_NEGATION_RE = re.compile(r"(不会|不想|不打算|不准备|没想|没打算|不是要)\S{0,2}$")
_NEGATION_RE = re.compile(
    r"(不会|不想|不打算|不准备|没想|没打算|不是要|暂不|不用|无需|不必|不要|没有|别)\S{0,2}$"
)
_AMOUNT_RE = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(万元|万|元|块)")
# 两万多元, 三十万, 八万块钱, 十几万: a Chinese numeral with a currency unit, or ending in 万
_CN_AMOUNT_RE = re.compile(
    rf"(?<![零一二两三四五六七八九十百千万亿几])({_CN_NUM})(?:多|余|来)?(万元|万块|万|元|块)?"
)
_NOT_MONEY_AFTER = tuple("个人户名位次倍分步年件张") + ("火急",)  # 一万个理由, 十万火急
_NEGATED_FACTOR = 0.25
_EXTRA_CUE_FACTOR = 0.5
_FULLWIDTH_DIGITS = {cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}


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


def _negation_factor(text: str, start: int) -> float:
    before = text[max(0, start - 5) : start]
    if _INTENT_NEGATION_RE.search(before):
        return 0.0
    return _NEGATED_FACTOR if _NEGATION_RE.search(before) else 1.0


def _cue_hits(text: str) -> list[tuple[str, str, str, float]]:
    hits = []
    for code, reason, weight, cues in _RULES:
        found: list[tuple[float, str, int, int]] = []
        for pattern, check in cues:
            # the weightiest occurrence: 我不会报警……我要报警 is a threat
            best: tuple[float, str, int, int] | None = None
            for m in pattern.finditer(text):
                if check is not None and not check(m):
                    continue
                w = weight * _negation_factor(text, m.start())
                if best is None or w > best[0]:
                    best = (w, m.group(0), m.start(), m.end())
            if best is not None and best[0] > 0:
                found.append(best)
        found.sort(key=lambda f: (-f[0], f[2]))
        # Cues overlapping a weightier one are the same words (找媒体/媒体曝光, 几十个/几十个客户)
        distinct: list[tuple[float, str, int, int]] = []
        for f in found:
            if all(f[3] <= d[2] or f[2] >= d[3] for d in distinct):
                distinct.append(f)
        if distinct:
            # Each further distinct cue of the same kind adds a little: "银保监 ... 媒体曝光".
            bonus = sum(d[0] for d in distinct[1:3]) * _EXTRA_CUE_FACTOR
            hits.append((code, reason, distinct[0][1], distinct[0][0] + bonus))
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
    for m in _CN_AMOUNT_RE.finditer(text):
        number, unit = m.group(1), m.group(2) or ""
        if not unit and (number[-1] not in "万亿" or text.startswith(_NOT_MONEY_AFTER, m.end())):
            continue
        value = float(_number(number)) * (10_000 if unit.startswith("万") else 1)
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
    """Score how urgently a text needs attention. A threat the customer says they will not
    make (我不会去起诉, 不打算投诉到监管) does not count; other negated cues (暂不起诉, 没有报警)
    weigh a quarter. Full-width digits read as ASCII.

    Never raises; an empty text is ``low`` with score 0.
    """
    text = (text or "").translate(_FULLWIDTH_DIGITS)
    hits = _cue_hits(text)
    amount = _amount_hit(text)
    if amount:
        hits.append(amount)
    raw = sum(h[3] for h in hits)
    strong = {h[0] for h in hits if h[3] >= 1.0}
    reasons = tuple((code, reason, cue) for code, reason, cue, _ in hits)
    return Urgency(_priority(raw, strong), round(1.0 - math.exp(-raw / 3.0), 4), reasons)
