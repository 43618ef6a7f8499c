"""How the 2.20 container writes a TensorFlow Serving error for the client: as falcon 3.1.0 (the
version docker/tensorflow/inference/2.20/cpu/pyproject.toml pins) serializes the HTTPError
python_service raises.

falcon's default error serializer (app_helpers.default_serialize_error) picks, by the Accept
header (none counts as */*), the best of application/xml, text/xml and application/json, by
quality, then by how specifically a range names the type, then JSON on a tie (its vendored
mimeparse.best_match); a header it cannot parse, or one that names none of the three, falls back
to JSON or XML when the header contains "+json" or "+xml", else the answer has no body. The body
is {"title": "<code> <phrase>", "description": <TF Serving's body>} as JSON (UTF-8 as is), or
<error><title/><description/></error> as XML. Measured against falcon 3.1.0 itself for no Accept,
*/*, application/json, application/xml, text/csv and application/vnd.x+json.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from http import HTTPStatus

JSON = "application/json"
XML = "application/xml"
CANDIDATES = (XML, "text/xml", JSON)  # falcon's order: on equal terms the last one wins


def status_line(code: int) -> str:
    """'404 Not Found'; falcon says 'Unknown' for a code it has no phrase for (e.g. 499)."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return f"{code} Unknown"


def _media_range(text: str) -> tuple[str, str, dict[str, str], float]:
    """'text/*;q=0.5' → ('text', '*', {}, 0.5); ValueError when it is no media range."""
    kind, *params = (part.strip() for part in text.split(";"))
    kind = "*/*" if kind == "*" else kind
    parts = kind.split("/")
    if len(parts) != 2:
        raise ValueError(f"not a media range: {text!r}")
    named = {}
    for p in params:
        key, eq, value = p.partition("=")
        if eq:
            named[key.strip().lower()] = value.strip().strip('"')
    try:
        q = float(named.pop("q", "1"))
    except ValueError:
        q = 1.0
    q = q if 0 <= q <= 1 else 1.0
    return parts[0].strip(), parts[1].strip(), named, q


def _quality_and_fitness(candidate: str, ranges: list[tuple[str, str, dict[str, str], float]]) -> tuple[float, float]:
    """The quality of the range that names `candidate` most specifically, and how specifically."""
    ctype, csub = candidate.split("/")
    best = (0.0, -1.0)
    for rtype, rsub, _, q in ranges:
        if rtype in (ctype, "*") and rsub in (csub, "*"):
            fitness = (100 if rtype == ctype else 0) + (10 if rsub == csub else 0) + 1
            if fitness > best[1]:
                best = (q, fitness)
    return best


def preferred_type(accept: str | None) -> str | None:
    """The media type falcon writes an error in for this Accept header; None: no body."""
    header = accept if accept and accept.strip() else "*/*"  # HTTP servers strip header values
    try:
        ranges = [_media_range(r) for r in header.split(",") if r.strip()]
        scored = max((*_quality_and_fitness(c, ranges), i, c) for i, c in enumerate(CANDIDATES))
        chosen = scored[3] if scored[0] > 0 else None
    except ValueError:
        chosen = None
    if chosen is None:
        low = header.lower()
        chosen = JSON if "+json" in low else XML if "+xml" in low else None
    return chosen


def error_answer(code: int, description: str, accept: str | None) -> tuple[int, bytes, str]:
    """(status, body, content type) of falcon's answer to HTTPError(code, description=...)."""
    title = status_line(code)
    chosen = preferred_type(accept)
    if chosen is None:
        return code, b"", JSON  # falcon's default content type, no body
    if chosen == JSON:
        return code, json.dumps({"title": title, "description": description}, ensure_ascii=False).encode(), JSON
    root = ET.Element("error")
    ET.SubElement(root, "title").text = title
    ET.SubElement(root, "description").text = description
    return code, b'<?xml version="1.0" encoding="UTF-8"?>' + ET.tostring(root, encoding="utf-8"), chosen
