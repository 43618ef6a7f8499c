"""The container's side of an invocation as the tensorflow-inference 2.20 image does it
(container.py, falcon_errors.py, tfs_rest.py), without TensorFlow: the handler context, the
custom attributes' checks, TF Serving's errors passed through and how falcon 3.1.0 writes them."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings, strategies as st

from cnnreport.deploy import artifact, falcon_errors, tfs_rest
from cnnreport.deploy import container as local_container

CA = local_container.CUSTOM_ATTRIBUTES_HEADER
# tfs_utils.Context of the 2.20 image, in its order.
CONTEXT_FIELDS = ("model_name", "model_version", "method", "rest_uri", "grpc_port", "channel", "custom_attributes",
                  "request_content_type", "accept_header", "content_length", "timeout")


class FakeTFS:
    """TensorFlow Serving answering what it is told to, recording what it was sent."""

    def __init__(self, status: int = 200, content: bytes = b'{"predictions": [[0.25, 0.75]]}'):
        self.status, self.content, self.calls = status, content, []

    def post(self, uri, data):
        self.calls.append(uri)
        return tfs_rest.TFSResponse(self.status, self.content)


def container_with(tfs: FakeTFS) -> local_container.Container:
    """A Container over the project's handlers and a fake TF Serving (no package, no TensorFlow)."""
    served = local_container.Container.__new__(local_container.Container)
    served.info = {"tfs_model_name": "cnn", "class_names": ["a", "b"], "input_shape": [2, 2, 1]}
    served.handlers = artifact.load_handlers(served.info)
    served.tfs = tfs
    return served


GOOD = json.dumps({"instances": [[[[0], [255]], [[10], [20]]]]}).encode()  # one 2×2×1 image


def test_the_context_has_the_2_20_fields_and_types():
    headers = {CA: "tfs-model-name=m2,tfs-model-version=3,tfs-method=classify,x=1"}
    ctx = local_container.make_context("m", headers, 12)
    assert ctx._fields == CONTEXT_FIELDS
    assert ctx.rest_uri == "http://localhost:8501/v1/models/m2/versions/3:classify"
    assert (ctx.model_name, ctx.model_version, ctx.method) == ("m2", "3", "classify")
    assert ctx.custom_attributes == headers[CA]
    assert (ctx.request_content_type, ctx.accept_header, ctx.content_length) == ("application/json", "application/json", 12)
    assert ctx.grpc_port == "9000" and ctx.timeout == 60 and type(ctx.timeout) is int and ctx.channel is None
    plain = local_container.make_context("m", {}, 0)
    assert plain.rest_uri == "http://localhost:8501/v1/models/m:predict"
    assert (plain.model_name, plain.model_version, plain.method, plain.custom_attributes) == (None, None, None, None)


@pytest.mark.parametrize("attribute,message", [
    ("tfs-model-name=../x", "invalid tfs-model-name"),
    ("tfs-model-name=a b", "invalid tfs-model-name"),
    ("tfs-model-name=-lead", "invalid tfs-model-name"),
    ("tfs-model-version=abc", "invalid tfs-model-version: must be a positive integer"),
    ("tfs-model-version=-1", "invalid tfs-model-version: must be a positive integer"),
    ("tfs-method=bogus", "invalid tfs-method: must be one of predict|classify|regress"),
    ("tfs-method=PREDICT", "invalid tfs-method: must be one of predict|classify|regress"),
    ("tfs-model-name=ok,tfs-method=x", "invalid tfs-method: must be one of predict|classify|regress"),
])
def test_a_bad_custom_attribute_is_400_before_any_handler(attribute, message):
    tfs = FakeTFS()
    served = container_with(tfs)
    answer = (400, json.dumps({"error": message}).encode(), "application/json")
    headers = {"Content-Type": "application/json", CA: attribute}
    assert served.invoke(GOOD, headers) == answer
    assert served.early_answer(GOOD, headers) == answer  # the front answers it at once, the same
    assert tfs.calls == []


@pytest.mark.parametrize("attribute,uri_tail", [
    ("tfs-model-name=", "/cnn:predict"),  # an empty value is no attribute
    ("foo=bar, tfs-model-name=cnn", "/cnn:predict"),
    ("tfs-model-version=01", "/cnn/versions/01:predict"),  # TF Serving reads it as version 1
    ("tfs-model-name=a.b_c-9,tfs-method=regress", "/a.b_c-9:regress"),
])
def test_good_custom_attributes_shape_the_tf_serving_uri(attribute, uri_tail):
    tfs = FakeTFS()
    status, _, _ = container_with(tfs).invoke(GOOD, {"Content-Type": "application/json", CA: attribute})
    assert status == 200 and tfs.calls == [f"http://localhost:8501/v1/models{uri_tail}"]


_PAIR = st.tuples(st.sampled_from(["tfs-model-name", "tfs-model-version", "tfs-method", "tfs-other", "x"]),
                  st.text(alphabet=st.sampled_from(list("ab09._-/:?#% =\\@predict")), max_size=12))


