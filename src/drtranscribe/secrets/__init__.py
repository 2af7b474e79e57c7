"""Secrets: one interface, three backends (environment, a file, GCP Secret Manager)."""
