"""Evidence paths: checks with dotted ids, figures, details, quotes, holdout scores."""

from __future__ import annotations

from synthetic import perfect, set_check

from grader.rubric.paths import resolve


def test_paths_reach_checks_figures_and_holdout_scores() -> None:
    document = set_check(perfect(), "writeup.covers.data_drift", True, strength=0.5)
    assert resolve(document, "audit.leak_named").value is True
    assert resolve(document, "audit.leak_named.quotes").value == 1
    assert resolve(document, "serving.load.no_errors").value is True  # a check id with a dot
    assert resolve(document, "serving.load.profile.steps").value[-1]["rate"] == 500.0  # not a check: the record
    assert resolve(document, "serving.contract.route.free_form").value is False
    assert resolve(document, "writeup.covers.data_drift.strength").value == 0.5
    assert "set to True" in resolve(document, "writeup.covers.data_drift.detail").value
    assert resolve(document, "modeling.holdout.oracle.pr_auc").value == 0.22
    assert resolve(document, "modeling.holdout.reference.pr_auc").value == 0.16
    assert resolve(document, "claimed_pr_auc").value == 0.23
    assert resolve(document, "submission.readme.words").value == 520


def test_missing_paths_say_why() -> None:
    document = perfect()
    document["serving"] = None
    assert not resolve(document, "serving.load.no_errors").found
    assert "no serving evidence" in resolve(document, "serving.load.no_errors").detail
    missing = resolve(document, "audit.no_such_check")
    assert not missing.found and "audit evidence records no no_such_check" in missing.detail
    figure = resolve(document, "writeup.length.nothing")
    assert not figure.found and "no figure 'nothing'" in figure.detail
    assert not resolve(document, "modeling.holdout.nobody.pr_auc").found
