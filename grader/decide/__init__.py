"""The hiring decision: interview scorecards + the practical report -> the guide's hire rule.

`bank` (the guide as data), `scorecard` (interviewers' files), `combine` (several
interviewers), `mix` (the guide's interview mix), `flags` (red flags from both sources),
`rule` (`decide()`), `command` (`grader decide`). decision.json itself is `grader.decision`,
which the reports read too: `grader.report` never imports this package.
"""
