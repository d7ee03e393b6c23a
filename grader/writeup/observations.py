"""Red-flag wording in a README, read as the interview guide means it, and handed to a reviewer.

The guide's flags are about the person: "Uses ROC-AUC on a 0.1% class rate and calls it
great", "Treats production deployment as someone else's problem", "Does not know the
difference between offline and online evaluation". A sentence can only suggest them, so
wording never fails a candidate here. Each observation check says what the README shows
(`passed`): ROC-AUC on the rare class called great, with no PR-AUC anywhere; deployment
called someone else's job or out of scope, with no ownership claimed; a promotion on an
offline comparison with no online evaluation at all. Every sentence that would once have
raised the flag becomes a `ReviewItem` with its quotes, how it reads against the guide's
wording, and why, for a person to decide. The rubric raises these flags only from
measured evidence (`modeling.roc_auc_only`, no Dockerfile or service, an offline figure
the hidden holdout does not bear out).
"""

from __future__ import annotations

import re

from grader.evidence import Check
from grader.writeup.evidence import AS_WORDED, WEAKER, ReviewItem
from grader.writeup.statements import sentence_quote
from grader.writeup.text import Document, Sentence

QUOTES = 2
ROC = re.compile(r"roc[- ]?auc|(?<![a-z-])auc\b", re.I)
PR = re.compile(r"pr[- ]?auc|average precision|auprc|precision[- ]recall", re.I)
PRAISE = re.compile(r"\b(great|excellent|strong|impressive|very good|outstanding|near[- ]perfect)\b", re.I)
MONITORING_USE = re.compile(r"\b(alert|monitor|track|drops?|falls?|watch|compare)\w*", re.I)
PROMOTION = re.compile(
    r"(promot|deploy|replac|swap|push|ship)\w*.{0,60}\b(if|when|once|whenever)\b.{0,60}"
    r"(auc|metric|score|accuracy|f1|better|higher|improv)",
    re.I,
)
ONLINE = re.compile(
    r"online (evaluation|metric|test|experiment)|offline .{0,60}online|live traffic|"
    r"(holdout|control|no-contact) group|randomi[sz]|a/b|\bshadow|canary|champion.{0,20}challenger",
    re.I,
)
HANDED_OFF = re.compile(
    r"deploy\w*.{0,60}((devops|platform|infra\w*|ops|sre|mlops) team|someone else)|"
    r"(devops|platform|infra\w*|ops|sre|mlops) team .{0,40}(will|would|can|should) (handle|take care|deploy|own)|"
    r"left (it )?to (the )?(devops|ops|platform)",
    re.I,
)
DISOWNED = re.compile(
    r"out of scope|not (my|our|in) (job|responsibility|scope|problem)|someone else'?s (job|problem)|"
    r"not (responsible|my concern) .{0,40}(deploy|production)|(devops|ops|platform) (problem|concern)",
    re.I,
)
OWNS = re.compile(
    r"\b(i|we)( will| would)? (own|carry|run|am on|are on|take|hold)\b.{0,40}(on-?call|pager|rotation|service|model|"
    r"deploy\w*|production|alert)|\bmy (on-?call|rotation|pager)|\b(i|we) (am|are) on[- ]call",
    re.I,
)


def _body(document: Document) -> list[Sentence]:
    return [s for s in document.sentences if s.kind != "heading"]


