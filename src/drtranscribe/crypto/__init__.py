"""Encryption at rest: per-session data keys and AES-256-GCM sealing (crypto-shredding)."""
