"""Sandboxes for candidate code: the Docker engine, base images, limits."""
