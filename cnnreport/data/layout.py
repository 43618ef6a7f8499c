"""Where a folder data set's images and labels are: one sub-folder per class (under `train/` and
`test/`, or one folder that the study splits), or a CSV of file names and labels, as many Kaggle
sets ship.

System and tool files and folders (dot-names, `__MACOSX`, `.ipynb_checkpoints`, `Thumbs.db`, …)
are never classes or images; they are listed as ignored, so nothing is dropped without a word.
A class present in one split but not the other is an error naming it. Class names are compared
in Unicode NFC form (macOS writes decomposed names: "é" as "e" + accent).
"""

from __future__ import annotations

import csv
import os
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from cnnreport.data.facts import FileProblem
from cnnreport.data.images import IMAGE_EXTENSIONS
from cnnreport.errors import UserError

PARTS = ("train", "test")
JUNK_NAMES = frozenset({"__MACOSX", "Thumbs.db", "ehthumbs.db", "desktop.ini", "__pycache__",
                        "$RECYCLE.BIN", "System Volume Information", "lost+found", "Icon\r"})
# Column names a CSV of labels uses for its file and label columns (compared lower-case).
FILE_COLUMNS = ("file", "filename", "file_name", "filepath", "file_path", "path", "image", "image_id",
                "image_name", "img", "id", "name")
LABEL_COLUMNS = ("label", "labels", "class", "class_name", "category", "target", "y")
SPLIT_COLUMN = "split"
CLASS_NAME_MAX = 80


def is_junk(name: str) -> bool:
    """Hidden (dot-names, AppleDouble `._x`), or a system / tool file or folder."""
    return name.startswith(".") or name in JUNK_NAMES


def nfc(name: str) -> str:
    return unicodedata.normalize("NFC", name)


@dataclass
class Layout:
    """The labelled image files found, in a fixed order (part, class, path), with their stats."""

    root: Path
    labels_from: str  # "class folders" | "csv"
    split_by: str  # "folders" | "csv" | "study"
    class_names: list[str]
    files: list[str] = field(default_factory=list)  # relative to root, "/"-separated
    labels: list[int] = field(default_factory=list)
    parts: list[int] = field(default_factory=list)  # index into PARTS
    stats: list[tuple[int, int]] = field(default_factory=list)  # (bytes, mtime in ns)
    problems: list[FileProblem] = field(default_factory=list)
    csv: str | None = None
    csv_columns: tuple[str, str] | None = None
    csv_stat: tuple[int, int] | None = None

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return np.asarray(self.labels, dtype=np.int64), np.asarray(self.parts, dtype=np.int8)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _ignored(problems: list[FileProblem], path: Path, root: Path, kind: str, detail: str) -> None:
    name = _rel(path, root) + ("/" if path.is_dir() else "")
    problems.append(FileProblem(file=name, kind=kind, action="ignored", detail=detail))  # type: ignore[arg-type]


def _count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def _junk(problems: list[FileProblem], path: Path, root: Path) -> None:
    if path.is_dir():
        n = _count_files(path)
        _ignored(problems, path, root, "tool_folder",
                 f"system or tool folder, not a class ({n} file{'' if n == 1 else 's'} inside)")
    else:
        _ignored(problems, path, root, "system_file", "system or tool file, not an image")


def _check_class_name(name: str, where: Path) -> None:
    # Class names label figures, where matplotlib reads $…$ as math.
    if "$" in name or "\\" in name or len(name) > CLASS_NAME_MAX or not name.strip():
        raise UserError(f"{where}: a class name may not contain '$' or '\\', must not be blank and has at "
                        f"most {CLASS_NAME_MAX} characters (it labels the report's figures)")


# ------------------------------------------------------------------------------- class folders


def scan_class_folders(root: Path) -> Layout:
    """`root/train/<class>/…` and `root/test/<class>/…`, or `root/<class>/…` (split by the study)."""
    problems: list[FileProblem] = []
    has_train = (root / "train").is_dir()
    if not has_train and (root / "test").is_dir():
        raise UserError(f"{root}: has test/ but no train/; expected train/<class>/ and test/<class>/, "
                        "or one sub-folder per class")
    part_roots = [root / p for p in PARTS if (root / p).is_dir()] if has_train else [root]
    if has_train:
        for entry in sorted(root.iterdir()):
            if entry.name in PARTS:
                continue
            if is_junk(entry.name):
                _junk(problems, entry, root)
            elif entry.is_dir():
                _ignored(problems, entry, root, "unused_folder",
                         f"not used: a folder beside train/ and test/ ({_count_files(entry)} files inside; "
                         "the study carves validation out of train/)")
            else:
                _ignored(problems, entry, root, "outside_classes", "beside train/ and test/, not in a class folder")
    classes_per_part: list[dict[str, Path]] = []
    for part_root in part_roots:
        found: dict[str, Path] = {}
        for entry in sorted(part_root.iterdir()):
            if is_junk(entry.name):
                _junk(problems, entry, root)
            elif entry.is_dir():
                name = nfc(entry.name)
                _check_class_name(name, entry)
                if name in found:
                    raise UserError(f"{entry}: the same class name as {found[name].name!r} once written in one "
                                    "Unicode form; rename one of them")
                found[name] = entry
            else:
                _ignored(problems, entry, root, "outside_classes", "not in a class folder")
        classes_per_part.append(found)
    class_names = sorted(classes_per_part[0])
    if len(class_names) < 2:
        raise UserError(f"{part_roots[0]}: expected one sub-folder per class (found {len(class_names)}"
                        f"{': ' + class_names[0] if class_names else ''})")
    if len(classes_per_part) == 2:
        _same_classes({p: set(c) for p, c in zip(PARTS, classes_per_part)}, root)
    layout = Layout(root, "class folders", "folders" if len(part_roots) == 2 else "study", class_names,
                    problems=problems)
    for part, found in enumerate(classes_per_part):
        for label, name in enumerate(class_names):
            _walk_class(layout, found[name], label, part)
    return layout


