"""The rubric engine: rubric files (data) + evidence -> a scorecard with every point explained.

`load_rubric(path)`, `score(evidence, rubric, overrides) -> Scorecard`, `load_overrides(path, rubric)`.
"""

from grader.rubric.engine import score
from grader.rubric.model import DEFAULT_RUBRIC, Rubric, RubricError, load_rubric, parse_rubric
from grader.rubric.overrides import Overrides, OverridesError, load_overrides, parse_overrides
from grader.rubric.scorecard import REPORT_SCHEMA, Scorecard

__all__ = [
    "DEFAULT_RUBRIC",
    "REPORT_SCHEMA",
    "Overrides",
    "OverridesError",
    "Rubric",
    "RubricError",
    "Scorecard",
    "load_overrides",
    "load_rubric",
    "parse_overrides",
    "parse_rubric",
    "score",
]
