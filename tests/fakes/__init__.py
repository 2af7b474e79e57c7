"""Fakes over mocks: real servers that speak provider wire formats, with scriptable faults."""