def _same_classes(by_part: dict[str, set[str]], root: Path) -> None:
    """Every class in every part: a class the test part lacks has no test images (its accuracy is
    unmeasured), one the training part lacks cannot be learned."""
    every = set().union(*by_part.values())
    for part, names in by_part.items():
        missing = sorted(every - names)
        if missing:
            where = f"{root / part}/" if (root / part).is_dir() else f"the {part} part"
            others = [p for p in by_part if p != part]
            named = ", ".join(repr(m) for m in missing)
            raise UserError(f"{where}: class{'es' if len(missing) > 1 else ''} {named} "
                            f"{'are' if len(missing) > 1 else 'is'} in {' and '.join(others)} but not in {part}; "
                            "every class needs images in both train and test")


def _files(folder: Path, root: Path, problems: list[FileProblem]) -> Iterator[Path]:
    """Every file under `folder`, sub-folders too (as ImageFolder walks them), sorted; junk files
    and folders are listed as ignored and left out."""
    for here, dirs, files in os.walk(folder):
        here_path = Path(here)
        for d in sorted(dirs):
            if is_junk(d):
                _junk(problems, here_path / d, root)
        dirs[:] = sorted(d for d in dirs if not is_junk(d))  # os.walk descends into what is left
        for name in sorted(files):
            if is_junk(name):
                _junk(problems, here_path / name, root)
            else:
                yield here_path / name


def _walk_class(layout: Layout, folder: Path, label: int, part: int) -> None:
    for path in _files(folder, layout.root, layout.problems):
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            _add(layout, path, label, part)
        else:
            layout.problems.append(FileProblem(
                file=_rel(path, layout.root), kind="not_image_extension", action="skipped",
                detail=f"not an image file ({path.suffix or 'no extension'})"))


def _add(layout: Layout, path: Path, label: int, part: int) -> None:
    try:
        st = path.stat()
        stat = (int(st.st_size), int(st.st_mtime_ns))
    except OSError:
        stat = (-1, 0)  # decoding names the problem
    layout.files.append(_rel(path, layout.root))
    layout.labels.append(label)
    layout.parts.append(part)
    layout.stats.append(stat)


# ------------------------------------------------------------------------------------------ CSV


