"""Exact and near-duplicate images within and across the training, validation and test splits.

Exact: the same file content (sha256 of the file's bytes, taken when it was decoded). Near: a
perceptual hash (imagehash's pHash: the 8×8 lowest frequencies of the 32×32 grey image's DCT
against their median, 64 bits) within a stated Hamming distance, which also finds a copy
re-encoded, resized or lightly edited. A pair with one image in the test split and the other in
training or validation is leakage: the test set then measures recall of seen images. It is
flagged and listed for the student to remove; nothing is ever dropped here.
"""

from __future__ import annotations

from itertools import combinations_with_replacement
from typing import Literal

import imagehash
import numpy as np
from PIL import Image

from cnnreport.data.facts import Facts, ImageRecords

SPLITS = ("train", "val", "test")
HASH_BITS = 64
NEAR_BITS = 4  # Hamming distance (of 64 bits) at or below which two images are near-duplicates
METHOD = (f"exact: identical file bytes (sha256); near: pHash (imagehash {imagehash.__version__}, "
          f"{HASH_BITS} bits) of the images as loaded, Hamming distance ≤ {NEAR_BITS}")
LISTED = 40  # pairs listed by file name (leakage first); the counts cover every pair
CHUNK = 512  # rows of the pairwise distance table computed at a time (bounds memory)


class DuplicatePair(Facts):
    kind: Literal["exact", "near"]
    distance: int  # Hamming distance of the perceptual hashes (0 for exact ones too, usually)
    leakage: bool  # one image in test, the other in training or validation
    a_split: str
    a_index: int  # the image's position in its split
    a_file: str
    b_split: str
    b_index: int
    b_file: str


class DuplicateFacts(Facts):
    method: str
    near_bits: int
    images: int  # images compared (all three splits)
    # pairs per split pair, e.g. "train–test"; a pair of identical files counts as exact only
    exact: dict[str, int]
    near: dict[str, int]
    leakage_exact: int  # pairs across test and training or validation
    leakage_near: int
    leaked_test_images: int  # distinct test images with a duplicate in training or validation
    pairs: list[DuplicatePair]  # up to LISTED, leakage first
    total_pairs: int


def split_pair(a: str, b: str) -> str:
    a, b = sorted((a, b), key=SPLITS.index)
    return f"{a}–{b}"


def phash_bits(images: np.ndarray) -> np.ndarray:
    """(N,) uint64 pHash of (N, H, W, C) uint8 images."""
    out = np.empty(len(images), dtype=np.uint64)
    for i, image in enumerate(images):
        pil = Image.fromarray(image[..., 0], "L") if image.shape[-1] == 1 else Image.fromarray(image, "RGB")
        bits = imagehash.phash(pil).hash.reshape(-1)
        out[i] = np.packbits(bits).view(">u8")[0]
    return out


def find_duplicates(images: dict[str, np.ndarray], records: dict[str, ImageRecords]) -> DuplicateFacts:
    """Duplicates among the splits' images (`images` and `records` keyed by split name)."""
    names = [s for s in SPLITS if s in images]
    split_of = np.concatenate([np.full(len(images[s]), k, dtype=np.int64) for k, s in enumerate(names)])
    index_in = np.concatenate([np.arange(len(images[s])) for s in names])
    files = np.concatenate([records[s].files for s in names])
    sha = np.concatenate([records[s].sha256 for s in names])
    hashes = np.concatenate([phash_bits(images[s]) for s in names])
    in_test = split_of == (names.index("test") if "test" in names else -1)
    content = np.unique(np.ascontiguousarray(sha).view(np.dtype((np.void, sha.shape[1]))).reshape(-1),
                        return_inverse=True)[1].reshape(-1)  # one id per distinct file content

    found = {}
    leaked = np.zeros(len(files), dtype=bool)
    for kind in ("exact", "near"):
        found[kind] = scan_pairs(hashes, content, kind, split_of, in_test, len(names), leaked)
    counts = {kind: {split_pair(names[a], names[b]): int(f.counts[a, b] + (f.counts[b, a] if a != b else 0))
                     for a, b in combinations_with_replacement(range(len(names)), 2)}
              for kind, f in found.items()}
    candidates = [(kind, int(i), int(j), int(d), bool(in_test[i] != in_test[j]))
                  for kind, f in found.items() for i, j, d in f.examples]
    candidates.sort(key=lambda c: (not c[4], c[0] != "exact", c[3], c[1], c[2]))
    pairs = [DuplicatePair(kind=kind, distance=d, leakage=leak,  # type: ignore[arg-type]
                           a_split=names[split_of[i]], a_index=int(index_in[i]), a_file=str(files[i]),
                           b_split=names[split_of[j]], b_index=int(index_in[j]), b_file=str(files[j]))
             for kind, i, j, d, leak in candidates[:LISTED]]
    return DuplicateFacts(method=METHOD, near_bits=NEAR_BITS, images=len(files), exact=counts["exact"],
                          near=counts["near"], leakage_exact=found["exact"].leakage,
                          leakage_near=found["near"].leakage, leaked_test_images=int(leaked.sum()),
                          pairs=pairs, total_pairs=sum(f.total for f in found.values()))


class Found:
    """Pairs of one kind: counts per (split, split), leakage pairs, and a few examples."""

    def __init__(self, n_splits: int):
        self.counts = np.zeros((n_splits, n_splits), dtype=np.int64)
        self.leakage = 0
        self.total = 0
        self.examples: list[tuple[int, int, int]] = []  # (i, j, distance), leakage ones first kept


def scan_pairs(hashes: np.ndarray, content: np.ndarray, kind: str, split_of: np.ndarray, in_test: np.ndarray,
               n_splits: int, leaked: np.ndarray) -> Found:
    """Every pair i < j of `kind` (exact: the same content; near: within NEAR_BITS and not the
    same content), counted without listing them all: the pairwise table is built CHUNK rows at
    a time, so thousands of near-identical images (blank frames) cost time, not memory."""
    found = Found(n_splits)
    leak_examples: list[tuple[int, int, int]] = []
    other_examples: list[tuple[int, int, int]] = []
    n = len(hashes)
    for start in range(0, n, CHUNK):
        rows = np.arange(start, min(n, start + CHUNK))
        if kind == "exact":
            hit = content[rows, None] == content[None, :]
        else:
            distance = np.bitwise_count(np.bitwise_xor(hashes[rows, None], hashes[None, :]))
            hit = (distance <= NEAR_BITS) & (content[rows, None] != content[None, :])
        hit &= np.arange(n)[None, :] > rows[:, None]
        r, c = np.nonzero(hit)
        i, j = rows[r], c
        np.add.at(found.counts, (split_of[i], split_of[j]), 1)
        leak = in_test[i] != in_test[j]
        found.total += len(i)
        found.leakage += int(leak.sum())
        leaked[i[leak & in_test[i]]] = True
        leaked[j[leak & in_test[j]]] = True
        d = np.zeros(len(i), dtype=np.int64) if kind == "exact" else distance[r, c]
        for bucket, select in ((leak_examples, leak), (other_examples, ~leak)):
            room = LISTED - len(bucket)
            if room > 0:
                bucket += [(int(a), int(b), int(e)) for a, b, e in zip(i[select][:room], j[select][:room], d[select][:room])]
    found.examples = leak_examples + other_examples
    return found
