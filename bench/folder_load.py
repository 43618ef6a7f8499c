"""Loading an image folder: the first load (every file decoded) against a second command's load
from the decoded-once cache (cnnreport/data/folder_cache.py), each in a process of its own, with
its peak memory.

    python bench/folder_load.py [--folder /tmp/bench-folder] [--images 10000] [--size 64]

Writes the folder first when it is not there (10 classes, 80 % under train/, 20 % under test/,
RGB PNGs of smooth shapes and some noise, as photos compress), then runs the two loads, each as
`python bench/folder_load.py --load …` in a new process, and prints one row per load: wall time of
`load_dataset` alone (imports excluded), peak resident memory of the process and how much the
load added to it, and the size of the decoded uint8 arrays for comparison.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

CLASSES = 10


def write_folder(root: Path, n: int, size: int) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        label, part = i % CLASSES, "test" if (i // CLASSES) % 5 == 4 else "train"
        folder = root / part / f"class{label}"
        folder.mkdir(parents=True, exist_ok=True)
        cx, cy, r = rng.uniform(0.2, 0.8, 2).tolist() + [rng.uniform(0.1, 0.4)]
        blob = ((xx - cx) ** 2 + (yy - cy) ** 2 < r ** 2)[..., None]
        base = rng.uniform(0, 255, 3) * (1 - blob) + (25 * label) * blob
        image = np.clip(base + 40 * yy[..., None] + rng.normal(0, 6, (size, size, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(folder / f"{i:05d}.png")


def load_once(folder: Path, cache: Path, size: int) -> dict[str, float]:
    """One load in this process: seconds, peak RSS and RSS before, in MiB."""
    from cnnreport.data.sources import load_dataset
    from cnnreport.study.specs import DataSpec

    spec = DataSpec(source="folder", path=str(folder), image_size=(size, size))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    t0 = time.perf_counter()
    ds = load_dataset(spec, cache_dir=cache)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    arrays = (ds.x_train.nbytes + ds.x_test.nbytes) / 2**20
    return {"seconds": seconds, "peak_mib": peak, "before_mib": before, "arrays_mib": arrays,
            "images": len(ds.y_train) + len(ds.y_test)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", default="/tmp/cnnreport-bench-folder")
    ap.add_argument("--images", type=int, default=10_000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--load", action="store_true", help="(internal) one load in this process, as JSON")
    args = ap.parse_args()
    folder = Path(args.folder)
    cache = folder.parent / (folder.name + "-cache")
    if args.load:
        print(json.dumps(load_once(folder / "data", cache, args.size)))
        return
    if not (folder / "data").is_dir():
        t0 = time.perf_counter()
        write_folder(folder / "data", args.images, args.size)
        print(f"wrote {args.images:,} {args.size}×{args.size} PNGs in {time.perf_counter() - t0:.0f} s")
    shutil.rmtree(cache, ignore_errors=True)
    rows = {}
    for name in ("first load (decode)", "second command (cache)"):
        out = subprocess.run([sys.executable, __file__, "--load", "--folder", str(folder), "--size", str(args.size)],
                             capture_output=True, text=True, check=True).stdout
        rows[name] = json.loads(out.strip().splitlines()[-1])
    print(f"{'load':<24} {'images':>7} {'seconds':>8} {'peak RSS MiB':>13} {'added MiB':>10} {'arrays MiB':>11}")
    for name, r in rows.items():
        print(f"{name:<24} {r['images']:>7,} {r['seconds']:>8.2f} {r['peak_mib']:>13.0f} "
              f"{r['peak_mib'] - r['before_mib']:>10.0f} {r['arrays_mib']:>11.0f}")
    first, second = rows.values()
    print(f"cache: {first['seconds'] / second['seconds']:.1f}× faster; "
          f"entry {sum(p.stat().st_size for p in cache.glob('*')) / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
