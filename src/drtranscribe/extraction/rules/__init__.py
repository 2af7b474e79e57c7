"""Rules of the local clinical extractor (see parse.py and merge.py)."""
