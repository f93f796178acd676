"""Sample data several test folders use: the shared fixture documents and a few texts."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# shared/ lies beside the checkout, for developers and for CI alike.
FIXTURES = REPO.parent / "shared" / "fixtures"
CORP_KB = FIXTURES / "corp_kb"  # the seed's knowledge base: a folder per category

# EmbeddingGemma's model-card example: the second document is the answer.
RED_PLANET_QUERY = "Which planet is known as the Red Planet?"
RED_PLANET_DOCS = [
    "Venus is often called Earth's twin because of its similar size and proximity.",
    "Mars, known for its reddish appearance, is often referred to as the Red Planet.",
    "Jupiter, the largest planet in our solar system, has a prominent red spot.",
    "Saturn, famous for its rings, is sometimes mistaken for the Red Planet.",
]
