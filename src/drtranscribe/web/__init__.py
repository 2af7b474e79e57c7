"""The browser side, served by the service itself: the client library (ES modules, no
build step) under ``/client/v1/`` and the demo EMR page at ``/``."""
