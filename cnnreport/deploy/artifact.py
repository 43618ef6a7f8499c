"""The deployable artifact: which run is served, and model.tar.gz packed exactly as SageMaker's
TensorFlow Serving container expects:

    <name>/1/saved_model.pb, <name>/1/variables/...   the float32 SavedModel (export.py)
    code/inference.py                                 the container's pre/post-processing
    code/model_info.json                              class names, input shape, run id, the
                                                      exporting TensorFlow, the serving image's,
                                                      agreement with the run, input hashes

No code/requirements.txt: inference.py needs only the standard library, so the container
installs nothing at start and serves without internet. `deploy` uploads this file; `serve` and
`endpoint-test --local` load its SavedModel and model_info.json, with the project's own
inference.py.

The package is a cache of its inputs: rebuilt whenever model.keras, inference.py, the
exporting TensorFlow, the code that exports it or the package format differ from the hashes and
versions its model_info.json records, so a stale package is never served or uploaded (and a
planted code/inference.py is never run: `serve` runs the project's own).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import tarfile
import tempfile
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import numpy as np

from cnnreport import resources
from cnnreport.backend import import_keras
from cnnreport.deploy import export, tf_compat
from cnnreport.errors import UserError
from cnnreport.files import atomic_path
from cnnreport.train import store
from cnnreport.train.plan import _slug, plan_runs

INFERENCE_SCRIPT = Path(str(resources.sagemaker_script("inference.py")))
ENDPOINT_DIR = "endpoint"  # runs/<study>/endpoint/: packages, transcripts, deployment records
PACKAGE = "model.tar.gz"
PACKAGE_FORMAT = 2  # bump when the package's layout or export changes meaning
MIN_AGREEMENT = 0.995  # the export's top-1 vs the run's saved test predictions

Echo = Callable[[str], None]


# ------------------------------------------------------------------------------ which model


def endpoint_dir(runs_root: Path, study_name: str) -> Path:
    return store.study_runs_dir(runs_root, study_name) / ENDPOINT_DIR


def choose_run(records: list[dict[str, Any]], model: str | None = None,
               seed: int | None = None) -> dict[str, Any]:
    """The run to deploy: the reference CNN (or `model`), at `seed` or its best seed.

    "Best" is the highest validation accuracy at the last epoch, never test accuracy: picking
    on the test set would make the deployed model's reported test score optimistic, and the
    saved model.keras holds the last epoch's weights, so the last epoch's score is the one that
    describes it. Ties go to the lower seed.
    """
    runs = [r for r in records if r.get("probe", "none") == "none" and not r["diverged"]]
    if model is None:
        runs = [r for r in runs if r["model"]["role"] == "reference"]
        what = "the reference CNN"
    else:
        names = sorted({r["model"]["name"] for r in runs})
        runs = [r for r in runs if r["model"]["name"] == model]
        what = f"model {model!r}"
        if not runs:
            raise UserError(f"--model {model!r}: no finished runs; expected one of {names}")
    if seed is not None:
        seeds = sorted(r["seed"] for r in runs)
        runs = [r for r in runs if r["seed"] == seed]
        if not runs:
            raise UserError(f"--seed {seed}: {what} has no finished run with that seed (seeds: {seeds})")
    if not runs:
        raise UserError(f"no finished run of {what}; run `cnnreport build` (or `train`) first")
    return max(runs, key=lambda r: (_final_val(r), -r["seed"]))


def _final_val(record: dict[str, Any]) -> float:
    vals = record["history"].get("val_accuracy") or [float("-inf")]
    return float(vals[-1])


def selection_note(record: dict[str, Any], seed_given: bool) -> str:
    if seed_given:
        return f"seed {record['seed']} as asked"
    return (f"seed {record['seed']}: highest final validation accuracy "
            f"({_final_val(record):.4f}); chosen on validation, not test, data")


def study_records(study: Any, ws: Any) -> list[dict[str, Any]]:
    """The stored runs of the study's plan on the data loaded now (its fingerprint is part of
    each run id). A damaged run is a UserError naming it and the fix, never silently skipped
    (which would serve another seed than the one asked for)."""
    study_dir = store.study_runs_dir(ws.runs_root, study.name)
    splits = ws.splits(study)
    present = [r.run_id for r in plan_runs(study, splits.fingerprint) if (study_dir / r.run_id).exists()]
    others = {fp: where for fp, where in store.trained_on(study_dir).items() if fp != splits.fingerprint}
    if not present and others:
        raise UserError(store.other_data_line(study_dir, others, splits.fingerprint, splits.origin))
    return store.load_runs(study_dir, present)


# ------------------------------------------------------------------------------ the package


def tfs_name(record: dict[str, Any]) -> str:
    """The model's folder name inside model.tar.gz (and TensorFlow Serving's model name)."""
    return _slug(record["model"]["name"]) or "model"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def package_inputs(run_dir: Path) -> dict[str, Any]:
    """What the package is made from; a package whose model_info records other inputs is stale.
    The code that exports and checks it counts too (this module, export.py, tf_compat.py)."""
    import tensorflow as tf


    code = hashlib.sha256(b"".join(bytes.fromhex(file_sha256(Path(f)))
                                   for f in (__file__, export.__file__, tf_compat.__file__))).hexdigest()
    return {"format": PACKAGE_FORMAT, "model.keras": file_sha256(run_dir / "model.keras"),
            "inference.py": file_sha256(INFERENCE_SCRIPT), "tensorflow": tf.__version__, "export_code": code}


def read_model_info(tarball: Path) -> dict[str, Any] | None:
    """code/model_info.json of a package (read as data, never executed), or None if unreadable."""
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            member = tar.extractfile("code/model_info.json")
            return json.loads(member.read().decode("utf-8")) if member else None
    except (OSError, tarfile.TarError, KeyError, ValueError):
        return None


def _stale_reason(tarball: Path, inputs: dict[str, Any]) -> str | None:
    """Why an existing package cannot be reused, or None when it can."""
    info = read_model_info(tarball)
    recorded = (info or {}).get("inputs")
    if not isinstance(recorded, dict):
        return "it records no input hashes (an older or foreign package)"
    changed = [k for k in inputs if recorded.get(k) != inputs[k]]
    return f"{', '.join(changed)} changed" if changed else None


def package(record: dict[str, Any], run_dir: Path, splits: Any, out_dir: Path,
            echo: Echo | None = None) -> Path:
    """model.tar.gz for one run under runs/<study>/endpoint/<run-id>/, built when missing or stale."""
    final = out_dir / record["run_id"] / PACKAGE
    inputs = package_inputs(run_dir)
    if final.is_file():
        reason = _stale_reason(final, inputs)
        if reason is None:
            return final
        if echo:
            echo(f"rebuilding {final}: {reason}")
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cnnreport-pkg-") as tmp:
        root = Path(tmp)
        name = tfs_name(record)
        info = _export(record, run_dir, splits, root / name / "1")
        code = root / "code"
        code.mkdir()
        shutil.copyfile(INFERENCE_SCRIPT, code / "inference.py")
        (code / "model_info.json").write_text(json.dumps({**info, "inputs": inputs}, indent=2))
        with atomic_path(final) as part, tarfile.open(part, "w:gz") as tar:
            for top in (name, "code"):  # members at the archive root, as the container expects
                tar.add(root / top, arcname=top)
    return final


def _export(record: dict[str, Any], run_dir: Path, splits: Any, dest: Path) -> dict[str, Any]:
    """Export the run's model as float32, check it, and describe it for model_info.json."""
    keras = import_keras()
    import tensorflow as tf


    trained = keras.saving.load_model(run_dir / "model.keras")  # safe_mode: no Lambda code runs
    export.export_savedmodel(export.float32_copy(trained), dest)
    left = export.bf16_nodes(dest)
    if left:
        raise RuntimeError(f"float32 export still computes in bfloat16: {left[:3]}")
    serving, why = tf_compat.serving_version(tf.__version__)
    problems = tf_compat.load_problems(export.graph_ops(dest), tf.__version__, serving)
    if problems:
        raise UserError(f"run {record['run_id']}: the export uses {'; '.join(problems)}, which the "
                        f"TensorFlow {serving} serving image cannot load")
    saved = np.load(run_dir / "test_predictions.npy")
    agree = export.agreement(dest, splits.x_test, saved)
    differ = agree["images"] - agree["same_top1"]
    if agree["fraction"] < MIN_AGREEMENT and agree["near_ties"] < differ:
        raise UserError(f"run {record['run_id']}: the served float32 graph agrees with the run's own test "
                        f"predictions on {agree['fraction']:.2%} of {agree['images']:,} images (at least "
                        f"{MIN_AGREEMENT:.1%} expected; {differ - agree['near_ties']} disagreements are not "
                        "near-ties); not packaged")
    shape = record["architecture"]["layers"][0]["output_shape"]  # the Rescaling layer: H, W, C
    return {
        "model": record["model"]["name"], "run_id": record["run_id"], "seed": record["seed"],
        "study": record["study"], "tfs_model_name": tfs_name(record),
        "input_shape": [int(d) for d in shape], "class_names": list(splits.class_names),
        "signatures": {export.SIGNATURE: "pixels (N, H, W, C) float32 0-255",
                       export.IMAGE_SIGNATURE: "image_bytes (N,) PNG or JPEG files"},
        "precision": {"trained": export.compute_dtypes(trained), "served": "float32"},
        "exported_with": {"tensorflow": tf.__version__, "keras": keras.__version__},
        "serving_image": {"tensorflow": serving, "why": why,
                          "load_check": tf_compat.check_note(problems, tf.__version__, serving)},
        "agreement_with_run": {**agree, "minimum": MIN_AGREEMENT},
    }


def package_for(study: Any, ws: Any, model: str | None = None, seed: int | None = None,
                echo: Echo | None = None) -> tuple[dict[str, Any], Path]:
    """The chosen run of a study and its (fresh) model.tar.gz."""
    records = study_records(study, ws)
    record = choose_run(records, model, seed)
    run_dir = store.study_runs_dir(ws.runs_root, study.name) / record["run_id"]
    return record, package(record, run_dir, ws.splits(study), endpoint_dir(ws.runs_root, study.name), echo)


def load_handlers(info: dict[str, Any]) -> ModuleType:
    """The project's own inference.py as a fresh module, told the package's model_info.

    Never a package's code/inference.py: a file planted under runs/ would otherwise run here.
    Loaded by path, never as `sagemaker.inference`: the SDK's `sagemaker` namespace package
    would otherwise mix with this repository's `sagemaker/` folder.
    """
    spec = importlib.util.spec_from_file_location(f"cnnreport_inference_{uuid.uuid4().hex[:8]}",
                                                  INFERENCE_SCRIPT)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    module._INFO = dict(info)
    return module
