"""The TensorFlow Serving container's handlers (sagemaker/inference.py), without a model."""

from __future__ import annotations

import ast
import base64
import io
import json
import struct
import sys
import zlib
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cnnreport.deploy.artifact import INFERENCE_SCRIPT, load_handlers

SHAPE = [4, 5, 1]
CLASSES = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def inf():
    return load_handlers({"class_names": CLASSES, "input_shape": SHAPE, "model": "m", "run_id": "r"})


def ctx(content_type):
    return SimpleNamespace(request_content_type=content_type, accept_header="application/json")


def png_header(width: int, height: int) -> bytes:
    """A PNG's signature and IHDR chunk only: enough to declare a size, nothing to decode."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))


def test_the_handlers_need_only_the_standard_library():
    """The container runs inference.py with its own Python and nothing installed (no
    requirements.txt is shipped), so it must import nothing else."""
    tree = ast.parse(INFERENCE_SCRIPT.read_text())
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported and imported - {"__future__"} <= set(sys.stdlib_module_names), imported


def test_json_instances_pass_through_as_pixels(inf):
    img = np.arange(20).reshape(4, 5).tolist()  # H×W accepted for one channel
    out = json.loads(inf.input_handler(io.BytesIO(json.dumps({"instances": [img]}).encode()),
                                       ctx("application/json; charset=utf-8")))
    arr = np.asarray(out["instances"])
    assert arr.shape == (1, 4, 5, 1) and "signature_name" not in out
    assert arr[0, 3, 4, 0] == 19


def test_a_missing_content_type_is_json_as_in_the_container(inf):
    body = json.dumps({"instances": [np.zeros((4, 5, 1)).tolist()]}).encode()
    assert np.asarray(json.loads(inf.input_handler(io.BytesIO(body), ctx(None)))["instances"]).shape == (1, 4, 5, 1)


def test_image_files_go_to_the_image_signature_undecoded(inf):
    """PNG and JPEG bytes travel to TensorFlow Serving as {"b64": …}: the graph decodes them."""
    from PIL import Image

    for fmt, ctype in (("PNG", "image/png"), ("JPEG", "image/jpeg")):
        buf = io.BytesIO()
        Image.new("RGB", (10, 8), (200, 200, 200)).save(buf, fmt)
        out = json.loads(inf.input_handler(io.BytesIO(buf.getvalue()), ctx(ctype)))
        assert out["signature_name"] == "serving_image"
        assert base64.b64decode(out["instances"][0]["b64"]) == buf.getvalue()
        assert inf.image_size(buf.getvalue()) == (fmt.lower(), 10, 8)


def test_jpeg_size_is_read_from_any_frame_marker(inf):
    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (33, 17)).save(buf, "JPEG", progressive=True)  # SOF2, after APP0 and tables
    assert inf.image_size(buf.getvalue()) == ("jpeg", 33, 17)


@pytest.mark.parametrize("body,ctype,words", [
    (b"not json", "application/json", "not JSON"),
    (b'{"instances": [' + b"9" * 5000 + b"]}", "application/json", "not JSON"),  # Python's digit limit
    (b'{"images": []}', "application/json", "instances"),
    (b'{"instances": []}', "application/json", "non-empty"),
    (json.dumps({"instances": [[[1, 2], [3, 4]]]}).encode(), "application/json", "shape 2×2"),
    (json.dumps({"instances": [[[["x"]] * 5] * 4]}).encode(), "application/json", "numbers"),
    (json.dumps({"instances": [[[True] * 5] * 4]}).encode(), "application/json", "numbers"),
    (json.dumps({"instances": [[[300] * 5] * 4]}).encode(), "application/json", "0..255"),
    (json.dumps({"instances": [[[1] * 5, [1] * 4, [1] * 5, [1] * 5]]}).encode(), "application/json", "rectangular"),
    (json.dumps({"instances": [[[0] * 5] * 4] * 65}).encode(), "application/json", "at most 64"),
    (b"[" * 5000 + b"]" * 5000, "application/json", "not JSON"),
    (b"\x89PNG broken", "image/png", "not a readable image"),
    (png_header(13_000, 13_000), "image/png", "over the 4,000,000-pixel limit"),
    (png_header(0, 10), "image/png", "0×10"),
    (b"", "image/jpeg", "empty image body"),
    (b"1,2,3", "text/csv", "unsupported content type 'text/csv'"),
])
def test_bad_requests_raise_one_clear_line(inf, body, ctype, words):
    """In the container any exception here is a 500 {"error": message}: the message is all the
    client sees, so it says what was wrong."""
    with pytest.raises(inf.InvalidInput) as err:
        inf.input_handler(io.BytesIO(body), ctx(ctype))
    assert words in str(err.value) and "\n" not in str(err.value)


def test_output_handler_class_probability_and_top3(inf):
    resp = SimpleNamespace(status_code=200, content=json.dumps(
        {"predictions": [[0.1, 0.6, 0.05, 0.25], [0.7, 0.1, 0.1, 0.1]]}).encode())
    body, ctype = inf.output_handler(resp, ctx("application/json"))
    preds = json.loads(body)["predictions"]
    assert ctype == "application/json"
    assert preds[0]["class_index"] == 1 and preds[0]["class_name"] == "b"
    assert preds[0]["probability"] == pytest.approx(0.6)
    assert [t["class_name"] for t in preds[0]["top3"]] == ["b", "d", "a"]
    assert preds[1]["class_name"] == "a" and len(preds[1]["top3"]) == 3


@pytest.mark.parametrize("status,content,words", [
    (404, b'{"error": "Servable not found for request: Latest(x)\n"}', "answered 404"),
    (200, b'{"outputs": []}', "no predictions"),
    (200, b'{"predictions": [[0.5, 0.5]]}', "not 4 class probabilities"),
])
def test_output_handler_turns_model_server_trouble_into_one_line(inf, status, content, words):
    with pytest.raises(inf.InvalidInput) as err:
        inf.output_handler(SimpleNamespace(status_code=status, content=content), ctx("application/json"))
    assert words in str(err.value) and "\n" not in str(err.value)


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                       st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5))
_json = st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=5), inner, max_size=4)), max_leaves=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=300),
                      _json.map(lambda d: json.dumps(d).encode()),
                      _json.map(lambda d: json.dumps({"instances": d}).encode()),
                      st.lists(st.lists(st.lists(_json_leaf, max_size=6), max_size=5), max_size=3)
                      .map(lambda d: json.dumps({"instances": d}).encode()),
                      st.binary(max_size=60).map(lambda b: b"\xff\xd8" + b),
                      st.binary(max_size=60).map(lambda b: b"\x89PNG\r\n\x1a\n" + b)),
       ctype=st.sampled_from(["application/json", "image/png", "image/jpeg", "text/plain", "", None]))
def test_fuzz_input_handler_only_accepts_or_refuses_cleanly(inf, body, ctype):
    """Any body: a well-shaped request for TensorFlow Serving, or InvalidInput; nothing else."""
    try:
        out = json.loads(inf.input_handler(io.BytesIO(body), ctx(ctype)))
    except inf.InvalidInput as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        if "signature_name" in out:
            found = inf.image_size(base64.b64decode(out["instances"][0]["b64"]))
            assert found and 0 < found[1] * found[2] <= inf.MAX_PIXELS
        else:
            batch = np.asarray(out["instances"], dtype=np.float64)
            assert batch.shape[1:] == (4, 5, 1) and len(batch) >= 1
            assert np.all(np.isfinite(batch)) and batch.min() >= 0 and batch.max() <= 255
