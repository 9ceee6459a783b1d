"""What the fake remembers about each request to the recognition endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

type UploadKind = Literal["multipart-file", "base64", "url"]


@dataclass(slots=True)
class RecordedRequest:
    """One request to ``/v1/plate-reader/``, parsed as far as it could be.

    The record is appended to ``FakePlateRecognizer.requests`` as soon as the request
    arrives, then filled in: a request rejected with 400 keeps what was parsed before the
    problem and says why in ``error``, so a test can assert both on what the client sent
    and on how the fake judged it.

    Attributes:
        method, path: as received (``path`` keeps or lacks its trailing slash).
        headers: request headers, names lower-cased (the last value wins on repeats).
        token: ``<t>`` from ``Authorization: Token <t>``; None when the header is absent or
            not of that form.
        content_type: media type of the request body, e.g. ``"multipart/form-data"``
            (parameters such as the boundary stripped); None when absent.
        query: the raw query string (the fake rejects any on POST).
        body_size: bytes in the request body.
        fields: names of the form fields in the order they were sent (repeats kept).
        upload: image bytes, from a multipart file part or decoded from a base64 text
            field; None for ``upload_url``.
        upload_kind: ``"multipart-file"``, ``"base64"`` or ``"url"``.
        upload_url: the URL given instead of an upload (never fetched).
        filename: the file part's filename (basename), or the last segment of
            ``upload_url``; None for base64.
        upload_content_type: the file part's own ``Content-Type`` header, if any.
        regions: every ``regions`` field, in order.
        camera_id, timestamp: as sent (strings).
        mmc: the ``mmc`` field as a bool; None when absent.
        config: the ``config`` field parsed; None when absent.
        received_at: ``time.time()`` on arrival.
        fault: the scripted fault applied to this request (e.g. ``"500"``, ``"drop"``).
        status: status answered; None while in flight, or when no response was sent
            (dropped or hung connection).
        error: why the request was rejected (the 400 message, or the responder's
            exception for a 500).
        response: the JSON body of a 200 answer.
    """

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    content_type: str | None = None
    query: str = ""
    body_size: int = 0
    fields: list[str] = field(default_factory=list)
    upload: bytes | None = field(default=None, repr=False)  # images swamp test output
    upload_kind: UploadKind | None = None
    upload_url: str | None = None
    filename: str | None = None
    upload_content_type: str | None = None
    regions: list[str] = field(default_factory=list)
    camera_id: str | None = None
    timestamp: str | None = None
    mmc: bool | None = None
    config: dict[str, Any] | None = None
    received_at: float = 0.0
    fault: str | None = None
    status: int | None = None
    error: str | None = None
    response: dict[str, Any] | None = field(default=None, repr=False)
