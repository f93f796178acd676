"""Text fingerprints that survive a change of format: shingles of the normalised text.

The same paragraph read from an HTML chapter, a whole-book PDF and a plain-text copy
differs in whitespace, punctuation, case, ligatures (PDF "ﬁ"), hyphenation at line ends
and where the chunks begin and end. So a chunk is compared by its *shingles*: every run
of ``SHINGLE_CHARS`` consecutive characters of its normalised text (NFKC, case-folded,
with everything that is not a letter or a digit removed, so "Hello, World" and
"hello world" are the same text; CJK characters are letters, so Chinese works the same
way without any word segmentation). Each shingle is hashed to 64 bits.

Two texts' shingle sets give how much of one stands in the other (containment), which
is what the near-duplicate decision needs (``desktop_app.core.duplicates``). The store
keeps only a deterministic *sample* of each chunk's hashes, those whose low
``SAMPLE_BITS`` bits are zero (1 in 2**SAMPLE_BITS): a sample of one text and a sample of
another agree on exactly the shared shingles they sample, so the sampled overlap finds
the candidate copy with an index lookup per sampled hash, and the full sets of the two
texts (recomputed from their stored texts) then measure the overlap exactly.

Hashing is vectorised with numpy (a polynomial rolling hash over the code points, then
a 64-bit mixer so the low bits are uniform): about 20 ns per character.
"""

from __future__ import annotations

import unicodedata

import numpy as np

# Bump when anything below changes the hashes: Database then fingerprints every stored
# chunk again on open (shingles_repo.refingerprint_if_needed), because old samples would
# no longer match the ones new texts produce.
FINGERPRINT_VERSION = "1"

# 16 characters: about three English words, or a short Chinese clause. Shorter shingles
# start to match between unrelated texts ("configuration" + a few letters); longer ones
# break on every small difference between copies (a dropped footnote mark, a page number).
SHINGLE_CHARS = 16  # a power of two: shingle_hashes doubles its window up to it
# Keep 1 shingle hash in 32: a 320-token English chunk (~1,300 characters) keeps ~40.
SAMPLE_BITS = 5

_BASE = np.uint64(0x100000001B3)  # an odd multiplier (FNV's prime) for the rolling hash
_BASE_POWERS = {w: _BASE ** np.uint64(w) for w in (1, 2, 4, 8)}
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)  # splitmix64's finalizer constants
_MIX2 = np.uint64(0x94D049BB133111EB)
_SAMPLE_MASK = np.uint64((1 << SAMPLE_BITS) - 1)
_EMPTY = np.zeros(0, dtype=np.int64)
# str.isalnum of every BMP code point, looked up in bulk: 4x faster than a regex sub.
# Beyond the BMP (CJK extensions, historic scripts, emoji) everything counts as a letter.
_BMP = 0x10000
_IS_LETTER_OR_DIGIT = np.array([chr(c).isalnum() for c in range(_BMP)], dtype=bool)


def _codes(text: str) -> np.ndarray:
    """The code points of ``normalise(text)`` as uint32."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    codes = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32)
    keep = _IS_LETTER_OR_DIGIT[np.minimum(codes, _BMP - 1)] | (codes >= _BMP)
    return codes[keep]


def normalise(text: str) -> str:
    """Letters and digits only, NFKC and case-folded: what is compared between copies."""
    return _codes(text).tobytes().decode("utf-32-le")


def shingle_hashes(text: str) -> np.ndarray:
    """The distinct 64-bit hashes (as int64, SQLite's integer) of every shingle of
    ``text``, sorted. Empty if the normalised text is shorter than one shingle."""
    codes = _codes(text).astype(np.uint64)
    count = len(codes) - SHINGLE_CHARS + 1
    if count <= 0:
        return _EMPTY
    with np.errstate(over="ignore"):  # arithmetic modulo 2**64 is the point
        # The polynomial hash sum(code[i + j] * BASE**(15 - j)) of every window, built by
        # doubling the window (1, 2, 4, 8, 16 characters): 8 array operations, not 32.
        rolling = codes
        width = 1
        while width < SHINGLE_CHARS:
            rolling = rolling[:-width] * _BASE_POWERS[width] + rolling[width:]
            width *= 2
        mixed = rolling ^ (rolling >> np.uint64(30))
        mixed = mixed * _MIX1
        mixed ^= mixed >> np.uint64(27)
        mixed = mixed * _MIX2
        mixed ^= mixed >> np.uint64(31)
    hashes = np.sort(mixed.view(np.int64))
    # Sort and drop repeats: ~10x faster than np.unique (hash-based) at these sizes.
    distinct = np.empty(len(hashes), dtype=bool)
    distinct[0] = True
    np.not_equal(hashes[1:], hashes[:-1], out=distinct[1:])
    return hashes[distinct]


def sample(hashes: np.ndarray) -> np.ndarray:
    """The deterministic sample of ``shingle_hashes`` that the store keeps."""
    return hashes[(hashes.view(np.uint64) & _SAMPLE_MASK) == 0]


def overlap(first: np.ndarray, second: np.ndarray) -> tuple[float, float]:
    """How much of each text stands in the other: the shares of ``first``'s and of
    ``second``'s shingles that both have (sorted distinct hashes, as from
    ``shingle_hashes``); 0 for an empty side."""
    shared = len(np.intersect1d(first, second, assume_unique=True))
    return (shared / len(first) if len(first) else 0.0,
            shared / len(second) if len(second) else 0.0)
