"""The hiring decision: interview scorecards + the practical report -> the guide's hire rule.

`bank` (the guide as data), `scorecard` (interviewers' files), `combine` (several
interviewers), `mix` (the guide's interview mix), `flags` (red flags from both sources),
`rule` (`decide()`), `decision` (decision.json), `command` (`grader decide`).

Import from the modules: this package is imported by `grader.report` (to show decisions),
so it imports nothing from there at package level.
"""
