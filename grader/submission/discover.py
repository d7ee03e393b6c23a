"""Discovery: from a submission folder to a `Submission` saying where every deliverable is.

Nothing found is fatal: what is absent goes to `missing`, what is odd to `problems`.
Only a root that is not a folder raises, since then there is nothing to grade.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from grader.errors import BadInput
from grader.submission.docker import DockerChoice, DockerfileInfo, choose, image_to_context
from grader.submission.manifest import MANIFEST_NAME, Manifest, load_manifest
from grader.submission.mlflow_stores import MlflowStore, find_stores, store_path_from_uri
from grader.submission.models import ModelFile, ModelLoading, find_model_files, model_loading
from grader.submission.notebooks import Notebook, find_notebooks, inspect_notebook
from grader.submission.readme import Readme, find_readme
from grader.submission.requirements import RequirementsFile, find_requirements, inspect_requirements, kind_of
from grader.submission.service import Service, find_service, service_modules
from grader.submission.tree import FileEntry, Symlink, Tree, Unreadable, normalize, under, walk


class Submission(BaseModel):
    """Where a candidate's deliverables are, as discovered (or as their manifest says).

    Paths are POSIX paths relative to `root`; `path()` turns one into a real path.
    """

    root: Path
    manifest: Manifest | None = None
    notebooks: list[Notebook] = Field(default_factory=list)
    dockerfile: DockerfileInfo | None = None
    dockerfiles: list[DockerfileInfo] = Field(default_factory=list)
    dockerfile_reason: str | None = None
    compose_file: str | None = None
    compose_service: str | None = None
    build_context: str | None = None
    build_context_reason: str | None = None
    start_command: str | None = None
    start_command_origin: str | None = None
    port: int | None = None
    port_source: str | None = None
    predict_route: str | None = None
    service: Service | None = None
    service_candidates: list[str] = Field(default_factory=list)
    readme: Readme | None = None
    other_readmes: list[str] = Field(default_factory=list)
    requirements: list[RequirementsFile] = Field(default_factory=list)
    lock_files: list[str] = Field(default_factory=list)
    mlflow_stores: list[MlflowStore] = Field(default_factory=list)
    mlflow_tracking_uri: str | None = None
    model_files: list[ModelFile] = Field(default_factory=list)
    model_loading: ModelLoading = Field(default_factory=ModelLoading)
    skipped: dict[str, int] = Field(default_factory=dict)
    skipped_paths: list[str] = Field(default_factory=list)
    symlinks: list[Symlink] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list)

    def path(self, rel: str) -> Path:
        """The real path of a path this submission reports ('' or '.' is the root)."""
        return self.root / rel if rel not in ("", ".") else self.root


class _Picks:
    """The manifest's paths, each resolved inside the root or reported and dropped."""

    def __init__(self, tree: Tree, manifest: Manifest | None, problems: list[str]) -> None:
        self.tree, self.manifest, self.problems = tree, manifest, problems

    def file(self, key: str) -> FileEntry | None:
        rel = getattr(self.manifest, key, None) if self.manifest else None
        return None if rel is None else self._file(key, rel)

    def files(self, key: str) -> list[FileEntry]:
        rels = getattr(self.manifest, key, None) if self.manifest else None
        return [entry for rel in rels or [] if (entry := self._file(key, rel)) is not None]

    def folder(self, key: str) -> str | None:
        rel = getattr(self.manifest, key, None) if self.manifest else None
        if rel is None:
            return None
        try:
            return self.tree.dir_at(rel)
        except Unreadable as exc:
            self.problems.append(f"{MANIFEST_NAME}: {key}: {exc}; discovered instead")
            return None

    def _file(self, key: str, rel: str) -> FileEntry | None:
        try:
            return self.tree.file_at(rel)
        except Unreadable as exc:
            self.problems.append(f"{MANIFEST_NAME}: {key}: {exc}; discovered instead")
            return None


def discover(root: Path) -> Submission:
    """Find every deliverable under `root`; never reads a file over its cap, never runs one."""
    root = Path(root)
    if not root.is_dir():
        raise BadInput(f"submission folder {root} does not exist or is not a folder; give the candidate's repository")
    tree = walk(root.resolve())
    problems = list(tree.problems)
    manifest, manifest_problems = load_manifest(tree)
    problems += manifest_problems
    picks = _Picks(tree, manifest, problems)
    found = Submission(root=tree.root, manifest=manifest, symlinks=tree.symlinks, skipped_paths=tree.skipped_paths)
    found.skipped = dict(tree.skipped)

    found.mlflow_stores, store_folders = _stores(tree, manifest, found, problems)
    # Stores hold no notebooks or service code of the candidate's: look past them.
    project = [entry for entry in tree.files if not any(under(entry.rel, folder) for folder in store_folders)]
    for folder in store_folders:
        found.skipped[posixpath.basename(folder)] = found.skipped.get(posixpath.basename(folder), 0) + 1

    found.notebooks = _notebooks(picks, project)
    docker = choose(tree, project, picks.file("dockerfile"), picks.folder("build_context"))
    _take_docker(found, docker, manifest)
    found.service, found.service_candidates, service_problems = find_service(
        project, docker.start_command, docker.build_context, picks.file("service"), docker.start_command_origin or ""
    )
    found.readme, found.other_readmes, readme_problems = find_readme(project, picks.file("readme"))
    _take_requirements(found, project, picks.files("requirements"))
    found.model_files, model_problems = find_model_files(tree.files, store_folders)
    found.model_loading = _model_loading(found, project, docker)

    problems += docker.problems + service_problems + readme_problems + model_problems
    problems += [readme.problem for readme in [found.readme] if readme and readme.problem]
    problems += [item.problem for item in found.requirements if item.problem]
    problems += [f"{nb.path}: {nb.problem}" for nb in found.notebooks if nb.problem]
    found.missing = _missing(found)
    found.problems = list(dict.fromkeys(problems))
    return found


