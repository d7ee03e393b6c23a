"""Production judgment from the candidate's README: checks with quotes, never points.

`collect_writeup(readme_path, key=..., audit=..., modeling=..., mlflow=...)` is the stage;
a `Judge` (the heuristic one by default, or a model behind an OpenAI-compatible endpoint:
`JudgeSettings`) produces the `WriteupEvidence` checks the rubric reads, grounded in the
candidate's own figures and the world's truth; wording that suggests a red flag is a
`ReviewItem` for a person, never a failure.
"""

from grader.writeup.collect import collect_writeup, judge_context, judge_document
from grader.writeup.evidence import CONCEPTS, WRITEUP_CHECK_IDS, ReviewItem, SharedParagraph, WriteupEvidence
from grader.writeup.facts import JudgeContext
from grader.writeup.judge import HeuristicJudge, Judge, Verdicts
from grader.writeup.settings import JudgeSettings
from grader.writeup.text import Document, parse, parse_bytes, read_document

__all__ = [
    "CONCEPTS",
    "WRITEUP_CHECK_IDS",
    "Document",
    "HeuristicJudge",
    "Judge",
    "JudgeContext",
    "JudgeSettings",
    "ReviewItem",
    "SharedParagraph",
    "Verdicts",
    "WriteupEvidence",
    "collect_writeup",
    "judge_context",
    "judge_document",
    "parse",
    "parse_bytes",
    "read_document",
]
