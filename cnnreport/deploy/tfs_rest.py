"""TensorFlow Serving's REST predict API over one SavedModel (version 1), in this process: what
the container's handlers reach at context.rest_uri.

Follows tensorflow/serving's model_servers/http_rest_api_handler.cc and http_server.cc:
  POST /v1/models/<name>[/versions/<digits>]:(predict|classify|regress), case-insensitive; any
  other path is INVALID_ARGUMENT "Malformed request: POST <path>" (400); the version is read as
  a number (so "01" is version 1); an unknown name or version is NOT_FOUND (404) "Servable not
  found for request: Latest(<name>)" or "Specific(<name>, <version>)"; a request the graph cannot
  run is INVALID_ARGUMENT (400). Errors are the body util/json_tensor.cc's MakeJsonFromStatus
  writes: {"error": message}, pretty-printed with a 4-space indent.

Approximate: the words of TensorFlow's own run-time errors (this is TensorFlow in Python, not
the TensorFlow Serving binary), and classify/regress on a predict-only model (always 400 here,
with a message of ours).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

PREDICTION_PATH = re.compile(r"/v1/models/([^/:]+)(?:/versions/(\d+))?:(classify|regress|predict)", re.IGNORECASE)
SERVED_VERSION = 1  # the package holds <name>/1/


@dataclass
class TFSResponse:
    """What the handlers receive: in the container a requests.Response from TensorFlow Serving."""

    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


def error_body(message: str) -> bytes:
    """TensorFlow Serving's error JSON (rapidjson's PrettyWriter: 4-space indent, UTF-8 as is)."""
    return json.dumps({"error": message}, indent=4, ensure_ascii=False).encode("utf-8")


def _error(status: int, message: str) -> TFSResponse:
    return TFSResponse(status, error_body(message))


class LocalTFS:
    """The REST predict API over the package's SavedModel, version 1."""

    def __init__(self, saved_dir: Path, model_name: str):
        import tensorflow as tf

        self._tf = tf
        self.model_name = model_name
        self.signatures = dict(tf.saved_model.load(str(saved_dir)).signatures)
        # One batch at a time, as one TensorFlow Serving model worker would: this also bounds
        # how many images are decoded at once to one request's.
        self.lock = threading.Lock()

    def post(self, uri: str, data: Any) -> TFSResponse:
        path = urlsplit(uri).path
        m = PREDICTION_PATH.fullmatch(path)
        if not m:
            return _error(400, f"Malformed request: POST {path[:200]}")
        name, version_text, method = m.groups()
        version = int(version_text) if version_text else None
        if name != self.model_name or version not in (None, SERVED_VERSION):
            which = f"Specific({name}, {version})" if version is not None else f"Latest({name})"
            return _error(404, f"Servable not found for request: {which}")
        method = method.lower()
        if method != "predict":
            kind = {"classify": "classification", "regress": "regression"}[method]
            return _error(400, f"Expected {kind} signature method_name to be tensorflow/serving/{method}. "
                               "Was: tensorflow/serving/predict")
        try:
            doc = json.loads(data)
            signature = doc.get("signature_name", "serving_default")
            if signature not in self.signatures:
                return _error(400, f'Serving signature name: "{signature}" not found in signature def')
            fn = self.signatures[signature]
            (input_name, spec), = fn.structured_input_signature[1].items()
            instances = doc.get("instances", doc.get("inputs"))
            if spec.dtype == self._tf.string:
                value = self._tf.constant([base64.b64decode(i["b64"]) for i in instances])
            else:
                value = self._tf.constant(np.asarray(instances, dtype=spec.dtype.as_numpy_dtype))
            with self.lock:
                out = fn(**{input_name: value})
            predictions = next(iter(out.values())).numpy().tolist()
        except Exception as exc:  # TensorFlow Serving answers what it cannot run with 400 and why
            return _error(400, " ".join(str(exc).split())[:300] or type(exc).__name__)
        return TFSResponse(200, json.dumps({"predictions": predictions}).encode())
