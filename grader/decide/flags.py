"""Red flags from both sources, on the guide's list only: ticked by interviewers, raised by the practical.

A practical-report flag counts when interview/red-flags.toml maps it to a guide flag
(`practical = [...]`); any other raised report flag is kept aside as not counted.
"""

from __future__ import annotations

from grader.decide.bank import Guide
from grader.decide.scorecard import LoadedScorecard
from grader.decision import RaisedFlag, UncountedFlag
from grader.rubric.scorecard import Scorecard


def interview_flags(scorecards: list[LoadedScorecard], guide: Guide) -> list[RaisedFlag]:
    """Every flag an interviewer ticked (ids were checked when the scorecard loaded)."""
    raised = []
    for loaded in sorted(scorecards, key=lambda item: item.card.interviewer):
        for ticked in loaded.card.red_flags:
            flag = guide.flag(ticked.id)
            assert flag is not None, f"{ticked.id} passed the scorecard check"
            raised.append(
                RaisedFlag(id=flag.id, text=flag.text, source="interview", by=loaded.card.interviewer, note=ticked.note)
            )
    return raised


def practical_flags(report: Scorecard, guide: Guide) -> tuple[list[RaisedFlag], list[UncountedFlag]]:
    """The report's raised flags: those on the guide's list, and the others (not counted)."""
    counted, uncounted = [], []
    for raised in report.red_flags:
        flag = guide.flag_for_practical(raised.id)
        if flag is None:
            uncounted.append(UncountedFlag(id=raised.id, message=raised.message))
        else:
            counted.append(RaisedFlag(id=flag.id, text=flag.text, source="practical", by=raised.id, note=raised.detail))
    return counted, uncounted
