"""What SageMaker's TensorFlow Serving container does behind its nginx front, in this process.

Mirrors aws/deep-learning-containers, tensorflow/inference/docker/build_artifacts/sagemaker/:

- tfs_utils.parse_request: the handler's `context` — model_name, model_version and method from
  the `X-Amzn-SageMaker-Custom-Attributes` header (`tfs-model-name=…,tfs-model-version=…,
  tfs-method=…`), rest_uri built from them (http://localhost:8501/v1/models/<name>[/versions/
  <v>]:<method>), grpc_port, channel (None: no gRPC channel by default), custom_attributes,
  request_content_type (application/json when the client sent none), accept_header
  (application/json when none) and content_length.
- python_service.py: per request `input_handler(data, context)` → POST context.rest_uri with its
  result → `output_handler(response, context)` → (body, content type), 200; any exception in
  that sequence → 500 with {"error": str(exception)}.
- TensorFlow Serving's REST predict: unknown model name or version → 404 {"error": "Servable not
  found for request: …"}; a body it cannot run → 400 {"error": …}; else 200 {"predictions": …}.
  `instances` of a string input carry {"b64": …}; `signature_name` picks the signature.

What this does not mirror: the container's optional `handler(data, context)` that replaces both
handlers (ours defines none), multi-model routes, gRPC, and TensorFlow Serving's batching.
"""

from __future__ import annotations

import base64
import io
import json
import re
import tarfile
import tempfile
import threading
from collections import namedtuple
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from cnnreport.deploy.artifact import load_handlers
from cnnreport.errors import UserError

TFS_REST_PORT = 8501  # the container's TensorFlow Serving REST port (SAGEMAKER_TFS_REST_PORT)
TFS_GRPC_PORT = 9000  # and its gRPC port, passed to handlers as context.grpc_port
CUSTOM_ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"
DEFAULT_CONTENT_TYPE = "application/json"
DEFAULT_ACCEPT = "application/json"
TFS_URI_RE = re.compile(r"^http://localhost:(\d+)/v1/models/([^/:]+)(?:/versions/([^/:]+))?:(\w+)$")

# The container's context, field for field (tfs_utils.Context).
Context = namedtuple("Context", "model_name model_version method rest_uri grpc_port channel "
                                "custom_attributes request_content_type accept_header content_length")


@dataclass
class TFSResponse:
    """What output_handler receives: in the container a requests.Response from TensorFlow Serving."""

    status_code: int
    content: bytes
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


def tfs_attributes(header: str | None) -> dict[str, str]:
    """`tfs-…=…` pairs of the custom-attributes header, as tfs_utils reads them."""
    if not header:
        return {}
    return dict(pair.split("=", 1) for pair in re.findall(r"(tfs-[a-z\-]+=[^,]+)", header))


def make_context(model_name: str, headers: Any, content_length: int) -> Context:
    custom = headers.get(CUSTOM_ATTRIBUTES_HEADER)
    attrs = tfs_attributes(custom)
    name = attrs.get("tfs-model-name", model_name)
    version = attrs.get("tfs-model-version")
    method = attrs.get("tfs-method", "predict")
    uri = f"http://localhost:{TFS_REST_PORT}/v1/models/{name}" + (f"/versions/{version}" if version else "")
    return Context(attrs.get("tfs-model-name"), version, attrs.get("tfs-method"), f"{uri}:{method}",
                   TFS_GRPC_PORT, None, custom, headers.get("Content-Type") or DEFAULT_CONTENT_TYPE,
                   headers.get("Accept") or DEFAULT_ACCEPT, content_length)


class LocalTFS:
    """TensorFlow Serving's REST predict API over one SavedModel, version 1, in this process."""

    def __init__(self, saved_dir: Path, model_name: str):
        import tensorflow as tf

        self._tf = tf
        self.model_name = model_name
        self.signatures = dict(tf.saved_model.load(str(saved_dir)).signatures)
        # One batch at a time, as one TensorFlow Serving model worker would: this also bounds
        # how many images are decoded at once to one request's.
        self.lock = threading.Lock()

    def post(self, uri: str, data: Any) -> TFSResponse:
        m = TFS_URI_RE.match(uri)
        if not m:
            return _tfs_error(404, f"Malformed request: POST {uri[:120]}")
        _, name, version, method = m.groups()
        if name != self.model_name or (version is not None and version != "1"):
            which = f"Specific({name}, {version})" if version else f"Latest({name})"
            return _tfs_error(404, f"Servable not found for request: {which}")
        if method != "predict":
            return _tfs_error(400, f"Expected {method} signature method_name to be tensorflow/serving/{method}. "
                                   "Was: tensorflow/serving/predict")
        try:
            doc = json.loads(data)
            signature = doc.get("signature_name", "serving_default")
            if signature not in self.signatures:
                return _tfs_error(400, f'Serving signature name: "{signature}" not found in signature def')
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
            return _tfs_error(400, " ".join(str(exc).split())[:300] or type(exc).__name__)
        return TFSResponse(200, json.dumps({"predictions": predictions}).encode())


def _tfs_error(status: int, message: str) -> TFSResponse:
    return TFSResponse(status, json.dumps({"error": message}).encode())


class Container:
    """An unpacked model.tar.gz served as the container serves it: the package's SavedModel and
    model_info.json, and the project's own inference.py (never the package's copy)."""

    def __init__(self, tarball: Path):
        self._tmp = tempfile.TemporaryDirectory(prefix="cnnreport-serve-")
        root = Path(self._tmp.name)
        try:
            with tarfile.open(tarball, "r:gz") as tar:
                tar.extractall(root, filter="data")
            self.info = json.loads((root / "code" / "model_info.json").read_text(encoding="utf-8"))
            saved = root / self.info["tfs_model_name"] / "1"
        except (tarfile.TarError, OSError, ValueError, KeyError) as exc:
            self._tmp.cleanup()
            raise UserError(f"{tarball}: not a readable model.tar.gz ({exc})") from None
        self.handlers = load_handlers(self.info)
        self.tfs = LocalTFS(saved, self.info["tfs_model_name"])

    def invoke(self, body: bytes, headers: Any) -> tuple[int, bytes, str]:
        """python_service's invocation: (status, body, content type); 500 {"error"} on any
        handler exception, as the container answers."""
        context = make_context(self.info["tfs_model_name"], headers, len(body))
        try:
            request = self.handlers.input_handler(io.BytesIO(body), context)
            result, ctype = self.handlers.output_handler(self.tfs.post(context.rest_uri, request), context)
        except Exception as exc:  # noqa: BLE001 - the container's own rule: any exception is a 500
            return 500, json.dumps({"error": str(exc)}).encode(), "application/json"
        return 200, (result.encode() if isinstance(result, str) else result), ctype

    def close(self) -> None:
        self._tmp.cleanup()
