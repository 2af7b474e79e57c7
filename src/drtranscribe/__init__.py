"""drTranscribe: live medical-consultation transcription."""

__version__ = "0.1.0"
