"""Sample definition and answers shared by the survey engine tests."""

import copy
from typing import Any

SAMPLE: dict[str, Any] = {
    "code": "sample",
    "title": "示例问卷",
    "intro": "感谢参与",
    "questions": [
        {"id": "csat", "type": "rating", "title": "总体满意度", "metric": "csat"},
        {"id": "nps", "type": "nps", "title": "推荐意愿", "metric": "nps"},
        {"id": "effort", "type": "ces", "title": "办理很轻松", "metric": "ces", "required": False},
        {
            "id": "channel",
            "type": "single",
            "title": "您通过哪个渠道办理？",
            "options": [
                {"value": "branch", "label": "网点"},
                {"value": "app", "label": "手机银行"},
                {"value": "other", "label": "其他", "other": True},
            ],
        },
        {
            "id": "improve",
            "type": "multiple",
            "title": "哪些方面需要改进？",
            "show_if": {"question": "csat", "op": "lte", "value": 3},
            "min_select": 1,
            "max_select": 3,
            "options": [
                {"value": "wait", "label": "等候时间"},
                {"value": "attitude", "label": "服务态度"},
                {"value": "skill", "label": "专业能力"},
                {"value": "fees", "label": "收费"},
                {"value": "other", "label": "其他", "other": True},
            ],
        },
        {
            "id": "aspects",
            "type": "matrix",
            "title": "请评价以下方面",
            "items": [{"id": "speed", "label": "速度"}, {"id": "staff", "label": "员工"}],
        },
        {
            "id": "why_low",
            "type": "text",
            "title": "请说明原因",
            "show_if": {
                "any": [
                    {"question": "nps", "op": "lte", "value": 6},
                    {"question": "aspects", "item": "staff", "op": "eq", "value": 1},
                ]
            },
            "max_length": 20,
        },
        {"id": "comment", "type": "text", "title": "其他建议", "required": False},
    ],
}

FULL_ANSWERS: dict[str, Any] = {
    "csat": 5,
    "nps": 10,
    "effort": 6,
    "channel": "app",
    "aspects": {"speed": 5, "staff": 4},
    "comment": "很好",
}


def sample_data() -> dict[str, Any]:
    return copy.deepcopy(SAMPLE)
