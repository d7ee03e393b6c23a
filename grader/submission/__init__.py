"""Submission discovery: where a candidate's notebooks, image, service, writeup and models are.

`discover(root)` walks a hand-in once, reads what it finds as hostile input (capped, never
executed, never imported, symlinks out of the root never followed) and returns a
`Submission`. An optional `takehome.toml` (`Manifest`) at the root overrides discovery.
"""

from grader.submission.discover import Submission, discover
from grader.submission.docker import DockerfileInfo
from grader.submission.manifest import Manifest, parse_manifest
from grader.submission.mlflow_stores import MlflowStore
from grader.submission.models import ModelFile, ModelLoading
from grader.submission.notebooks import Notebook
from grader.submission.readme import Readme
from grader.submission.requirements import RequirementsFile
from grader.submission.service import Service
from grader.submission.tree import Symlink

__all__ = [
    "DockerfileInfo",
    "Manifest",
    "MlflowStore",
    "ModelFile",
    "ModelLoading",
    "Notebook",
    "Readme",
    "RequirementsFile",
    "Service",
    "Submission",
    "Symlink",
    "discover",
    "parse_manifest",
]
