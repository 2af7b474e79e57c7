"""Gemini: its client and error mapping, speech-to-text and the note's LLM."""
