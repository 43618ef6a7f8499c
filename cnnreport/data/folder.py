"""A student's own image folder as a Dataset: the layout found (data/layout.py), every image
decoded once (data/images.py) into one preallocated uint8 array and cached (data/folder_cache.py),
problems collected rather than fatal one at a time, channels unified, the test part held out when
the folder has none, and the facts the report states (data/facts.py).

Decoded with Pillow rather than image_dataset_from_directory so that a machine without
TensorFlow (JAX backend, a SageMaker job's environment) reads folders too.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import numpy as np

from cnnreport.data import folder_cache
from cnnreport.data.dataset import Dataset
from cnnreport.data.facts import (
    ChannelFacts,
    FileProblem,
    FolderData,
    FolderFacts,
    ImageRecords,
    LayoutFacts,
    ProblemList,
    ResizeFacts,
    SizeFacts,
    Summary,
)
from cnnreport.data.images import (
    PAD_FILL,
    RESAMPLE_NAME,
    BadImage,
    decode,
    fit,
    is_grey,
    luma,
    pixels,
)
from cnnreport.data.layout import PARTS, Layout, scan_class_folders, scan_csv
from cnnreport.errors import UserError
from cnnreport.study.specs import DataSpec

Echo = Callable[[str], None]
DEFAULT_SIZE = (64, 64)  # (height, width) when the study gives no data.image_size
HELD_OUT_SEED = 0  # the test images a folder without test/ gives up: fixed, whatever the study's seeds
LUMA_CHUNK = 1024  # images converted to grey at a time (bounds the extra memory)
SAY_DECODING_FROM = 2000  # images: a first load this large says what it is doing
LINE_EXAMPLES = 8  # skipped files named in the load-time line
PROGRESS_EVERY = 10_000  # images between two progress lines of a long first load


def load_image_folder(root: Path, spec: DataSpec, cache_dir: Path | None = None,
                      echo: Echo | None = None) -> Dataset:
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root}: no such image folder (data.path or --data-dir)")
    layout = scan_csv(root, spec.csv, spec.csv_columns) if spec.csv else scan_class_folders(root)
    size = tuple(spec.image_size or DEFAULT_SIZE)
    policy = {"size": list(size), "resize": spec.resize, "channels": spec.channels, "background": spec.background}
    key = folder_cache.cache_key(layout, policy)
    stored = folder_cache.load(cache_dir, key) if cache_dir is not None else None
    if stored is None:
        t0 = time.perf_counter()
        say = echo if echo and len(layout.files) >= SAY_DECODING_FROM else None
        if say:
            say(f"data: decoding {len(layout.files):,} images in {root}"
                + (" (once: later commands read the cache)" if cache_dir is not None else ""))
        stored = decode_all(layout, size, spec, say)  # type: ignore[arg-type]
        if cache_dir is not None:
            folder_cache.save(cache_dir, key, *stored)
        if say:
            say(f"data: decoded in {time.perf_counter() - t0:.1f} s")
    arrays, decoded = stored
    problems = sorted(layout.problems + [FileProblem(**p) for p in decoded["problems"]],
                      key=lambda p: (("skipped", "read", "ignored").index(p.action), p.file))
    _stop_on_bad_files(root, problems, spec)
    if echo:
        line = load_line(root, problems, len(arrays["x"]))
        if line:
            echo(line)
    return _dataset(root, layout, arrays, decoded, problems, spec, size)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------- decoding


def decode_all(layout: Layout, size: tuple[int, int], spec: DataSpec,
               progress: Echo | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Every file of the layout into one preallocated uint8 array (no per-image objects kept);
    returns (arrays, facts) as the cache stores them. `progress` hears every PROGRESS_EVERY."""
    n, (h, w) = len(layout.files), size
    x = np.empty((n, h, w, 1 if spec.channels == 1 else 3), dtype=np.uint8)
    index = np.empty(n, dtype=np.int32)  # which layout file each loaded image is
    sha = np.empty((n, 32), dtype=np.uint8)
    sizes = np.empty((n, 2), dtype=np.int32)
    grey = np.empty(n, dtype=bool)  # grey content
    grey_mode = np.empty(n, dtype=bool)  # decoded as a grey mode (L)
    problems: list[dict[str, str]] = []
    k = 0
    for i, rel in enumerate(layout.files):
        if progress and i and i % PROGRESS_EVERY == 0:
            progress(f"data: {i:,} / {n:,} images decoded")
        try:
            d = decode(layout.root / rel, spec.background)
        except BadImage as bad:
            problems.append({"file": rel, "kind": bad.kind, "action": "skipped", "detail": bad.detail})
            continue
        problems += [{"file": rel, "kind": kind, "action": "read", "detail": detail} for kind, detail in d.notes]
        rgb = pixels(fit(d.image, size, spec.resize), 3)
        grey_mode[k] = d.image.mode == "L"
        grey[k] = grey_mode[k] or is_grey(rgb)
        x[k] = luma(rgb) if x.shape[-1] == 1 else rgb
        index[k], sizes[k] = i, d.size
        sha[k] = np.frombuffer(d.sha256, dtype=np.uint8)
        k += 1
    x, grey, grey_mode = x[:k], grey[:k], grey_mode[:k]
    n_grey = int(grey.sum())
    chosen = spec.channels if spec.channels != "auto" else (1 if n_grey > k - n_grey else 3)  # a tie keeps colour
    if chosen == 1 and x.shape[-1] == 3:
        x = _to_grey(x)
    converted = int((~grey_mode).sum()) if chosen == 1 else int(grey_mode.sum())
    channels = ChannelFacts(setting=spec.channels, chosen=chosen, grey_images=n_grey,
                            colour_images=k - n_grey, converted=converted)
    arrays = {"x": x, "index": index[:k], "sha256": sha[:k], "sizes": sizes[:k]}
    return arrays, {"problems": problems, "channels": channels.model_dump(mode="json")}


