"""Evidence paths: from `audit.leak_named` or `modeling.holdout.oracle.pr_auc` to a value.

Evidence is read as the JSON document evidence.json holds (a dict), so the rubric needs
nothing but the saved file. Where a node holds `checks`, the longest run of path parts
that names a check id wins (serving ids contain dots: `serving.load.no_errors`);
what follows is `detail`, `quotes` (how many) or a figure of that check. `modeling.holdout.<who>` picks the
holdout score of the candidate, the grader's reference model or the oracle.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from grader.evidence import Quote

HOLDOUT_WHO = {"candidate": "candidate", "reference": "grader reference", "oracle": "oracle"}


class Resolved(BaseModel):
    """What a path found: a value, the check it came from, or why there is nothing."""

    path: str
    found: bool
    value: Any = None
    check_id: str | None = None
    detail: str = ""
    quotes: list[Quote] = Field(default_factory=list)


def _check_match(checks: list, parts: list[str]) -> tuple[dict, list[str]] | None:
    by_id = {c.get("id"): c for c in checks if isinstance(c, dict)}
    for cut in range(len(parts), 0, -1):
        check = by_id.get(".".join(parts[:cut]))
        if check is not None:
            return check, parts[cut:]
    return None


def _holdout(entries: list, who: str) -> dict | None:
    prefix = HOLDOUT_WHO.get(who)
    if prefix is None:
        return None
    return next((e for e in entries if isinstance(e, dict) and str(e.get("who", "")).startswith(prefix)), None)


def resolve(evidence: dict, path: str) -> Resolved:
    """Follow `path` through the evidence document."""
    parts = path.split(".")
    node: Any = evidence
    walked: list[str] = []
    while parts:
        if isinstance(node, dict) and isinstance(node.get("checks"), list):
            matched = _check_match(node["checks"], parts)
            if matched is not None:
                return _from_check(path, *matched)
        part = parts.pop(0)
        if isinstance(node, list) and walked and walked[-1] == "holdout":
            node = _holdout(node, part)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            node = None
        walked.append(part)
        if node is None:
            where = ".".join(walked)
            if len(walked) == 1:
                reason = f"no {where} evidence (that stage did not run or did not record it)"
            elif isinstance(evidence.get(walked[0]), dict) and "checks" in evidence[walked[0]]:
                reason = f"{walked[0]} evidence records no {'.'.join(walked[1:])}"
            else:
                reason = f"{where} is not in the evidence"
            return Resolved(path=path, found=False, detail=reason)
    return Resolved(path=path, found=True, value=node)


def _from_check(path: str, check: dict, rest: list[str]) -> Resolved:
    quotes = [Quote.model_validate(q) for q in check.get("quotes") or [] if isinstance(q, dict)]
    base = Resolved(
        path=path,
        found=True,
        value=check.get("passed"),
        check_id=check.get("id"),
        detail=str(check.get("detail", "")),
        quotes=quotes,
    )
    name = ".".join(rest)
    figures = check.get("figures") or {}
    if not rest:
        return base
    if name == "detail":
        return base.model_copy(update={"value": base.detail})
    if name == "quotes":
        return base.model_copy(update={"value": len(quotes)})
    if name in figures:
        return base.model_copy(update={"value": figures[name]})
    return base.model_copy(
        update={"found": False, "value": None, "detail": f"check {check.get('id')} records no figure {name!r}"}
    )
