"""The errors `PlateReader` raises. Messages never contain the API token."""

from __future__ import annotations


class PlateReaderError(Exception):
    """Base class of every error raised by platereader."""


class PlateReaderConfigError(PlateReaderError, ValueError):
    """Invalid arguments (engine config, regions, image) detected before any request."""


class PlateReaderImageError(PlateReaderConfigError):
    """The image cannot be read, decoded or shrunk to the upload limit."""


class PlateReaderConnectionError(PlateReaderError):
    """The server could not be reached (DNS, refused, reset, TLS)."""


class PlateReaderTimeoutError(PlateReaderConnectionError):
    """The server did not answer in time."""


class PlateReaderResponseError(PlateReaderError):
    """The server answered something that is not the documented shape."""


class PlateReaderHTTPError(PlateReaderError):
    """The server answered with an HTTP error status."""

    def __init__(self, message: str, *, status: int, detail: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class PlateReaderBadRequestError(PlateReaderHTTPError):
    """400 and other 4xx: the server refused the request as malformed."""


class PlateReaderForbiddenError(PlateReaderHTTPError):
    """403: the API key is wrong, or the account has no credits left."""


class PlateReaderAuthenticationError(PlateReaderForbiddenError):
    """403 because the API key is missing or wrong."""


class PlateReaderNoCreditsError(PlateReaderForbiddenError):
    """403 because the account has used up its lookups for the period."""


class PlateReaderPayloadTooLargeError(PlateReaderHTTPError):
    """413: the upload is larger than the server accepts."""


class PlateReaderRateLimitError(PlateReaderHTTPError):
    """429: too many lookups per second; `retry_after` is the server's hint in seconds."""

    def __init__(
        self, message: str, *, status: int = 429, detail: str | None = None, retry_after: float
    ) -> None:
        super().__init__(message, status=status, detail=detail)
        self.retry_after = retry_after


class PlateReaderServerError(PlateReaderHTTPError):
    """5xx: the server failed."""
