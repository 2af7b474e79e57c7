"""The checks of ``make verify`` (``scripts/verify.py``), one module per check, each run
against real processes on this machine: ``drtranscribe serve`` children, a real
redis-server and the fake provider server of the test suite."""
