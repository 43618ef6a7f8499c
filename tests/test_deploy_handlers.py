"""The TensorFlow Serving container's handlers (sagemaker/inference.py), without a model."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cnnreport.deploy.artifact import load_handlers

SHAPE = [4, 5, 1]
CLASSES = ["a", "b", "c", "d"]


@pytest.fixture(scope="module")
def inf(tmp_path_factory):
    folder = tmp_path_factory.mktemp("code")
    (folder / "model_info.json").write_text(json.dumps(
        {"class_names": CLASSES, "input_shape": SHAPE, "model": "m", "run_id": "r"}))
    return load_handlers(folder)


def ctx(content_type):
    return SimpleNamespace(request_content_type=content_type, accept_header="application/json")


def test_json_instances_pass_through_as_float_pixels(inf):
    img = np.arange(20).reshape(4, 5).tolist()  # H×W accepted for one channel
    out = json.loads(inf.input_handler(io.BytesIO(json.dumps({"instances": [img]}).encode()),
                                       ctx("application/json; charset=utf-8")))
    arr = np.asarray(out["instances"])
    assert arr.shape == (1, 4, 5, 1)
    assert arr[0, 3, 4, 0] == 19.0


def test_png_and_jpeg_decoded_and_resized_to_model_input(inf):
    from PIL import Image

    for fmt, ctype in (("PNG", "image/png"), ("JPEG", "image/jpeg")):
        buf = io.BytesIO()
        Image.new("RGB", (10, 8), (200, 200, 200)).save(buf, fmt)
        out = json.loads(inf.input_handler(io.BytesIO(buf.getvalue()), ctx(ctype)))
        arr = np.asarray(out["instances"])
        assert arr.shape == (1, 4, 5, 1)
        assert abs(arr.mean() - 200) < 3  # grey converted, not zeroed


@pytest.mark.parametrize("body,ctype,status,words", [
    (b"not json", "application/json", 400, "not JSON"),
    (b'{"images": []}', "application/json", 400, "instances"),
    (b'{"instances": []}', "application/json", 400, "non-empty"),
    (json.dumps({"instances": [[[1, 2], [3, 4]]]}).encode(), "application/json", 400, "shape 2×2"),
    (json.dumps({"instances": [[["x"] * 5] * 4]}).encode(), "application/json", 400, "numbers"),
    (json.dumps({"instances": [[[True] * 5] * 4]}).encode(), "application/json", 400, "numbers"),
    (json.dumps({"instances": [[[300] * 5] * 4]}).encode(), "application/json", 400, "0..255"),
    (json.dumps({"instances": [[[1] * 5, [1] * 4, [1] * 5, [1] * 5]]}).encode(), "application/json", 400, "rectangular"),
    (json.dumps({"instances": [[[0] * 5] * 4] * 65}).encode(), "application/json", 413, "at most"),
    (b"\x89PNG broken", "image/png", 400, "not a readable image"),
    (b"1,2,3", "text/csv", 415, "unsupported content type"),
    (b"{}", None, 415, "unsupported content type"),
])
def test_bad_requests_raise_one_line_with_status(inf, body, ctype, status, words):
    with pytest.raises(inf.BadRequest) as err:
        inf.input_handler(io.BytesIO(body), ctx(ctype))
    assert err.value.status == status
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


def test_output_handler_passes_model_server_errors_as_one_line(inf):
    resp = SimpleNamespace(status_code=400, content=b'{"error": "Input to reshape\n is wrong"}')
    with pytest.raises(inf.BadRequest) as err:
        inf.output_handler(resp, ctx("application/json"))
    assert err.value.status == 400 and "\n" not in str(err.value)


_json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                       st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5))
_json = st.recursive(_json_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=5), inner, max_size=4)), max_leaves=40)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(st.binary(max_size=300),
                      _json.map(lambda d: json.dumps(d).encode()),
                      _json.map(lambda d: json.dumps({"instances": d}).encode()),
                      st.lists(st.lists(st.lists(_json_leaf, max_size=6), max_size=5), max_size=3)
                      .map(lambda d: json.dumps({"instances": d}).encode())),
       ctype=st.sampled_from(["application/json", "image/png", "image/jpeg", "text/plain", ""]))
def test_fuzz_parser_only_accepts_or_refuses_cleanly(inf, body, ctype):
    """Any body: a well-shaped batch of finite pixels, or BadRequest with a 4xx; nothing else."""
    try:
        batch = inf.parse_request(body, ctype, SHAPE)
    except inf.BadRequest as exc:
        assert 400 <= exc.status < 500 and str(exc) and "\n" not in str(exc)
    else:
        assert batch.dtype == np.float32 and batch.shape[1:] == (4, 5, 1) and len(batch) >= 1
        assert np.all(np.isfinite(batch)) and batch.min() >= 0 and batch.max() <= 255
