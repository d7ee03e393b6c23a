"""The Docker engine and what it must hold: the connection, and the offline stand-in base images.

Not a sandbox: this is the machine the docker backend (`grader.sandbox.docker`) runs on,
provisioned so that candidate builds find `FROM python:*` with no registry reachable.
"""