def _to_grey(x: np.ndarray) -> np.ndarray:
    out = np.empty(x.shape[:-1] + (1,), dtype=np.uint8)
    for start in range(0, len(x), LUMA_CHUNK):
        out[start:start + LUMA_CHUNK] = luma(x[start:start + LUMA_CHUNK])
    return out


# ------------------------------------------------------------------------------------- problems


def _stop_on_bad_files(root: Path, problems: list[FileProblem], spec: DataSpec) -> None:
    skipped = [p for p in problems if p.action == "skipped"]
    if spec.on_bad_file == "error" and skipped:
        listed = "; ".join(f"{p.file}: {p.detail}" for p in skipped)
        raise UserError(f"{root}: {len(skipped)} bad file{'s' if len(skipped) != 1 else ''} "
                        f"(data.on_bad_file = 'error'): {listed}")


def load_line(root: Path, problems: list[FileProblem], loaded: int) -> str:
    """The one line a load prints when anything was skipped, ignored or read with a note."""
    if not problems:
        return ""
    parts = []
    for action, label, with_detail in (("skipped", "skipped", True), ("read", "read with a note", True),
                                       ("ignored", "not data, ignored", False)):
        these = [p for p in problems if p.action == action]
        if these:
            shown = [f"{p.file} ({p.detail})" if with_detail else p.file for p in these[:LINE_EXAMPLES]]
            more = [f"and {len(these) - LINE_EXAMPLES} more"] if len(these) > LINE_EXAMPLES else []
            parts.append(f"{len(these)} {label}: " + ("; " if with_detail else ", ").join(shown + more))
    return (f"data: {root}: {loaded:,} images loaded; " + " | ".join(parts)
            + " (all listed in the report's data section)")


# ------------------------------------------------------------------------------------- the set


