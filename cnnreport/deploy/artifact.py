"""The deployable artifact: which run is served, its SavedModel export, and model.tar.gz packed
exactly as SageMaker's TensorFlow Serving container expects:

    <name>/1/saved_model.pb, <name>/1/variables/...   the model
    code/inference.py, code/requirements.txt          the container's pre/post-processing
    code/model_info.json                              class names, input shape, run id

`deploy` uploads that file; `serve` and `endpoint-test --local` unpack the same file.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import tarfile
import tempfile
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

from cnnreport import resources
from cnnreport.errors import UserError
from cnnreport.files import atomic_path
from cnnreport.train import store

INFERENCE_SCRIPT = Path(str(resources.sagemaker_script("inference.py")))
# Installed by the container from code/requirements.txt before it loads inference.py.
CONTAINER_REQUIREMENTS = "numpy\npillow\n"
ENDPOINT_DIR = "endpoint"  # runs/<study>/endpoint/: packages, transcripts, deployment records


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


def study_records(study: Any, runs_root: Path) -> list[dict[str, Any]]:
    from cnnreport.train.plan import plan_runs

    study_dir = store.study_runs_dir(runs_root, study.name)
    wanted = {r.run_id for r in plan_runs(study)}
    return [r for r in store.load_runs(study_dir) if r["run_id"] in wanted]


# ------------------------------------------------------------------------ export and package


def tfs_name(record: dict[str, Any]) -> str:
    """The model's folder name inside model.tar.gz (and TensorFlow Serving's model name)."""
    from cnnreport.train.plan import _slug

    return _slug(record["model"]["name"]) or "model"


def export_savedmodel(model: Any, dest: Path) -> Path:
    """The Keras model as a SavedModel with a `serving_default` signature (needs TensorFlow)."""
    try:
        import tensorflow  # noqa: F401  (the SavedModel format is TensorFlow's)
    except ImportError:
        raise UserError("exporting a SavedModel needs TensorFlow: pip install tensorflow-cpu "
                        "(the JAX backend trains, but TensorFlow Serving loads only SavedModels)") from None
    model.export(str(dest), format="tf_saved_model", verbose=False)
    if not (dest / "saved_model.pb").is_file():
        raise RuntimeError(f"{dest}: export wrote no saved_model.pb")
    return dest


def model_info(record: dict[str, Any], class_names: list[str]) -> dict[str, Any]:
    shape = record["architecture"]["layers"][0]["output_shape"]  # the Rescaling layer: H, W, C
    return {"model": record["model"]["name"], "run_id": record["run_id"], "seed": record["seed"],
            "study": record["study"], "tfs_model_name": tfs_name(record),
            "input_shape": [int(d) for d in shape], "class_names": list(class_names)}


def package(record: dict[str, Any], run_dir: Path, class_names: list[str], out_dir: Path) -> Path:
    """model.tar.gz for one run, built once and kept under runs/<study>/endpoint/<run-id>/."""
    import keras

    final = out_dir / record["run_id"] / "model.tar.gz"
    if final.is_file():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cnnreport-pkg-") as tmp:
        root = Path(tmp)
        name = tfs_name(record)
        model = keras.saving.load_model(run_dir / "model.keras")
        export_savedmodel(model, root / name / "1")
        code = root / "code"
        code.mkdir()
        shutil.copyfile(INFERENCE_SCRIPT, code / "inference.py")
        (code / "requirements.txt").write_text(CONTAINER_REQUIREMENTS)
        (code / "model_info.json").write_text(json.dumps(model_info(record, class_names), indent=2))
        with atomic_path(final) as part, tarfile.open(part, "w:gz") as tar:
            for top in (name, "code"):  # members at the archive root, as the container expects
                tar.add(root / top, arcname=top)
    return final


def package_for(study: Any, ws: Any, model: str | None = None, seed: int | None = None
                ) -> tuple[dict[str, Any], Path]:
    """The chosen run of a study and its model.tar.gz."""
    records = study_records(study, ws.runs_root)
    record = choose_run(records, model, seed)
    run_dir = store.study_runs_dir(ws.runs_root, study.name) / record["run_id"]
    class_names = ws.splits(study).class_names
    return record, package(record, run_dir, class_names, endpoint_dir(ws.runs_root, study.name))


def load_handlers(code_dir: Path) -> ModuleType:
    """inference.py from a package's code/ (or the repository's), as a fresh module.

    Loaded by path, never as `sagemaker.inference`: the SDK's `sagemaker` namespace package
    would otherwise mix with this repository's `sagemaker/` folder.
    """
    code_dir = Path(code_dir)
    script = code_dir / "inference.py" if (code_dir / "inference.py").is_file() else INFERENCE_SCRIPT
    spec = importlib.util.spec_from_file_location(f"cnnreport_inference_{uuid.uuid4().hex[:8]}", script)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    info = code_dir / "model_info.json"
    if info.is_file():
        module._INFO = json.loads(info.read_text(encoding="utf-8"))
    return module
