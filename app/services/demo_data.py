"""Static material for the demo bank: branch tree, products, names."""

from __future__ import annotations

import string
from typing import Any

# (code, name, city, parent code); the head office first, then branches, then sub-branches.
BRANCHES = [
    ("HO", "总行", "杭州", None),
    ("HZ", "杭州分行", "杭州", "HO"),
    ("NJ", "南京分行", "南京", "HO"),
    ("SZ", "苏州分行", "苏州", "HO"),
    ("HZ01", "西湖支行", "杭州", "HZ"),
    ("HZ02", "滨江支行", "杭州", "HZ"),
    ("HZ03", "钱塘支行", "杭州", "HZ"),
    ("HZ04", "萧山支行", "杭州", "HZ"),
    ("NJ01", "鼓楼支行", "南京", "NJ"),
    ("NJ02", "新街口支行", "南京", "NJ"),
    ("NJ03", "江宁支行", "南京", "NJ"),
    ("NJ04", "河西支行", "南京", "NJ"),
    ("SZ01", "工业园区支行", "苏州", "SZ"),
    ("SZ02", "姑苏支行", "苏州", "SZ"),
    ("SZ03", "吴中支行", "苏州", "SZ"),
    ("SZ04", "昆山支行", "苏州", "SZ"),
]

# Each unit's own customers as the bank counts them (not its sub-branches'): the population of
# complaints per 10,000 customers. With the demo's complaint volume this gives one to five
# complaints per 10,000 customers a month, as Chinese banks see.
CUSTOMER_COUNTS = {
    "HZ": 36_000,
    "HZ01": 42_000,
    "HZ02": 31_000,
    "HZ03": 27_000,
    "HZ04": 33_000,
    "NJ": 29_000,
    "NJ01": 38_000,
    "NJ02": 35_000,
    "NJ03": 24_000,
    "NJ04": 26_000,
    "SZ": 25_000,
    "SZ01": 45_000,
    "SZ02": 40_000,
    "SZ03": 28_000,
    "SZ04": 30_000,
}

STREETS = [
    "文三路",
    "中山路",
    "解放路",
    "人民路",
    "建设路",
    "湖滨路",
    "新华路",
    "江南大道",
    "干将路",
    "星湖街",
    "汉中路",
    "双龙大道",
    "市心路",
    "金鸡湖大道",
]

PRODUCTS = [
    ("DEBIT", "借记卡", "card"),
    ("CREDIT", "信用卡", "card"),
    ("MORTGAGE", "个人住房贷款", "loan"),
    ("CONSUMER", "个人消费贷款", "loan"),
    ("BIZLOAN", "小微企业经营贷", "loan"),
    ("TDEPOSIT", "定期存款", "deposit"),
    ("WEALTH", "银行理财产品", "wealth"),
    ("FUND", "代销基金", "wealth"),
    ("MOBILE", "手机银行", "digital"),
    ("ONLINE", "网上银行", "digital"),
    ("TRANSFER", "转账汇款", "payment"),
    ("FX", "外汇业务", "other"),
]

# Surnames roughly by frequency (the most common first, weighted in the generator).
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴"
)
GIVEN_CHARS = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国文斌宇浩凯鹏飞欣怡子涵梓轩雨萱诗琪晨阳"
    "思远嘉怡一鸣俊杰志强海燕春梅晓东丹丹婷婷佳琪雪梅红霞立新振华国平德明淑珍秀英玉梅桂芳凤英永刚"
)
COMPANY_WORDS = ["恒信", "瑞丰", "鼎盛", "宏达", "嘉禾", "鑫源", "华泰", "天成", "锦程", "远航"]
COMPANY_KINDS = ["贸易有限公司", "餐饮管理有限公司", "科技有限公司", "服装有限公司", "物流有限公司"]
EMAIL_DOMAINS = ["163.com", "qq.com", "126.com", "sina.com", "foxmail.com"]
ID_REGIONS = {
    "HZ": ["330102", "330106", "330108", "330109"],
    "NJ": ["320102", "320104", "320105", "320115"],
    "SZ": ["320505", "320506", "320508", "320583"],
}

DEMO_PASSWORD = "Kesheng@2026"
# (username, display name, role, branch code)
ACCOUNTS = [
    ("admin", "系统管理员", "admin", None),
    ("hq", "周总（总行客户体验部）", "hq_manager", "HO"),
    ("manager", "陈经理（杭州分行）", "branch_manager", "HZ"),
    ("agent", "李坐席（杭州分行）", "agent", "HZ"),
    ("manager_nj", "王经理（南京分行）", "branch_manager", "NJ"),
    ("agent_nj", "赵坐席（鼓楼支行）", "agent", "NJ01"),
    ("agent_sz", "孙坐席（苏州分行）", "agent", "SZ"),
]

# Placeholders of the demo texts, each with the values a customer would plausibly write (a
# wait in minutes, a number of tries, amounts in yuan for the kind of money at stake).
FILLERS: dict[str, tuple[int, ...]] = {
    "minutes": tuple(range(20, 91, 5)),  # a wait at the counter
    "tries": (2, 3, 4, 5, 6),  # attempts at something that keeps failing
    "calls": (5, 6, 8, 10, 12),  # marketing calls in a week
    "annual_fee": (100, 200, 300, 480, 600),  # a credit card's annual fee
    "card_limit": (2000, 3000, 5000, 8000),  # a credit limit cut down to
    "late_fee": (15, 28, 36, 56, 120),  # a late-payment fee
    "cash": (500, 1000, 2000, 2500, 3000),  # one ATM withdrawal
    "transfer": (1500, 3200, 8800, 26000, 50000),  # a transfer or payment
    "fraud": (268, 1200, 3200, 8800),  # an unauthorised card payment
    "loss": (3200, 8800, 15000, 26000, 50000),  # a wealth product's loss
    "interest": (320, 680, 1200, 2150),  # extra interest a month
    "lost_interest": (860, 1350, 2400, 4100),  # interest lost by withdrawing early
    "transfer_fee": (5, 10, 15, 25, 50),  # a transfer fee not refunded
    "daily_limit": (500, 1000, 2000, 5000),  # a non-counter transfer limit a day
    "change": (100, 200, 300, 500),  # small change to exchange
    "balance": (3000, 12000, 26000, 50000),  # a loan shown as still owed
}


# Who handles a demo branch's cases and call-backs: the first of these accounts whose branch
# scope holds the branch (agents first, then the branch managers, then head office), so nobody
# is given a case or a call-back they cannot open (the app's own assignment refuses that).
HANDLERS = ("agent", "agent_nj", "agent_sz", "manager", "manager_nj", "hq")


def regional_agent(staff: dict[str, Any], branch: Any) -> Any:
    """The account in ``staff`` (by username) that handles ``branch`` (a Branch or None: head
    office); None when no account's scope holds it."""
    path = branch.path if branch is not None else None
    for username in HANDLERS:
        user = staff.get(username)
        if user is None:
            continue
        if user.branch is None or (path is not None and path.startswith(user.branch.path)):
            return user
        if path is None and user.branch.parent_id is None:  # head office's own cases
            return user
    return None


def placeholders(text: str) -> list[str]:
    """The names of the ``{...}`` placeholders in a demo text."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


def fill(text: str, rng, **given: object) -> str:
    """The text with every placeholder filled: ``given`` values first, else a plausible value
    drawn for that placeholder; an unknown placeholder raises KeyError (never left as "{x}")."""
    values = {}
    for name in placeholders(text):
        values[name] = given[name] if name in given else rng.choice(FILLERS[name])
    return text.format(**values)