def roc_auc(document: Document) -> tuple[Check, list[ReviewItem]]:
    """ROC-AUC reported for a rare class with no PR-AUC anywhere: 'calls it great' is the guide's flag."""
    body = _body(document)
    roc = [s for s in body if ROC.search(s.text) and not PR.search(s.text)]
    if not roc:
        return Check(id="roc_auc_headline", passed=False, detail="no ROC-AUC"), []
    if any(PR.search(s.text) for s in body):
        alerting = [s for s in roc if MONITORING_USE.search(s.text)]
        if not alerting:
            return Check(id="roc_auc_headline", passed=False, detail="reports PR-AUC"), []
        # PR-AUC is reported, yet an alert watches ROC-AUC, which barely moves when a rare class's
        # ranking degrades: not the guide's flag, but worth a person's look.
        quotes = [sentence_quote(document, s) for s in alerting[:QUOTES]]
        why = (
            "alerts on ROC-AUC for a rare class although it reports PR-AUC elsewhere; ROC-AUC barely moves when "
            "the few churners are ranked worse: not the guide's flag, a reviewer decides"
        )
        check = Check(id="roc_auc_headline", passed=False, detail=why, quotes=quotes)
        return check, [
            ReviewItem(flag="roc_auc_on_rare_class", check="roc_auc_headline", reading=WEAKER, why=why, quotes=quotes)
        ]
    praised = [s for s in roc if PRAISE.search(s.text)]
    shown = praised or roc
    quotes = [sentence_quote(document, s) for s in shown[:QUOTES]]
    if praised:
        why = "reports ROC-AUC on a rare class, never PR-AUC, and calls it great: the guide's wording"
    elif all(MONITORING_USE.search(s.text) for s in roc):
        why = (
            "monitors a rare class with ROC-AUC and never names PR-AUC; the guide's flag needs ROC-AUC called "
            "great, which this does not do: a reviewer decides whether it shows the flag"
        )
    else:
        why = "reports ROC-AUC on a rare class and never PR-AUC, without calling it great: weaker than the guide's flag"
    check = Check(id="roc_auc_headline", passed=bool(praised), detail=why, quotes=quotes)
    item = ReviewItem(
        flag="roc_auc_on_rare_class",
        check="roc_auc_headline",
        reading=AS_WORDED if praised else WEAKER,
        why=why,
        quotes=quotes,
    )
    return check, [item]


def promotion(document: Document) -> tuple[Check, Check, list[ReviewItem]]:
    """A model promoted on an offline comparison, and whether the README evaluates online at all."""
    body = _body(document)
    found = [s for s in body if PROMOTION.search(s.text)]
    online = [s for s in body if s.real and ONLINE.search(s.text)]
    online_check = Check(
        id="online_evaluation",
        passed=bool(online),
        quotes=[sentence_quote(document, s) for s in online[:QUOTES]],
        detail="evaluates the model online (a control group, an A/B or shadow run, a live business metric)"
        if online
        else "no online evaluation: only offline metrics",
    )
    if not found:
        return (
            Check(id="promotes_on_offline_metric", passed=False, detail="no offline-only promotion rule"),
            online_check,
            [],
        )
    quotes = [sentence_quote(document, s) for s in found[:QUOTES]]
    if online:
        why = "promotes on an offline comparison, and also evaluates online: not the guide's flag"
        return Check(id="promotes_on_offline_metric", passed=False, quotes=quotes, detail=why), online_check, []
    why = (
        "promotes a model on an offline comparison and never evaluates online; the guide's flag is not knowing "
        "the difference, which one rule does not show: a reviewer decides"
    )
    check = Check(id="promotes_on_offline_metric", passed=True, quotes=quotes, detail=why)
    item = ReviewItem(
        flag="offline_online_confusion", check="promotes_on_offline_metric", reading=WEAKER, why=why, quotes=quotes
    )
    return check, online_check, [item]


def deployment(document: Document) -> tuple[Check, list[ReviewItem]]:
    """Deployment handed to someone else; an ownership claim in the README weighs against it."""
    body = _body(document)
    disowned = [s for s in body if DISOWNED.search(s.text) and re.search(r"deploy|production|serv|api", s.text, re.I)]
    handed = [s for s in body if HANDED_OFF.search(s.text) and s not in disowned]
    if not disowned and not handed:
        return Check(id="deployment_disowned", passed=False, detail="does not disown deployment"), []
    owns = [s for s in body if OWNS.search(s.text)]
    as_worded = bool(disowned) and not owns
    shown = (disowned or handed)[:QUOTES]
    quotes = [sentence_quote(document, s) for s in shown]
    if as_worded:
        why = "calls deployment someone else's job or out of scope: the guide's wording"
    elif owns:
        why = (
            "names another team in deployment, but also claims ownership "
            f"('{owns[0].text[:80]}'): probably not the guide's flag"
        )
        quotes = [*quotes, sentence_quote(document, owns[0])][: QUOTES + 1]
    else:
        why = "names another team for deployment without saying who owns it: weaker than the guide's flag"
    check = Check(id="deployment_disowned", passed=as_worded, quotes=quotes, detail=why)
    item = ReviewItem(
        flag="deployment_not_my_problem",
        check="deployment_disowned",
        reading=AS_WORDED if as_worded else WEAKER,
        why=why,
        quotes=quotes,
    )
    return check, [item]
