"""The grader's exceptions: one base, specific subclasses, messages that say what to do.

Errors a user can cause derive from `GraderError`; the CLI prints their message on one
line and exits with code 2. Anything else is a bug and keeps its traceback.
"""


class GraderError(Exception):
    """Base of every error a user can cause and fix."""


class SecretMissing(GraderError):
    """No cohort secret was given."""


class BadCandidateId(GraderError):
    """A candidate id that could not safely name a folder or a seed."""


class UnknownSpec(GraderError):
    """A world spec version that is not shipped in datasets/."""


class OutputNotEmpty(GraderError):
    """The output folder exists and holds files; --force was not given."""


class BadInput(GraderError):
    """A file or argument the user gave is missing, unreadable or malformed."""


class EngineUnavailable(GraderError):
    """No Docker engine answers; `sandbox/engine.sh start` starts one."""


class BaseImagesUnavailable(GraderError):
    """The offline stand-in base images are missing and could not be built."""


class BadScorecard(BadInput):
    """An interview scorecard (or the question bank) that breaks its format; the message names file and line."""
