"""Pre- and post-processing handlers for SageMaker's TensorFlow Serving container.

The tensorflow-inference 2.20 image (aws/deep-learning-containers, scripts/docker/tensorflow/
inference/sagemaker/python_service.py) calls, per request,

    input_handler(data, context)  →  POST context.rest_uri (TensorFlow Serving's REST predict)
                                  →  output_handler(response, context)

where `data` is the request stream and `context` carries model_name, model_version, method,
rest_uri, grpc_port, channel, custom_attributes, request_content_type (application/json when
the client sent none), accept_header, content_length and timeout. Whatever either handler
raises, the container answers 500 {"error": str(exception)}; through the SageMaker runtime,
boto3 then raises ModelError (HTTP 424, OriginalStatusCode 500) with that body as
OriginalMessage. So every refusal here is one clear line: it is all the client will see. A
non-200 answer of TensorFlow Serving never reaches output_handler in that image: the container
answers it with TensorFlow Serving's own status (e.g. 404 for an unknown model name).

Requests:
  application/json      {"instances": [image, ...]}, each image H×W×C (or H×W when C = 1) of
                        raw pixel values 0–255 (the model scales them itself)
  image/png, image/jpeg one image file; TensorFlow Serving decodes it and resizes it to the
                        model's input inside the graph (the `serving_image` signature), so
                        nothing here decodes pixels
Response (application/json), per instance: class index, class name, probability and top 3.

Standard library only: the container runs this file with its own Python, and a
code/requirements.txt would be pip-installed at every start, which fails inside a VPC without
internet access or with network isolation. The package carries no requirements.txt.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from pathlib import Path
from typing import Any

INFO_FILE = "model_info.json"  # written next to this file when the package is built
MAX_INSTANCES = 64  # per JSON request (the runtime's payload limit is 6 MB anyway)
MAX_PIXELS = 4_000_000  # width × height of an image file, read from its header before decoding
TOP_K = 3
DEFAULT_CONTENT_TYPE = "application/json"  # the container's default (tfs_utils.parse_request)
JSON_TYPES = ("application/json",)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/jpg")
IMAGE_SIGNATURE = "serving_image"  # the SavedModel's signature taking encoded image bytes
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, progressive, lossless, ...), which carry the size;
# C4 (Huffman tables), C8 (reserved) and CC (arithmetic coding) are not frames.
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


class InvalidInput(ValueError):
    """A request these handlers refuse; the message is what the client reads."""


_INFO: dict[str, Any] | None = None


def model_info() -> dict[str, Any]:
    """class_names and input_shape [H, W, C] of the packaged model, from the file beside this one."""
    global _INFO
    if _INFO is None:
        _INFO = json.loads(Path(__file__).with_name(INFO_FILE).read_text(encoding="utf-8"))
    return _INFO


def _media_type(content_type: str | None) -> str:
    """'application/json; charset=utf-8' → 'application/json'; none → the container's default."""
    return (content_type or DEFAULT_CONTENT_TYPE).split(";", 1)[0].strip().lower()


def _read(data: Any) -> bytes:
    if hasattr(data, "read"):
        data = data.read()
    if isinstance(data, str):
        return data.encode("utf-8")
    return bytes(data or b"")


# ------------------------------------------------------------------------------ JSON pixels


def parse_json_instances(body: bytes, input_shape: list[int]) -> list[Any]:
    """{"instances": [...]} → the instances as H×W×C nested lists of numbers 0–255."""
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and Python's limit on integer digits (4,300).
        raise InvalidInput(f"body is not JSON ({type(exc).__name__}: {' '.join(str(exc).split())[:80]})") from None
    if not isinstance(doc, dict) or "instances" not in doc:
        raise InvalidInput('expected a JSON object {"instances": [image, ...]}')
    instances = doc["instances"]
    if not isinstance(instances, list) or not instances:
        raise InvalidInput('"instances" must be a non-empty list of images')
    if len(instances) > MAX_INSTANCES:
        raise InvalidInput(f"{len(instances)} instances in one request; at most {MAX_INSTANCES}")
    return [_one_instance(inst, i, tuple(input_shape)) for i, inst in enumerate(instances)]


def _one_instance(inst: Any, i: int, shape: tuple[int, ...]) -> Any:
    h, w, c = shape
    _check_numbers(inst, i)
    got = _shape(inst, i)
    if got == (h, w) and c == 1:
        inst, got = [[[v] for v in row] for row in inst], (h, w, 1)
    if got != (h, w, c):
        want = f"{h}×{w}×{c}" + (f" (or {h}×{w})" if c == 1 else "")
        text = "×".join(str(d) for d in got) or "a scalar"
        raise InvalidInput(f"instance {i}: shape {text}; expected {want} pixel values")
    for row in inst:
        for pixel in row:
            for v in pixel:
                if not 0 <= v <= 255:
                    raise InvalidInput(f"instance {i}: pixel values must be finite numbers in 0..255")
    return inst