def _dataset(root: Path, layout: Layout, arrays: dict[str, np.ndarray], decoded: dict[str, Any],
             problems: list[FileProblem], spec: DataSpec, size: tuple[int, int]) -> Dataset:
    x, index = arrays["x"], arrays["index"].astype(np.int64)
    all_labels, all_parts = layout.arrays()
    labels, parts = all_labels[index], all_parts[index]
    records = ImageRecords(np.asarray(layout.files, dtype=str)[index], arrays["sha256"], arrays["sizes"])
    _every_class_loaded(root, layout, labels, parts, problems)
    if layout.split_by == "study":
        train, test = held_out(labels, spec.test_fraction, layout.class_names, root)
    else:  # the layout lists the train part first, so both parts are views, not copies
        n_train = int((parts == 0).sum())
        train, test = slice(0, n_train), slice(n_train, len(parts))
    facts = FolderFacts(
        layout=LayoutFacts(path=str(root), labels_from=layout.labels_from, csv=layout.csv,  # type: ignore[arg-type]
                           csv_columns=layout.csv_columns, split_by=layout.split_by,  # type: ignore[arg-type]
                           test_fraction=spec.test_fraction if layout.split_by == "study" else None,
                           files_considered=len(layout.files), images_loaded=len(x)),
        problems=ProblemList(skipped=sum(p.action == "skipped" for p in problems),
                             ignored=sum(p.action == "ignored" for p in problems),
                             read=sum(p.action == "read" for p in problems), files=problems),
        resize=resize_facts(arrays["sizes"], size, spec),
        channel_choice=ChannelFacts(**decoded["channels"]),
        image_sizes=size_facts(arrays["sizes"]),
    )
    folder = FolderData(facts, arrays["sizes"], {"train": records.take(train), "test": records.take(test)})
    return Dataset("folder", layout.class_names, x[train], labels[train], x[test], labels[test],
                   origin=str(root), folder=folder)


def _every_class_loaded(root: Path, layout: Layout, labels: np.ndarray, parts: np.ndarray,
                        problems: list[FileProblem]) -> None:
    """Skipped files can empty a class in a part: as much an error as a missing class folder."""
    present_parts = sorted(set(layout.parts)) if layout.split_by != "study" else [0]
    for part in present_parts:
        counts = np.bincount(labels[parts == part], minlength=len(layout.class_names))
        for label in np.flatnonzero(counts == 0):
            name = layout.class_names[label]
            folder = {"folders": f"{PARTS[part]}/{name}/", "study": f"{name}/"}.get(layout.split_by)
            skipped = sum(p.action == "skipped" and p.file.startswith(folder) for p in problems) if folder else 0
            where = PARTS[part] if layout.split_by != "study" else "the data set"
            raise UserError(f"{root}: class {name!r} has no readable images in {where}"
                            + (f" ({skipped} of its files skipped)" if skipped else "")
                            + "; every class needs images in both train and test")


def held_out(labels: np.ndarray, fraction: float, class_names: list[str], root: Path) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) indices: `fraction` of every class held out as test, at least one image on
    each side (stratified, so a small class is never missing from the test part)."""
    rng = np.random.default_rng(HELD_OUT_SEED)
    train, test = [], []
    for label, name in enumerate(class_names):
        members = np.flatnonzero(labels == label)
        if len(members) < 2:
            raise UserError(f"{root}: class {name!r} has {len(members)} image; at least 2 are needed to hold "
                            "one out for testing (or give the folder train/ and test/ parts)")
        n_test = min(len(members) - 1, max(1, int(round(len(members) * fraction))))
        order = rng.permutation(members)
        test.append(order[:n_test])
        train.append(order[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


# ---------------------------------------------------------------------------------------- facts


def _summary(values: np.ndarray) -> Summary:
    if len(values) == 0:
        return Summary(min=0, median=0, max=0)
    return Summary(min=float(values.min()), median=float(np.median(values)), max=float(values.max()))


def size_facts(sizes: np.ndarray) -> SizeFacts:
    h, w = sizes[:, 0].astype(np.float64), sizes[:, 1].astype(np.float64)
    distinct, counts = np.unique(sizes.reshape(-1, 2), axis=0, return_counts=True)
    order = np.lexsort((distinct[:, 1], distinct[:, 0], -counts))[:5]  # most common first, then smallest
    return SizeFacts(n=len(sizes), height=_summary(h), width=_summary(w),
                     aspect=_summary(np.round(w / np.maximum(h, 1), 4)), distinct=len(distinct),
                     common=[(int(distinct[i, 0]), int(distinct[i, 1]), int(counts[i])) for i in order])


def resize_facts(sizes: np.ndarray, size: tuple[int, int], spec: DataSpec) -> ResizeFacts:
    h, w = size
    changed = (sizes[:, 0] != h) | (sizes[:, 1] != w)
    aspect_changed = sizes[:, 0].astype(np.int64) * w != sizes[:, 1].astype(np.int64) * h
    return ResizeFacts(policy=spec.resize, size=size, method=RESAMPLE_NAME, pad_fill=PAD_FILL,
                       background=spec.background, changed=int(changed.sum()), aspect_changed=int(aspect_changed.sum()))
