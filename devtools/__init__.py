"""Tooling for development, tests, benchmarks and builds; not part of the shipped package.

* ``devserver``: start the service as a child process and learn where it listens;
* ``docs_gen``: regenerate the schema sections of ``docs/`` (``make schemas``);
* ``deployenv``: read the environment the Dockerfile and the Cloud Run service set.
"""
