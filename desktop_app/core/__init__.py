"""Kura's core: ingest, chunk, embed, store, search, answer, models. Never imports Qt."""