def _stores(
    tree: Tree, manifest: Manifest | None, found: Submission, problems: list[str]
) -> tuple[list[MlflowStore], set[str]]:
    key, declared = ("mlflow_store", manifest.mlflow_store) if manifest else (None, None)
    if manifest and manifest.mlflow_tracking_uri:
        found.mlflow_tracking_uri = manifest.mlflow_tracking_uri
        named = store_path_from_uri(manifest.mlflow_tracking_uri)
        if named is None:
            problems.append(
                f"{MANIFEST_NAME}: mlflow_tracking_uri '{manifest.mlflow_tracking_uri}' is a remote server; "
                "the grader reads only stores inside the submission"
            )
        elif declared is None:
            key, declared = "mlflow_tracking_uri", named
    if declared is not None:
        try:
            declared = tree.existing(declared)
        except Unreadable as exc:
            problems.append(f"{MANIFEST_NAME}: {key}: {exc}")
            declared = None
    stores, folders, store_problems = find_stores(tree, declared)
    problems += store_problems + [store.problem for store in stores if store.problem]
    return stores, folders


def _image_paths(docker: DockerChoice) -> Callable[[str], list[str]]:
    """Map a path inside the serving image back to the submission, through its COPY steps."""
    if docker.dockerfile is None:
        return lambda path: []
    dockerfile, context = docker.dockerfile, docker.build_context or ""
    return lambda path: [normalize(posixpath.join(context, rel)) for rel in image_to_context(dockerfile, path)]


def _notebooks(picks: _Picks, project: list[FileEntry]) -> list[Notebook]:
    forced = picks.files("notebooks")
    if forced:
        return [inspect_notebook(entry) for entry in forced]
    return find_notebooks(project)


def _take_requirements(found: Submission, project: list[FileEntry], forced: list[FileEntry]) -> None:
    found.requirements, found.lock_files = find_requirements(project)
    if forced:
        found.requirements = [inspect_requirements(entry, kind_of(entry) or "pip") for entry in forced]


def _model_loading(found: Submission, project: list[FileEntry], docker: DockerChoice) -> ModelLoading:
    settings = {docker.dockerfile.path: docker.dockerfile.env} if docker.dockerfile else {}
    if docker.compose_file and docker.compose_env:
        settings[docker.compose_file] = docker.compose_env
    sources = service_modules(project, found.service) if found.service else []
    return model_loading(sources, settings, found.model_files, _image_paths(docker))


def _take_docker(found: Submission, docker: DockerChoice, manifest: Manifest | None) -> None:
    found.dockerfiles = docker.dockerfiles
    found.dockerfile = docker.dockerfile
    found.dockerfile_reason = docker.reason
    found.compose_file = docker.compose_file
    found.compose_service = docker.compose_service
    found.build_context = docker.build_context
    found.build_context_reason = docker.build_context_reason
    found.start_command = docker.start_command
    found.start_command_origin = docker.start_command_origin
    found.predict_route = manifest.predict_route if manifest else None
    if manifest and manifest.port:
        found.port, found.port_source = manifest.port, MANIFEST_NAME
    elif docker.compose_ports:
        found.port = docker.compose_ports[0]
        found.port_source = f"ports of service '{docker.compose_service}' in {docker.compose_file}"
    elif docker.dockerfile and docker.dockerfile.exposed_ports:
        found.port, found.port_source = docker.dockerfile.exposed_ports[0], f"EXPOSE in {docker.dockerfile.path}"


def _missing(found: Submission) -> list[str]:
    missing = []
    if not found.notebooks:
        missing.append("no notebook found (*.ipynb outside virtualenvs, caches and MLflow stores)")
    elif not any(nb.valid for nb in found.notebooks):
        missing.append(f"no readable notebook: all {len(found.notebooks)} found are invalid or too large")
    if found.dockerfile is None:
        missing.append("no Dockerfile found")
    if found.service is None:
        missing.append(
            "no service module found (no FastAPI or Flask app, no predict.py, app.py or main.py at the root)"
        )
    if found.readme is None:
        missing.append("no README found")
    if not found.requirements:
        missing.append("no requirements file found (requirements*.txt, pyproject.toml, environment.yml or Pipfile)")
    if found.model_loading.missing_refs:
        missing += [
            f"no committed model where the service loads one: {ref}" for ref in found.model_loading.missing_refs
        ]
    elif found.model_loading.source == "missing":
        missing.append("no trained model committed or loaded from a registry (the notebooks must produce one)")
    return missing