def scan_csv(root: Path, csv_name: str, columns: tuple[str, str] | None) -> Layout:
    """A CSV of file names and labels. A file is named by its path relative to the data folder,
    or by its file name or its stem (an id without extension) when that is unique in the folder.
    An optional `split` column says train or test; without one the study holds out test images."""
    csv_path = (root / csv_name) if not Path(csv_name).is_absolute() else Path(csv_name)
    rows, header = _read_csv(csv_path)
    file_col, label_col = _columns(csv_path, header, columns)
    split_col = next((h for h in header if h.strip().lower() == SPLIT_COLUMN), None)
    has_split = split_col is not None
    problems: list[FileProblem] = []
    index = FileIndex(root, csv_path, problems)
    chosen: dict[str, tuple[str, str, int]] = {}  # rel -> (label, part, row)
    for number, row in rows:
        name, label = (row.get(file_col) or "").strip(), nfc((row.get(label_col) or "").strip())
        where = f"{_rel(csv_path, root) if csv_path.is_relative_to(root) else csv_path} row {number}"
        if not name or not label:
            problems.append(FileProblem(file=where, kind="csv_row", action="skipped",
                                        detail=f"no {'file name' if not name else 'label'}"))
            continue
        part = "train"
        if has_split:
            part = (row.get(split_col) or "").strip().lower()  # type: ignore[arg-type]
            if part not in PARTS:
                raise UserError(f"{where}: split {part!r}; expected 'train' or 'test' in column {split_col!r}")
        rel, several = index.find(name)
        if rel is None:
            why = f"names several files ({', '.join(several[:3])})" if several else "no such image file in the data folder"
            problems.append(FileProblem(file=where, kind="csv_row", action="skipped", detail=f"{name!r}: {why}"))
            continue
        if rel in chosen:
            problems.append(FileProblem(file=where, kind="csv_row", action="skipped",
                                        detail=f"{name!r} is already labelled on row {chosen[rel][2]}"))
            continue
        _check_class_name(label, csv_path)
        chosen[rel] = (label, part, number)
    class_names = sorted({label for label, _, _ in chosen.values()})
    if len(class_names) < 2:
        raise UserError(f"{csv_path}: expected at least two labels in column {label_col!r} "
                        f"(found {len(class_names)})")
    if has_split:
        _same_classes({p: {lab for lab, part, _ in chosen.values() if part == p} for p in PARTS}, root)
    unlisted = Counter(rel.split("/")[0] if "/" in rel else "." for rel in index.paths if rel not in chosen)
    for top, n in sorted(unlisted.items()):
        problems.append(FileProblem(file="./" if top == "." else f"{top}/", kind="not_in_csv", action="ignored",
                                    detail=f"{n} image file{'s' if n != 1 else ''} not named in {csv_path.name}"))
    st = csv_path.stat()
    layout = Layout(root, "csv", "csv" if has_split else "study", class_names, problems=problems,
                    csv=_rel(csv_path, root) if csv_path.is_relative_to(root) else str(csv_path),
                    csv_columns=(file_col, label_col), csv_stat=(int(st.st_size), int(st.st_mtime_ns)))
    label_of = {name: k for k, name in enumerate(class_names)}
    for rel in sorted(chosen, key=lambda r: (PARTS.index(chosen[r][1]), label_of[chosen[r][0]], r)):
        label, part, _ = chosen[rel]
        _add(layout, root / rel, label_of[label], PARTS.index(part))
    return layout


def _read_csv(path: Path) -> tuple[list[tuple[int, dict[str, str]]], list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel writes a byte-order mark
    except FileNotFoundError:
        raise UserError(f"{path}: no such CSV file (data.csv)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the CSV ({' '.join(str(exc).split())})") from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel  # one column or an unusual file: comma, and the header check says more
    try:
        reader = csv.DictReader(text.splitlines(), dialect=dialect)
        header = [h for h in (reader.fieldnames or []) if h is not None]
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise UserError(f"{path}: not a readable CSV ({exc})") from None
    if not header:
        raise UserError(f"{path}: empty CSV; expected a header row naming a file and a label column")
    return rows, header


def _columns(path: Path, header: list[str], columns: tuple[str, str] | None) -> tuple[str, str]:
    if columns is not None:
        for c in columns:
            if c not in header:
                raise UserError(f"{path}: no column {c!r} (data.csv_columns); the header has {header}")
        return columns
    lower = {h.strip().lower(): h for h in header}
    others = [h for h in header if h.strip().lower() != SPLIT_COLUMN]
    file_col = next((lower[c] for c in FILE_COLUMNS if c in lower), None)
    label_col = next((lower[c] for c in LABEL_COLUMNS if c in lower), None)
    if (file_col is None or label_col is None) and len(others) == 2:
        file_col, label_col = others  # two columns: file, then label
    if file_col is None or label_col is None or file_col == label_col:
        raise UserError(f"{path}: cannot tell the file and label columns apart in {header}; name them with "
                        "data.csv_columns = [FILE_COLUMN, LABEL_COLUMN]")
    return file_col, label_col


class FileIndex:
    """Every image file under the data folder (junk left out and listed), found by what a CSV
    cell names: a relative path, else a unique file name, else a unique stem (an id)."""

    def __init__(self, root: Path, csv_path: Path, problems: list[FileProblem]):
        self.paths: list[str] = []
        for path in _files(root, root, problems):
            if path.suffix.lower() in IMAGE_EXTENSIONS:
                self.paths.append(_rel(path, root))
            elif path != csv_path:
                _ignored(problems, path, root, "outside_classes", "not an image file and not named in the CSV")
        self._exact = set(self.paths)
        self._by_name: dict[str, list[str]] = {}
        self._by_stem: dict[str, list[str]] = {}
        for rel in self.paths:
            base = rel.rsplit("/", 1)[-1]
            self._by_name.setdefault(base, []).append(rel)
            self._by_stem.setdefault(base.rsplit(".", 1)[0], []).append(rel)

    def find(self, name: str) -> tuple[str | None, list[str]]:
        """(the relative path `name` denotes, or None; the candidates when several match)."""
        name = name.replace("\\", "/").removeprefix("./")
        if name in self._exact:
            return name, []
        base = name.rsplit("/", 1)[-1]
        for table in (self._by_name, self._by_stem):
            hits = table.get(base, [])
            if len(hits) == 1:
                return hits[0], []
            if hits:
                return None, hits
        return None, []
