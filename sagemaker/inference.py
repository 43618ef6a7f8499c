"""Pre- and post-processing handlers for SageMaker's TensorFlow Serving container.

The container calls `input_handler(data, context)` before TensorFlow Serving and
`output_handler(response, context)` after it; the local endpoint (`cnnreport serve`) calls the
very same two functions, loaded from the same `code/` folder of the same model.tar.gz.

Requests:
  application/json   {"instances": [image, ...]}, each image H×W×C (or H×W when C = 1) of raw
                     pixel values 0–255 (the model scales them itself)
  image/png, image/jpeg  one image file, decoded and resized to the model's input size
Response (application/json), per instance: class index, class name, probability and top 3.

Bad input raises `BadRequest` with one line saying why and the HTTP status it deserves
(400 malformed, 413 too many instances, 415 unknown content type).

This file runs inside the container, where cnnreport is not installed: standard library,
numpy and Pillow only (code/requirements.txt).
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

INFO_FILE = "model_info.json"  # written next to this file by `cnnreport deploy` / `serve`
MAX_INSTANCES = 64  # per request; more is a 413 (the runtime API's payload limit is 6 MB anyway)
TOP_K = 3
JSON_TYPES = ("application/json",)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/jpg")


class BadRequest(ValueError):
    """A request the endpoint refuses; `status` is the HTTP status it answers with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


_INFO: dict[str, Any] | None = None


def model_info() -> dict[str, Any]:
    """class_names and input_shape [H, W, C] of the packaged model, from the file beside this one."""
    global _INFO
    if _INFO is None:
        _INFO = json.loads(Path(__file__).with_name(INFO_FILE).read_text(encoding="utf-8"))
    return _INFO


def _media_type(content_type: str | None) -> str:
    """'application/json; charset=utf-8' → 'application/json'."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def _read(data: Any) -> bytes:
    if hasattr(data, "read"):
        data = data.read()
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data or b"")


# ---------------------------------------------------------------------------------- parsing


def parse_json_instances(body: bytes, input_shape: list[int]) -> np.ndarray:
    """{"instances": [...]} → float32 array (N, H, W, C) of pixel values; BadRequest otherwise."""
    h, w, c = input_shape
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise BadRequest(f"body is not JSON ({type(exc).__name__}: {str(exc)[:80]})") from None
    if not isinstance(doc, dict) or "instances" not in doc:
        raise BadRequest('expected a JSON object {"instances": [image, ...]}')
    instances = doc["instances"]
    if not isinstance(instances, list) or not instances:
        raise BadRequest('"instances" must be a non-empty list of images')
    if len(instances) > MAX_INSTANCES:
        raise BadRequest(f"{len(instances)} instances in one request; at most {MAX_INSTANCES}", 413)
    out = np.empty((len(instances), h, w, c), dtype=np.float32)
    for i, inst in enumerate(instances):
        out[i] = _one_instance(inst, i, (h, w, c))
    return out


def _one_instance(inst: Any, i: int, shape: tuple[int, int, int]) -> np.ndarray:
    h, w, c = shape
    _check_numbers(inst, i)
    try:
        arr = np.asarray(inst, dtype=np.float64)
    except (ValueError, TypeError, OverflowError):
        # Ragged rows or a mix of lists and numbers.
        raise BadRequest(f"instance {i}: not a rectangular array of numbers") from None
    if arr.shape == (h, w) and c == 1:
        arr = arr[..., None]
    if arr.shape != (h, w, c):
        want = f"{h}×{w}×{c}" + (f" (or {h}×{w})" if c == 1 else "")
        got = "×".join(str(d) for d in arr.shape) or "a scalar"
        raise BadRequest(f"instance {i}: shape {got}; expected {want} pixel values")
    if not np.all(np.isfinite(arr)) or arr.min() < 0 or arr.max() > 255:
        raise BadRequest(f"instance {i}: pixel values must be finite numbers in 0..255")
    return arr.astype(np.float32)


def _check_numbers(value: Any, i: int) -> None:
    """Every leaf a JSON number: strings, booleans and nulls are a dtype error, not a zero."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise BadRequest(f"instance {i}: pixel values must be numbers, got {type(v).__name__}"
                             f" {str(v)[:20]!r}")
        elif isinstance(v, float) and not math.isfinite(v):
            raise BadRequest(f"instance {i}: pixel values must be finite numbers in 0..255")


def decode_image(body: bytes, input_shape: list[int]) -> np.ndarray:
    """An image file → float32 array (1, H, W, C), converted to the model's channels and size."""
    from PIL import Image, UnidentifiedImageError

    h, w, c = input_shape
    if not body:
        raise BadRequest("empty image body")
    try:
        with Image.open(io.BytesIO(body)) as im:
            im = im.convert("L" if c == 1 else "RGB")
            if im.size != (w, h):
                im = im.resize((w, h), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.float32)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise BadRequest(f"not a readable image ({type(exc).__name__})") from None
    if c == 1:
        arr = arr[..., None]
    return arr[None]


def parse_request(body: bytes, content_type: str | None, input_shape: list[int]) -> np.ndarray:
    """The request body as a batch of images (N, H, W, C) float32, or BadRequest."""
    media = _media_type(content_type)
    if media in JSON_TYPES:
        return parse_json_instances(body, input_shape)
    if media in IMAGE_TYPES:
        return decode_image(body, input_shape)
    raise BadRequest(f"unsupported content type {content_type or '(none)'!r}; send application/json, "
                     "image/png or image/jpeg", 415)


# --------------------------------------------------------------------------------- handlers


def input_handler(data: Any, context: Any) -> str:
    """Request → the TensorFlow Serving REST body {"instances": [...]}."""
    batch = parse_request(_read(data), getattr(context, "request_content_type", None),
                          model_info()["input_shape"])
    return json.dumps({"instances": batch.tolist()})


def predictions_json(probs: np.ndarray, class_names: list[str]) -> list[dict[str, Any]]:
    """Per instance: class index, name, probability, and the top 3 (index, name, probability)."""
    out = []
    for p in np.asarray(probs, dtype=np.float64):
        order = np.argsort(-p, kind="stable")[:TOP_K]
        top = [{"class_index": int(k), "class_name": class_names[int(k)], "probability": float(p[k])}
               for k in order]
        out.append({**top[0], "top3": top})
    return out


def output_handler(response: Any, context: Any) -> tuple[str, str]:
    """TensorFlow Serving's response → (JSON body, content type) for the client."""
    status = int(getattr(response, "status_code", 200))
    content = response.content
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
    if status != 200:
        # TensorFlow Serving's own complaint (e.g. a wrong input shape), kept to one line.
        raise BadRequest(f"model server: {' '.join(text.split())[:200]}", 400 if status < 500 else 500)
    try:
        probs = np.asarray(json.loads(text)["predictions"], dtype=np.float64)
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest(f"model server gave no predictions ({type(exc).__name__})", 500) from None
    if probs.ndim != 2:
        raise BadRequest(f"model server gave predictions of shape {probs.shape}", 500)
    body = {"predictions": predictions_json(probs, model_info()["class_names"]),
            "model": model_info().get("model"), "run_id": model_info().get("run_id")}
    return json.dumps(body), "application/json"
