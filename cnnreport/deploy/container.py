"""What SageMaker's TensorFlow Serving container, tensorflow-inference 2.20, does with one
invocation, in this process.

The 2.20 image is built from aws/deep-learning-containers' docker/tensorflow/inference/2.20/
Dockerfile.cpu (config .github/config/image/tensorflow/2.20-inference-sagemaker-cpu.yml), which
copies scripts/docker/tensorflow/inference/sagemaker/ to /sagemaker; the older
tensorflow/inference/docker/build_artifacts/sagemaker/ built the images up to 2.19 and behaves
otherwise. This module follows, in scripts/docker/tensorflow/inference/sagemaker/:

- serve.py: a package with code/inference.py is served by nginx → gunicorn running
  python_service.py, 1 worker (SAGEMAKER_GUNICORN_WORKERS), gevent, 1 thread, gunicorn timeout
  30 s (SAGEMAKER_GUNICORN_TIMEOUT_SECONDS); nginx.conf.template: proxy_read_timeout 60 s and
  client_max_body_size 0 (no body limit of its own); TensorFlow Serving's REST port 8501 and
  gRPC port "9000" reach python_service as strings (TFS_REST_PORTS, TFS_GRPC_PORTS); the default
  model name is the first SavedModel folder's (TFS_DEFAULT_MODEL_NAME).
- tfs_utils.parse_request and make_tfs_uri: the handler's context (Context below, field for
  field and type for type: grpc_port "9000", timeout 60, the int SAGEMAKER_TFS_WAIT_TIME_SECONDS,
  content_length an int); the custom attributes header's tfs-model-name
  (^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$), tfs-model-version (digits) and tfs-method
  (predict|classify|regress) are checked, and a bad one is a ValueError that
  python_service._handle_invocation_post answers 400 {"error": str(e)} before any handler runs.
- python_service._make_handler: input_handler(data, context) → POST context.rest_uri; a non-200
  answer of TensorFlow Serving raises falcon.HTTPError with TF Serving's status and its body as
  description, before output_handler runs (falcon_errors.py: how falcon 3.1.0 writes it); else
  output_handler(response, context) → (body, content type), 200. Any other exception in that
  sequence: 500 {"error": str(exception)}.

Not mirrored: context.channel (a gRPC channel to localhost:9000 in the container; None here,
where no gRPC server runs: our handlers use REST only), the handler(data, context) that may
replace both handlers (ours defines none), multi-model routes, TF Serving's batching, and the
default handlers of a package without inference.py.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import tempfile
from collections import namedtuple
from pathlib import Path
from typing import Any

from cnnreport.deploy import falcon_errors
from cnnreport.deploy.artifact import load_handlers
from cnnreport.deploy.tfs_rest import LocalTFS
from cnnreport.errors import UserError

TFS_REST_PORT = 8501  # TensorFlow Serving's REST port (serve.py's default, TFS_REST_PORTS)
TFS_GRPC_PORT = "9000"  # its gRPC port: serve.py passes ports through the environment, as strings
TFS_WAIT_TIME_S = 60  # SAGEMAKER_TFS_WAIT_TIME_SECONDS: context.timeout, the TF Serving call's limit
CUSTOM_ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"
DEFAULT_CONTENT_TYPE = "application/json"
DEFAULT_ACCEPT = "application/json"
MODEL_NAME_RE = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,254}\Z")
MODEL_VERSION_RE = re.compile(r"^\d+$")
METHODS = ("predict", "classify", "regress")

# The container's context, field for field (tfs_utils.Context).
Context = namedtuple("Context", "model_name model_version method rest_uri grpc_port channel custom_attributes "
                                "request_content_type accept_header content_length timeout")

Answer = tuple[int, bytes, str]  # (status, body, content type)


class InvalidCustomAttribute(ValueError):
    """A tfs-* custom attribute the container refuses (400) before any handler runs."""


def tfs_attributes(header: str | None) -> dict[str, str]:
    """`tfs-…=…` pairs of the custom-attributes header, as tfs_utils reads them (other pairs
    and empty values are ignored)."""
    if not header:
        return {}
    return dict(pair.split("=", 1) for pair in re.findall(r"(tfs-[a-z\-]+=[^,]+)", header))


def rest_uri(default_model: str, attrs: dict[str, str]) -> str:
    """TensorFlow Serving's URI for this request, after make_tfs_uri's checks, in its order."""
    name = attrs.get("tfs-model-name")
    version = attrs.get("tfs-model-version")
    method = attrs.get("tfs-method", "predict")
    if name is not None and not MODEL_NAME_RE.match(name):
        raise InvalidCustomAttribute("invalid tfs-model-name")
    if version is not None and not MODEL_VERSION_RE.match(version):
        raise InvalidCustomAttribute("invalid tfs-model-version: must be a positive integer")
    if method not in METHODS:
        raise InvalidCustomAttribute("invalid tfs-method: must be one of predict|classify|regress")
    uri = f"http://localhost:{TFS_REST_PORT}/v1/models/{name or default_model}"
    return uri + (f"/versions/{version}" if version else "") + f":{method}"


def make_context(default_model: str, headers: Any, content_length: int) -> Context:
    """The handlers' context for a request; InvalidCustomAttribute for a bad tfs-* attribute."""
    custom = headers.get(CUSTOM_ATTRIBUTES_HEADER)
    attrs = tfs_attributes(custom)
    return Context(attrs.get("tfs-model-name"), attrs.get("tfs-model-version"), attrs.get("tfs-method"),
                   rest_uri(default_model, attrs), TFS_GRPC_PORT, None, custom,
                   headers.get("Content-Type") or DEFAULT_CONTENT_TYPE,
                   headers.get("Accept") or DEFAULT_ACCEPT, content_length, TFS_WAIT_TIME_S)


