"""Does the serving image's TensorFlow load the packed SavedModel, and answer as the local model?

The package is exported by the TensorFlow installed here (2.21 today); SageMaker's newest
tensorflow-inference image runs 2.20. TensorFlow promises only that newer versions read older
SavedModels, so this check keeps that working by measurement rather than by luck:

1. here: build (or reuse) the study's model.tar.gz, and compute the run's own Keras model's
   answers on the test images;
2. in a virtual environment with tensorflow-cpu==<image version> (created on first use, from
   PyPI: this script is not part of `make test`): load the SavedModel from the package, run both
   serving signatures (raw pixels, and the same images as PNG files), and dump that
   TensorFlow's op registry;
3. here: compare the answers (top-1 agreement, largest probability difference) and print the
   operations and attributes the exporting TensorFlow registers that the image's does not, as
   the entry for cnnreport/deploy/tf_compat.py's NEWER_THAN table (--compat).

    .venv/bin/python bench/tf_load_check.py --study fashion-mnist --profile quick [--tf 2.20]

Exit 0 when the image's TensorFlow loads the package, gives every test image the class the same
export gives here, and the graph uses nothing that TensorFlow lacks; 1 otherwise. (Against the
run's Keras model as trained the agreement is printed too: a run trained in bf16 may flip
near-ties.)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VENVS = Path(os.environ.get("CNNREPORT_BENCH_CACHE", Path.home() / ".cache" / "cnnreport-bench"))
PNG_IMAGES = 200  # test images also sent as PNG files through the image signature


# ----------------------------------------------------------------- in the image's TensorFlow


def child(saved_dir: str, inputs: str, out: str) -> None:
    """Runs inside the TensorFlow-<image> venv: only TensorFlow and NumPy are imported."""
    import numpy as np
    import tensorflow as tf
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session

    data = np.load(inputs)
    t0 = time.perf_counter()
    loaded = tf.saved_model.load(saved_dir)
    load_s = time.perf_counter() - t0
    pixels = loaded.signatures["serving_default"]
    images = loaded.signatures["serving_image"]
    probs = np.concatenate([next(iter(pixels(pixels=tf.constant(data["x"][i:i + 500])).values())).numpy()
                            for i in range(0, len(data["x"]), 500)])
    pngs = [p.read_bytes() for p in sorted(Path(inputs).parent.glob("png/*.png"))]
    png_probs = next(iter(images(image_bytes=tf.constant(pngs)).values())).numpy()
    registry = op_def_pb2.OpList()
    registry.ParseFromString(pywrap_tf_session.TF_GetBuffer(pywrap_tf_session.TF_GetAllOpList()))
    np.savez(out, probs=probs, png_probs=png_probs)
    Path(out).with_suffix(".json").write_text(json.dumps({
        "tensorflow": tf.__version__, "load_s": load_s,
        "ops": {op.name: sorted(a.name for a in op.attr) for op in registry.op}}))


# -------------------------------------------------------------------------------- here


def venv_python(version: str) -> Path:
    """A venv with tensorflow-cpu==<version>.*, created once under the bench cache."""
    venv = VENVS / f"tf-{version}"
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating {venv} with tensorflow-cpu=={version}.* (pip, from the package index)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"tensorflow-cpu=={version}.*"], check=True)
    return python


def registry_here() -> dict[str, list[str]]:
    from tensorflow.core.framework import op_def_pb2
    from tensorflow.python.client import pywrap_tf_session

    registry = op_def_pb2.OpList()
    registry.ParseFromString(pywrap_tf_session.TF_GetBuffer(pywrap_tf_session.TF_GetAllOpList()))
    return {op.name: sorted(a.name for a in op.attr) for op in registry.op}


def newer_than(here: dict[str, list[str]], there: dict[str, list[str]]) -> dict[str, object]:
    """Operations, and attributes of shared operations, registered here and not there."""
    return {"ops": sorted(set(here) - set(there)),
            "attrs": {op: sorted(set(a) - set(there[op])) for op, a in sorted(here.items())
                      if op in there and set(a) - set(there[op])}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--study", default="fashion-mnist")
    p.add_argument("--profile", default="quick")
    p.add_argument("--runs-dir", default="runs")
    p.add_argument("--data-dir")
    p.add_argument("--tf", help="TensorFlow version of the image (default: the one the package records)")
    p.add_argument("--compat", action="store_true", help="print the NEWER_THAN entry for tf_compat.py")
    p.add_argument("--child", nargs=3, metavar=("SAVED_DIR", "INPUTS", "OUT"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(*args.child)
        return 0

    import tarfile

    import keras
    import numpy as np
    import tensorflow as tf

    from cnnreport.deploy.artifact import package_for, read_model_info
    from cnnreport.deploy.endpoint_test import encode_png
    from cnnreport.deploy.export import compute_dtypes, graph_ops, serving_answers
    from cnnreport.deploy.tf_compat import load_problems
    from cnnreport.study.loading import load_study
    from cnnreport.train import store
    from cnnreport.train.workspace import Workspace

    study = load_study(args.study, args.profile)
    ws = Workspace(runs_root=Path(args.runs_dir), data_dir=Path(args.data_dir) if args.data_dir else None)
    record, tarball = package_for(study, ws, echo=print)
    info = read_model_info(tarball)
    version = args.tf or info["serving_image"]["tensorflow"]
    splits = ws.splits(study)
    run_dir = store.study_runs_dir(ws.runs_root, study.name) / record["run_id"]
    local_model = keras.saving.load_model(run_dir / "model.keras")
    x = splits.x_test.astype(np.float32)
    local = local_model.predict(x, verbose=0, batch_size=500)
    python = venv_python(version)
    with tempfile.TemporaryDirectory(prefix="tf-load-check-") as tmp:
        with tarfile.open(tarball, "r:gz") as tar:
            tar.extractall(tmp, filter="data")
        saved = Path(tmp) / info["tfs_model_name"] / "1"
        (Path(tmp) / "png").mkdir()
        for i, img in enumerate(splits.x_test[:PNG_IMAGES]):
            (Path(tmp) / "png" / f"{i:05d}.png").write_bytes(encode_png(img))
        np.savez(Path(tmp) / "in.npz", x=x)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": ""}
        t0 = time.perf_counter()
        proc = subprocess.run([str(python), __file__, "--child", str(saved), str(Path(tmp) / "in.npz"),
                               str(Path(tmp) / "out.npz")], env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"TensorFlow {version} could NOT load or run the package:\n{proc.stderr[-3000:]}")
            return 1
        out = np.load(Path(tmp) / "out.npz", allow_pickle=False)
        meta = json.loads((Path(tmp) / "out.json").read_text())
        ops_used = graph_ops(saved)
        exported = serving_answers(saved, x)  # the same graph in this TensorFlow
    probs, png_probs = out["probs"], out["png_probs"]
    same = float((probs.argmax(1) == exported.argmax(1)).mean())
    png_same = float((png_probs.argmax(1) == exported[:PNG_IMAGES].argmax(1)).mean())
    trained_same = float((probs.argmax(1) == local.argmax(1)).mean())
    table = newer_than(registry_here(), meta["ops"])
    used_new = [op for op in ops_used if op in table["ops"]]
    used_new_attrs = {op: sorted(set(a) & set(table["attrs"].get(op, []))) for op, a in ops_used.items()
                      if set(a) & set(table["attrs"].get(op, []))}
    print(f"package {tarball}: run {record['run_id']} ({record['model']['name']}), trained in "
          f"{', '.join(compute_dtypes(local_model))}, exported with TensorFlow {tf.__version__} as float32")
    print(f"TensorFlow {meta['tensorflow']} (the image's) loaded it in {meta['load_s']:.2f} s "
          f"(whole check {wall:.0f} s); {len(ops_used)} operations in the graph")
    print(f"serving_default on {len(x):,} test images: top-1 agreement with the same export run by "
          f"TensorFlow {tf.__version__} {same:.2%}, largest probability difference "
          f"{np.abs(probs - exported).max():.2e}; with the run's Keras model as trained "
          f"({', '.join(compute_dtypes(local_model))}) {trained_same:.2%}, largest difference "
          f"{np.abs(probs - local).max():.2e}")
    print(f"serving_image on {len(png_probs)} of them as PNG files: top-1 agreement with serving_default "
          f"here {png_same:.2%}; largest probability difference "
          f"{np.abs(png_probs - exported[:PNG_IMAGES]).max():.2e}")
    print(f"TensorFlow {tf.__version__} registers {len(table['ops'])} operations TensorFlow {meta['tensorflow']} "
          f"lacks and new attributes on {len(table['attrs'])} shared ones; the graph uses "
          f"{used_new or 'none'} of those operations and {used_new_attrs or 'none'} of those attributes")
    here_check = load_problems(ops_used, tf.__version__, version)
    print(f"packaging's own check (tf_compat.load_problems): {here_check!r}")
    if args.compat:
        key = (".".join(tf.__version__.split(".")[:2]), ".".join(meta["tensorflow"].split(".")[:2]))
        print(f"NEWER_THAN[{key!r}] = {json.dumps(table)}")
    return 0 if same == 1.0 and png_same == 1.0 and not used_new and not used_new_attrs else 1


if __name__ == "__main__":
    sys.exit(main())
