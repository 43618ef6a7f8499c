"""Work two submissions share: the same run records, the same test predictions, the same author
text. Each submission is reduced to a small fingerprint (hashes, no text kept whole), and the
batch's fingerprints are compared through an index, so a class of n submissions costs about n,
not n² text comparisons.

What is compared, and what each finding means:

- `run_json`: a run.json with the same sha256 (report.json's `runs[].sha256`, and the files
  handed in): the same file, timestamps and timings included. Training twice never writes it.
- `predictions`: a run's test_predictions.npy with the same sha256 under another run id (other
  settings, seed or data giving the very same predictions on every test image).
- `run_ids`: the same run ids, which hash every setting, the seed and the data: the same study
  trained on the same data. An unchanged starter study gives that too, so it is named apart.
- `text`: a paragraph of the author's own words (the study file's [text]) identical or nearly
  so (word 5-shingles, Jaccard similarity at least NEAR) to one of the other's. Text from a
  built-in study (what `cnnreport init` copies) is taken out first: starting from it is no copy.

Anything shared by at least COMMON_SHARE of a batch of at least COMMON_MIN submissions is the
course's common material (a required baseline, a given paragraph), not a copy, and is not flagged.
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import combinations
from pathlib import Path

from cnnreport import resources
from cnnreport.rubric.result import SharedItem, SharedWith
from cnnreport.rubric.submission import PLAIN_NAME, Submission, inside, too_large

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

SHINGLE = 5  # words per shingle
NEAR = 0.8  # Jaccard similarity of two paragraphs' shingles that counts as near-identical
MIN_WORDS = 12  # a shorter paragraph is too generic to be evidence
MAX_WORDS = 2000  # words of a paragraph compared (a hostile text is not indexed whole)
MAX_PARAGRAPHS = 200  # paragraphs of a submission compared
COMMON_SHARE = 0.5
COMMON_MIN = 10  # a smaller batch has no "common": three of five sharing a paragraph is a ring
EXCERPT = 120  # characters of a shared paragraph quoted

@dataclass
class Paragraph:
    where: str
    excerpt: str
    shingles: frozenset[int]


@dataclass
class Fingerprint:
    """What a submission is compared by (made in the process that graded it)."""

    submission: str
    run_ids: dict[str, str] = field(default_factory=dict)  # run id -> itself (kept for symmetry)
    run_json: dict[str, str] = field(default_factory=dict)  # sha256 of run.json -> run id
    predictions: dict[str, str] = field(default_factory=dict)  # sha256 of test_predictions.npy -> run id
    paragraphs: list[Paragraph] = field(default_factory=list)


WORD = re.compile(r"\w+", re.UNICODE)


def _shingles(text: str) -> frozenset[int]:
    tokens = [w.lower() for w in WORD.findall(text[: MAX_WORDS * 20])][:MAX_WORDS]
    grams = (" ".join(tokens[i:i + SHINGLE]) for i in range(max(0, len(tokens) - SHINGLE + 1)))
    # A stable hash (not Python's, which differs per process: fingerprints cross processes).
    return frozenset(int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big") for g in grams)


def _paragraphs(field_name: str, text: str) -> list[tuple[str, str]]:
    parts = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    return [(f"{field_name} ¶{i + 1}" if len(parts) > 1 else field_name, p) for i, p in enumerate(parts)]


@lru_cache(maxsize=1)
def starter_shingles() -> frozenset[int]:
    """The word shingles of the built-in studies' text: what `cnnreport init` hands every student."""
    out: set[int] = set()
    for path in resources.study_files():
        text = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("text", {})
        for value in [text.get(k, "") for k in ("dataset", "preprocessing", "interpretation")] + \
                list((text.get("rationale") or {}).values()):
            if isinstance(value, str):
                out |= _shingles(value)
    return frozenset(out)


def author_text(sub: Submission) -> list[tuple[str, str]]:
    """(where, paragraph) of the author's own words; generated text is cnnreport's, not theirs."""
    r = sub.report
    origin = r.text_origin
    found: list[tuple[str, str]] = []
    for key in ("dataset", "preprocessing", "interpretation"):
        if getattr(origin, key) == "author":
            found += _paragraphs(f"text.{key}", getattr(r.text, key))
    # The justifications are a sentence each: together they are one piece of writing.
    rationale = "\n".join(row.justification for row in r.rationale if not row.missing)
    if rationale.strip():
        found.append(("text.rationale", rationale))
    return found[:MAX_PARAGRAPHS]


