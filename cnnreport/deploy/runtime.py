"""What the SageMaker runtime (InvokeEndpoint, the API boto3's invoke_endpoint calls) does in
front of the container, as far as a client can see it.

- Limits from botocore's service model (data/sagemaker-runtime/2017-05-13/service-2.json): the
  body (BodyBlob) at most 6,291,456 bytes, ContentType and Accept (Header) and CustomAttributes
  at most 1,024 ASCII characters. botocore does not check maximum lengths itself, so the runtime
  answers them: ValidationError (HTTP 400, the status the model gives the shape). The oversized
  body's words, "Request <id> has oversize body.", are those AWS answered on a serverless
  endpoint (aws/sagemaker-python-sdk#4271); the header limits' words follow AWS's usual
  validation message and were not observed on this API.
- The container's answer: 2xx passes through with its content type and
  x-Amzn-Invoked-Production-Variant; any other status becomes ModelError (HTTP 424) carrying
  OriginalStatusCode, OriginalMessage (the container's body) and LogStreamArn, worded
  "Received client|server error (<status>) from primary with message "<body>". See … for more
  information."
- 60 seconds for the container to answer (the API reference: "A customer's model containers must
  respond to requests within 60 seconds"); then ModelError with OriginalStatusCode 0 and "Your
  invocation timed out while waiting for a response from container primary. …", as AWS answered
  in aws/amazon-sagemaker-examples#1407 and aws/sagemaker-python-sdk#1119.
"""

from __future__ import annotations

import uuid
from typing import Any, Mapping

MAX_BODY_BYTES = 6_291_456  # BodyBlob's max: 6 MB
MAX_HEADER_CHARS = 1024  # Header (Content-Type, Accept) and CustomAttributesHeader
INVOCATION_TIMEOUT_S = 60.0
CONTAINER = "primary"  # the runtime's name for a single-container endpoint's container
TIMED_OUT = ("Your invocation timed out while waiting for a response from container primary. Review the "
             "latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again.")

# The request headers the runtime reads, with the service model's member names.
CHECKED_HEADERS = (("Content-Type", "contentType"), ("Accept", "accept"),
                   ("X-Amzn-SageMaker-Custom-Attributes", "customAttributes"))


def request_id() -> str:
    return str(uuid.uuid4())


def header_problem(headers: Mapping[str, Any]) -> str | None:
    """The runtime's ValidationError message for a header over its limit, or None."""
    for header, member in CHECKED_HEADERS:
        value = headers.get(header)
        if value is None:
            continue
        if len(value) > MAX_HEADER_CHARS:
            return (f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
                    f"Member must have length less than or equal to {MAX_HEADER_CHARS}")
        if not value.isascii():
            return (f"1 validation error detected: Value at '{member}' failed to satisfy constraint: "
                    "Member must satisfy regular expression pattern: \\p{ASCII}*")
    return None


def oversize_body(rid: str) -> str:
    return f"Request {rid} has oversize body."


def _log_stream(endpoint: str) -> str:
    return f"local:/aws/sagemaker/Endpoints/{endpoint}"


def model_error(status: int, body: bytes, endpoint: str) -> dict[str, Any]:
    """The runtime's ModelError for a container's non-2xx answer, worded as AWS words it."""
    original = body.decode("utf-8", "replace")
    kind = "server" if status >= 500 else "client"
    return {"ErrorCode": f"{kind.upper()}_ERROR_FROM_MODEL",
            "Message": f"Received {kind} error ({status}) from {CONTAINER} with message \"{original}\". "
                       "See the local endpoint's console output for more information.",
            "OriginalStatusCode": status, "OriginalMessage": original, "LogStreamArn": _log_stream(endpoint)}


def timed_out(endpoint: str) -> dict[str, Any]:
    """The runtime's ModelError when the container has not answered within the time limit."""
    return {"ErrorCode": "SERVER_ERROR_FROM_MODEL",
            "Message": f"Received server error (0) from {CONTAINER} with message \"{TIMED_OUT}\". "
                       "See the local endpoint's console output for more information.",
            "OriginalStatusCode": 0, "OriginalMessage": TIMED_OUT, "LogStreamArn": _log_stream(endpoint)}
