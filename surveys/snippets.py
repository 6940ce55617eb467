"""Question snippets for the survey designer's "插入题目" panel.

Staff who design questionnaires are not programmers: rather than write a question's YAML from
memory, they insert one of these, one per question type the engine supports, and change its
words. Each is the YAML of one item of ``questions:`` (indented as the shipped templates are),
with Chinese example text and comments that say what each field does. ``ID`` marks where the
designer puts a question id not yet used in the definition. A test appends every snippet to
every shipped template and loads the result, so a snippet always validates as inserted.

No ``metric`` is set (a survey may have one key question per metric, so a second inserted
rating question would be refused); the line is there, commented out, to be switched on.
"""

from __future__ import annotations

from dataclasses import dataclass

ID = "__ID__"  # ids may not contain "__", so this never clashes with real text


@dataclass(frozen=True, slots=True)
class Snippet:
    type: str  # the engine's question type
    label: str  # the button's text
    hint: str  # what the button inserts, in a sentence
    id_base: str  # the new question's id, numbered (rating_2, ...) when already taken
    text: str  # YAML of one question, ID where its id goes

    def for_id(self, question_id: str) -> str:
        """The snippet as inserted for a question with this id."""
        return self.text.replace(ID, question_id)


SNIPPETS: tuple[Snippet, ...] = (
    Snippet(
        "single",
        "单选",
        "单选题：客户从几个选项中选一项",
        "choice",
        f"""\
  # 单选题：客户只能选一项
  - id: {ID}
    type: single
    title: 您本次主要办理的是哪类业务？
    required: true           # 是否必答；选答题改为 false
    # 选项至少 2 个。value：统计用的代码（小写字母、数字、_ 或 -，不可重复）；label：客户看到的文字
    options:
      - {{value: deposit, label: 存取款}}
      - {{value: transfer, label: 转账汇款}}
      - {{value: other, label: 其他, other: true}}   # other: true 时客户需写明具体内容
""",
    ),
    Snippet(
        "multiple",
        "多选",
        "多选题：客户可以选多项",
        "multi",
        f"""\
  # 多选题：客户可以选多项
  - id: {ID}
    type: multiple
    title: 您认为我们在哪些方面需要改进？（可多选）
    max_select: 3            # 最多选几项（可删除这一行）；另有 min_select 最少选几项
    options:
      - {{value: wait, label: 等候时间}}
      - {{value: attitude, label: 服务态度}}
      - {{value: process, label: 办理流程}}
      # exclusive: true 表示选了这一项就不能再选其他项
      - {{value: none, label: 没有需要改进的, exclusive: true}}
""",
    ),
    Snippet(
        "rating",
        "评分（满意度 1–5）",
        "评分题：1 非常不满意 … 5 非常满意，可作为满意度（CSAT）关键题",
        "rating",
        f"""\
  # 评分题（满意度）：1 非常不满意、2 不满意、3 一般、4 满意、5 非常满意
  - id: {ID}
    type: rating
    title: 您对本次服务是否满意？
    # 作为本问卷的满意度（CSAT）关键题时，删去下一行开头的“# ”（每份问卷只能有一道）
    # metric: csat
""",
    ),
    Snippet(
        "nps",
        "推荐度 NPS（0–10）",
        "NPS 推荐度题：0 完全不可能 … 10 非常愿意",
        "nps",
        f"""\
  # 推荐度题（NPS）：0 完全不可能 … 10 非常愿意
  - id: {ID}
    type: nps
    title: 您有多大可能向亲友推荐我行？
    # 作为本问卷的 NPS 关键题时，删去下一行开头的“# ”（每份问卷只能有一道）
    # metric: nps
""",
    ),
    Snippet(
        "ces",
        "省力度 CES（1–7）",
        "CES 省力度题：客户对一句话的同意程度，1 非常不同意 … 7 非常同意",
        "effort",
        f"""\
  # 省力度题（CES）：客户对题目这句话的同意程度，1 非常不同意 … 7 非常同意
  - id: {ID}
    type: ces
    title: 本次业务办理起来很轻松。
    help: 请选择您对这句话的同意程度   # 提示语，显示在题目下方（可删除）
    # 作为本问卷的 CES 关键题时，删去下一行开头的“# ”（每份问卷只能有一道）
    # metric: ces
""",
    ),
    Snippet(
        "matrix",
        "矩阵（量表组）",
        "矩阵题：几个方面各用同一量表评分",
        "aspects",
        f"""\
  # 矩阵题（量表组）：下面每一项都用同一量表评分
  - id: {ID}
    type: matrix
    scale: rating            # 量表：rating 满意度 1–5（默认）、nps 0–10、ces 1–7
    title: 请对以下方面进行评价
    items:                   # 评价项。id：代码（小写字母开头，不可重复）；label：客户看到的文字
      - {{id: attitude, label: 服务态度}}
      - {{id: speed, label: 办理速度}}
      - {{id: environment, label: 网点环境}}
""",
    ),
    Snippet(
        "text",
        "文本（意见建议）",
        "文本题：客户填写文字意见",
        "comment",
        f"""\
  # 文本题：客户填写文字
  - id: {ID}
    type: text
    title: 您对我们还有什么意见或建议？
    required: false          # 选答
    max_length: 500          # 最多字数
""",
    ),
)