def _file_sha256(path: Path | None) -> str | None:
    if path is None or not path.is_file() or too_large(path) is not None:
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(sub: Submission, name: str) -> Fingerprint:
    """A submission's fingerprint: its run ids and hashes, its predictions' hashes, its text's
    shingles. Files are read only inside the submission (and its runs folder)."""
    fp = Fingerprint(submission=name)
    starter = starter_shingles()
    for run in sub.report.runs:
        rid = run.run_id if PLAIN_NAME.match(run.run_id) else None
        if rid is None:
            continue
        fp.run_ids[rid] = rid
        if run.sha256:
            fp.run_json[run.sha256] = rid
        if sub.runs_dir is not None:
            if (h := _file_sha256(sub.run_record(rid))) is not None:
                fp.run_json[h] = rid
            if (h := _file_sha256(inside(sub.runs_dir, f"{rid}/test_predictions.npy"))) is not None:
                fp.predictions[h] = rid
    for where, text in author_text(sub):
        if len(WORD.findall(text[: MIN_WORDS * 40])) < MIN_WORDS:
            continue
        shingles = _shingles(text) - starter
        if shingles:
            fp.paragraphs.append(Paragraph(where, _excerpt(text), shingles))
    return fp


def _excerpt(text: str) -> str:
    one_line = " ".join(text[: EXCERPT * 2].split())
    return one_line if len(one_line) <= EXCERPT else one_line[:EXCERPT].rstrip() + " …"


def _common(owners: dict[object, set[str]], n: int) -> set[object]:
    """Keys held by so many submissions that they are the course's material."""
    if n < COMMON_MIN:
        return set()
    return {k for k, subs in owners.items() if len(subs) >= COMMON_SHARE * n}


def shared_work(prints: list[Fingerprint]) -> dict[str, list[SharedWith]]:
    """For each submission, the others it shares work with and what (both ways: when a shares
    with b, b's entry names a)."""
    n = len(prints)
    found: dict[tuple[str, str], list[SharedItem]] = defaultdict(list)

    for kind in ("run_json", "predictions", "run_ids"):
        owners: dict[str, dict[str, str]] = defaultdict(dict)  # key -> submission -> run id
        for fp in prints:
            for key, rid in getattr(fp, kind).items():
                owners[key].setdefault(fp.submission, rid)
        common = _common({k: set(v) for k, v in owners.items()}, n)
        for key, held in owners.items():
            if key in common or len(held) < 2:
                continue
            for a, b in combinations(sorted(held), 2):
                if kind == "predictions" and held[a] == held[b]:
                    continue  # the same run id: said under run_ids; deterministic training agrees
                found[(a, b)].append(SharedItem(kind=kind, mine=held[a], theirs=held[b], similarity=None, excerpt=""))
                found[(b, a)].append(SharedItem(kind=kind, mine=held[b], theirs=held[a], similarity=None, excerpt=""))

    for (a, pa), (b, pb), similarity in _similar_paragraphs(prints):
        found[(a, b)].append(SharedItem(kind="text", mine=pa.where, theirs=pb.where, similarity=similarity,
                                        excerpt=pa.excerpt))
        found[(b, a)].append(SharedItem(kind="text", mine=pb.where, theirs=pa.where, similarity=similarity,
                                        excerpt=pb.excerpt))

    out: dict[str, list[SharedWith]] = {fp.submission: [] for fp in prints}
    for (a, b), items in sorted(found.items()):
        out[a].append(SharedWith(submission=b, items=_dedupe(items)))
    return out


def _dedupe(items: list[SharedItem]) -> list[SharedItem]:
    seen, out = set(), []
    for i in items:
        key = (i.kind, i.mine, i.theirs)
        if key not in seen:
            seen.add(key)
            out.append(i)
    return out


def _similar_paragraphs(prints: list[Fingerprint]
                        ) -> list[tuple[tuple[str, Paragraph], tuple[str, Paragraph], float]]:
    """Pairs of paragraphs of different submissions with Jaccard similarity ≥ NEAR, found through
    an index of shingles (only paragraphs sharing a shingle are ever compared)."""
    paragraphs = [(fp.submission, p) for fp in prints for p in fp.paragraphs]
    index: dict[int, list[int]] = defaultdict(list)
    for pid, (_, p) in enumerate(paragraphs):
        for s in p.shingles:
            index[s].append(pid)
    owners = {s: {paragraphs[pid][0] for pid in pids} for s, pids in index.items()}
    common = _common(owners, len(prints))
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for s, pids in index.items():
        if s in common or len(owners[s]) < 2:
            continue
        for x, y in combinations(pids, 2):
            if paragraphs[x][0] != paragraphs[y][0]:
                shared[(x, y)] += 1
    out = []
    for (x, y), both in shared.items():
        px, py = paragraphs[x][1], paragraphs[y][1]
        similarity = both / (len(px.shingles) + len(py.shingles) - both)
        if similarity >= NEAR:
            out.append((paragraphs[x], paragraphs[y], round(similarity, 3)))
    return out


def describe(shares: list[SharedWith]) -> str:
    """One line for a row: whom this submission shares work with, and what."""
    parts = []
    for s in shares:
        kinds = defaultdict(int)
        for i in s.items:
            kinds[i.kind] += 1
        what = ", ".join(f"{n} {KIND_WORDS[k]}" for k, n in kinds.items())
        parts.append(f"{s.submission} ({what})")
    return "; ".join(parts)


KIND_WORDS = {"run_json": "identical run.json file(s)", "predictions": "identical test predictions under other run ids",
              "run_ids": "same run id(s): same settings, seeds and data", "text": "identical or near-identical paragraph(s)"}
