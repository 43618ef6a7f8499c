"""report.json `deployment`: the endpoint test's transcript, as deploy/endpoint_test.py writes it
to runs/<study>/endpoint/transcript.json and the report shows it.

The model lives here, in results/, rather than beside the code that writes it: deploy sits on
top of train and results, and report and rubric may not import deploy (tests/test_architecture.py),
so results/ is the lowest stage all three see. The transcript is read back through this model,
so a damaged or older transcript is named field by field (docs/contracts.md).
"""

from __future__ import annotations

from typing import Literal

from pydantic import JsonValue

from cnnreport.contract import Part


class Latency(Part):
    """Milliseconds per image, client side, one image per request."""

    mean: float
    median: float
    p95: float
    min: float
    max: float


class RequestSent(Part):
    content_type: str
    bytes: int
    summary: str  # what was sent, e.g. "image/png · 28×28 file"


class ClassScore(Part):
    class_index: int
    class_name: str
    probability: float


class TranscriptRow(Part):
    """One real test image sent to the endpoint, and its answer against the local model's."""

    i: int  # 1-based request number
    test_index: int
    request: RequestSent
    status: int  # HTTP status the client saw
    response: dict[str, JsonValue]  # the endpoint's answer as it arrived
    latency_ms: float
    predicted: str
    predicted_index: int
    confidence: float
    top3: list[ClassScore]
    true: str
    true_index: int
    correct: bool
    local_predicted: str
    local_confidence: float
    match: bool  # same class as the local model, probability within the tolerance
    served_run_id: str | None  # the run the endpoint says it serves


class BadRequest(Part):
    """A request a correct endpoint refuses, as boto3 saw it; one is sent and recorded without an
    expectation (no Content-Type: what the runtime then hands the container is documented nowhere)."""

    request: str
    # The answer asserted, as the endpoint test words it ("ModelError, OriginalStatusCode 500",
    # "ValidationError"), or "not asserted" (then `as_expected` is true).
    expected: str
    outcome: str  # the exception class boto3 raised, or "200"
    status: int | None
    message: str
    code: str | None = None  # the service's error code, when refused
    original_status: int | None = None  # the container's status behind a ModelError
    original_message: str | None = None
    as_expected: bool


class Deployment(Part):
    """The last endpoint test of the study: where, which run, agreement, latency, every request."""

    where: Literal["aws", "local"]
    endpoint: str
    model: str
    run_id: str
    seed: int
    selection: str  # how the run was chosen
    study: str
    n: int  # test images sent
    agreement: float  # fraction of answers matching the local model
    served_run_ids: list[str]
    same_model: bool
    accuracy: float  # fraction of answers naming the true class
    latency_ms: Latency
    images: str  # how the test images were picked
    tolerance: float  # on a probability, for `match`
    tested_at: str
    transcript_file: str
    rows: list[TranscriptRow]
    bad_requests: list[BadRequest]
    bad_requests_as_expected: bool
    stale: bool  # the run is no longer one of the study's runs (set when the report reads the transcript)
