"""Cloud providers grouped by vendor: each holds its client construction, error mapping,
and its speech-to-text and LLM adapters (``vendors/registry.py`` describes each provider
once)."""