@settings(max_examples=400, deadline=None)
@given(st.lists(_PAIR, max_size=4).map(lambda pairs: ",".join(f"{k}={v}" for k, v in pairs)) | st.text(max_size=60))
def test_fuzz_custom_attributes_never_leave_tf_servings_prediction_api(header):
    """Whatever the header holds, the request is refused (400) or goes to a prediction path of
    TF Serving: an attribute cannot redirect it elsewhere on the model server."""
    try:
        ctx = local_container.make_context("cnn", {CA: header}, 0)
    except local_container.InvalidCustomAttribute:
        return
    path = ctx.rest_uri.removeprefix("http://localhost:8501")
    assert tfs_rest.PREDICTION_PATH.fullmatch(path), ctx.rest_uri


@pytest.mark.parametrize("status,message", [(404, "Servable not found for request: Latest(other)"),
                                            (400, "Expected classification signature method_name …"),
                                            (503, "overloaded")])
def test_tf_servings_errors_pass_through_with_their_status_and_output_handler_never_runs(status, message, monkeypatch):
    tfs = FakeTFS(status, tfs_rest.error_body(message))
    served = container_with(tfs)
    monkeypatch.setattr(served.handlers, "output_handler", lambda *a: pytest.fail("output_handler ran"))
    got, body, ctype = served.invoke(GOOD, {"Content-Type": "application/json", "Accept": "application/json"})
    assert got == status and ctype == "application/json"
    doc = json.loads(body)
    assert doc["title"] == falcon_errors.status_line(status) and json.loads(doc["description"]) == {"error": message}


def test_tf_serving_error_bodies_are_pretty_printed_as_its_json_writer_writes_them():
    assert tfs_rest.error_body("Servable not found for request: Latest(x)") == (
        b'{\n    "error": "Servable not found for request: Latest(x)"\n}')


def test_a_handler_exception_is_500_error():
    served = container_with(FakeTFS(200, b'{"predictions": [[0.5]]}'))  # 1 probability for 2 classes
    status, body, _ = served.invoke(GOOD, {"Content-Type": "application/json"})
    assert status == 500 and "not 2 class probabilities" in json.loads(body)["error"]
    assert served.invoke(b"1,2", {"Content-Type": "text/csv"})[0] == 500


# What falcon 3.1.0 itself chose for these Accept headers (run against the real library): the
# content type of the error, or None for no body.
FALCON_3_1_0 = [
    (None, "application/json"), ("*/*", "application/json"), ("application/json", "application/json"),
    ("application/xml", "application/xml"), ("text/xml", "text/xml"), ("text/csv", None),
    ("application/vnd.x+json", "application/json"), ("application/atom+xml", "application/xml"),
    ("application/xml, application/json", "application/json"), ("text/xml;q=0.5, application/json;q=0.4", "text/xml"),
    ("application/*", "application/json"), ("text/*", "text/xml"), ("application/json;q=0", None),
    ("bogus", None), ("a/b/c, application/json", None), ("image/png, */*;q=0.1", "application/json"),
]


@pytest.mark.parametrize("accept,chosen", FALCON_3_1_0)
def test_tf_serving_errors_are_written_as_falcon_3_1_0_writes_them(accept, chosen):
    status, body, ctype = falcon_errors.error_answer(404, '{"error": "x ×"}', accept)
    assert status == 404 and falcon_errors.preferred_type(accept) == chosen
    if chosen is None:
        assert body == b"" and ctype == "application/json"
    elif chosen == "application/json":
        assert body == '{"title": "404 Not Found", "description": "{\\"error\\": \\"x ×\\"}"}'.encode()
    else:
        assert ctype == chosen and body == ('<?xml version="1.0" encoding="UTF-8"?><error><title>404 Not Found'
                                            '</title><description>{"error": "x ×"}</description></error>').encode()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_fuzz_any_accept_header_gets_one_of_falcons_answers(accept):
    assert falcon_errors.preferred_type(accept) in (None, "application/json", "application/xml", "text/xml")


def test_status_lines_as_falcon_words_them():
    assert [falcon_errors.status_line(c) for c in (400, 404, 429, 499, 503)] == [
        "400 Bad Request", "404 Not Found", "429 Too Many Requests", "499 Unknown", "503 Service Unavailable"]


def test_tf_servings_prediction_path_is_its_regex():
    for path in ("/v1/models/m:predict", "/v1/models/m/versions/12:classify", "/V1/MODELS/m:PREDICT"):
        assert tfs_rest.PREDICTION_PATH.fullmatch(path)
    for path in ("/v1/models/m/versions/x:predict", "/v1/models/m:explain", "/v1/models/m/labels/a:predict"):
        assert not tfs_rest.PREDICTION_PATH.fullmatch(path)
    assert re.fullmatch(local_container.MODEL_NAME_RE, "a" * 255) and not local_container.MODEL_NAME_RE.match("a" * 256)