def _json_error(status: int, message: str) -> Answer:
    return status, json.dumps({"error": message}).encode(), "application/json"


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

    def invoke(self, body: bytes, headers: Any) -> Answer:
        """python_service's invocation: (status, body, content type)."""
        try:
            context = make_context(self.info["tfs_model_name"], headers, len(body))
        except InvalidCustomAttribute as exc:
            return _json_error(400, str(exc))
        try:
            request = self.handlers.input_handler(io.BytesIO(body), context)
            response = self.tfs.post(context.rest_uri, request)
            if response.status_code != 200:  # falcon.HTTPError: output_handler never sees it
                return falcon_errors.error_answer(response.status_code, response.content.decode("utf-8", "replace"),
                                                  headers.get("Accept"))
            result, ctype = self.handlers.output_handler(response, context)
        except Exception as exc:  # noqa: BLE001 - the container's own rule: any exception is a 500
            return _json_error(500, str(exc))
        return 200, (result.encode() if isinstance(result, str) else result), ctype

    def early_answer(self, body: bytes, headers: Any) -> Answer | None:
        """The answer invoke() would give, when it is known without TensorFlow Serving: a bad
        custom attribute, or an image file whose header declares more pixels than the handler
        decodes. The HTTP front asks this first, so such requests never wait for a worker; what
        the client reads is the same."""
        try:
            context = make_context(self.info["tfs_model_name"], headers, len(body))
        except InvalidCustomAttribute as exc:
            return _json_error(400, str(exc))
        media = context.request_content_type.split(";", 1)[0].strip().lower()
        if media not in self.handlers.IMAGE_TYPES:
            return None
        found = self.handlers.image_size(body)
        if found and found[1] * found[2] > self.handlers.MAX_PIXELS:
            try:
                self.handlers.check_image(body)
            except self.handlers.InvalidInput as exc:
                return _json_error(500, str(exc))
        return None

    def close(self) -> None:
        self._tmp.cleanup()