def _check_numbers(value: Any, i: int) -> None:
    """Every leaf a JSON number: strings, booleans and nulls are a type error, not a zero."""
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, bool) or not isinstance(v, (int, float)):
            raise InvalidInput(f"instance {i}: pixel values must be numbers, got {type(v).__name__}"
                               f" {str(v)[:20]!r}")
        elif isinstance(v, float) and not math.isfinite(v):
            raise InvalidInput(f"instance {i}: pixel values must be finite numbers in 0..255")


def _shape(value: Any, i: int, depth: int = 0) -> tuple[int, ...]:
    """The nested lists' shape; ragged rows are refused. Deeper than 4 levels stops early (an
    image has 3), so a hostile nesting costs nothing."""
    if not isinstance(value, list):
        return ()
    if depth >= 4:
        return (len(value), 0, 0, 0, 0)
    inner = {_shape(v, i, depth + 1) for v in value}
    if len(inner) > 1:
        raise InvalidInput(f"instance {i}: not a rectangular array of numbers")
    return (len(value), *(inner.pop() if inner else ()))


# ------------------------------------------------------------------------------ image files


def image_size(body: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) from a PNG or JPEG header, without decoding; None for anything else.

    The size a file declares is what decoding it would allocate (a 160 KB PNG can declare 169
    megapixels, 0.5 GB decoded), so it is checked before anything decodes it.
    """
    if body[:8] == PNG_MAGIC and body[12:16] == b"IHDR" and len(body) >= 24:
        width, height = struct.unpack(">II", body[16:24])
        return "png", width, height
    if body[:2] == b"\xff\xd8":
        i = 2
        while i + 4 <= len(body):
            if body[i] != 0xFF:
                return None
            marker = body[i + 1]
            if marker == 0xFF:  # fill byte before a marker
                i += 1
                continue
            if marker in JPEG_SOF and i + 9 <= len(body):
                height, width = struct.unpack(">HH", body[i + 5:i + 9])
                return "jpeg", width, height
            if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
                i += 2
                continue
            i += 2 + struct.unpack(">H", body[i + 2:i + 4])[0]
    return None


def check_image(body: bytes) -> tuple[int, int]:
    """The image's (width, height) when it is a PNG or JPEG of a size the endpoint decodes."""
    if not body:
        raise InvalidInput("empty image body")
    found = image_size(body)
    if found is None:
        raise InvalidInput("not a readable image: expected a PNG or JPEG file")
    _, width, height = found
    if width * height == 0:
        raise InvalidInput(f"not a readable image: it declares {width}×{height} pixels")
    if width * height > MAX_PIXELS:
        raise InvalidInput(f"image of {width}×{height} pixels is over the {MAX_PIXELS:,}-pixel limit")
    return width, height


# --------------------------------------------------------------------------------- handlers


def input_handler(data: Any, context: Any) -> str:
    """Request → the TensorFlow Serving REST predict body."""
    body = _read(data)
    content_type = getattr(context, "request_content_type", None)
    media = _media_type(content_type)
    if media in JSON_TYPES:
        return json.dumps({"instances": parse_json_instances(body, model_info()["input_shape"])})
    if media in IMAGE_TYPES:
        check_image(body)
        # TensorFlow Serving's REST API carries binary string inputs as {"b64": ...}.
        return json.dumps({"signature_name": IMAGE_SIGNATURE,
                           "instances": [{"b64": base64.b64encode(body).decode("ascii")}]})
    raise InvalidInput(f"unsupported content type {content_type!r}; send application/json, "
                       "image/png or image/jpeg")


def predictions_json(probs: list[list[float]], class_names: list[str]) -> list[dict[str, Any]]:
    """Per instance: class index, name, probability, and the top 3 (index, name, probability)."""
    out = []
    for p in probs:
        order = sorted(range(len(p)), key=lambda k: (-p[k], k))[:TOP_K]
        top = [{"class_index": k, "class_name": class_names[k], "probability": float(p[k])} for k in order]
        out.append({**top[0], "top3": top})
    return out


def output_handler(response: Any, context: Any) -> tuple[str, str]:
    """TensorFlow Serving's response (a requests.Response in the container) → (JSON body,
    content type) for the client."""
    status = int(getattr(response, "status_code", 200))
    content = response.content
    text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
    if status != 200:
        # The 2.20 container answers TensorFlow Serving's errors itself, before this runs; a
        # container that passes them on (the images up to 2.19 did) gets one line.
        raise InvalidInput(f"model server answered {status}: {' '.join(text.split())[:300]}")
    names = model_info()["class_names"]
    try:
        probs = json.loads(text)["predictions"]
        ok = (isinstance(probs, list) and probs
              and all(isinstance(p, list) and len(p) == len(names) for p in probs))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"model server gave no predictions ({type(exc).__name__})") from None
    if not ok:
        raise InvalidInput(f"model server gave predictions that are not {len(names)} class probabilities each")
    body = {"predictions": predictions_json(probs, names),
            "model": model_info().get("model"), "run_id": model_info().get("run_id")}
    return json.dumps(body), "application/json"
