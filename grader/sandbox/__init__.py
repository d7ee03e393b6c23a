"""The one boundary candidate code runs behind: a `Sandbox` (`api`), on the docker or the local backend.

- `api`: the interface every stage uses (`run`, `build`, `service`), the results and the
  one backend chooser;
- `docker/`: containers of the engine; `local/`: confined processes of this machine;
- what both share: the limits (`policy`), the watchdog on the folders candidate code writes
  (`diskwatch`, `folders`), the host firewall (`hostguard`), owners of what a run leaves
  (`owner`), the caches of runner images and virtualenvs (`cache`), the runner's stack (`stack`).

The Docker engine itself and the offline base images it holds are not a sandbox: `grader.engine`.
"""
