"""Production judgment from the candidate's README: checks with quotes, never points.

`collect_writeup(readme_path, key=..., audit=..., modeling=...)` is the stage; a `Judge`
(the heuristic one by default) produces the `WriteupEvidence` checks the rubric reads.
"""

from grader.writeup.collect import collect_writeup, judge_context, judge_document
from grader.writeup.evidence import CONCEPTS, WRITEUP_CHECK_IDS, WriteupEvidence
from grader.writeup.facts import JudgeContext
from grader.writeup.judge import HeuristicJudge, Judge
from grader.writeup.text import Document, parse, parse_bytes, read_document

__all__ = [
    "CONCEPTS",
    "WRITEUP_CHECK_IDS",
    "Document",
    "HeuristicJudge",
    "Judge",
    "JudgeContext",
    "WriteupEvidence",
    "collect_writeup",
    "judge_context",
    "judge_document",
    "parse",
    "parse_bytes",
    "read_document",
]
