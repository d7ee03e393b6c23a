"""The slow first-use build of a runner announces itself (issue #13: a cold demo sat on
"notebooks" for minutes while the runner was built, saying nothing); a cached one does not."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.sandbox.local.runner import CACHE_VARIABLE, local_runner_python
from grader.sandbox.policy import load_policy


def test_building_the_local_runner_says_so_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_VARIABLE, str(tmp_path / "runners"))
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install: the build is the virtualenv itself\n")
    heard: list[str] = []
    with local_runner_python(load_policy().cache, heard.append, requirements) as (python, _notes):
        assert Path(python).is_file()
    assert len(heard) == 1 and heard[0].startswith("building the local runner virtualenv"), heard
    with local_runner_python(load_policy().cache, heard.append, requirements):
        pass
    assert len(heard) == 1, heard
