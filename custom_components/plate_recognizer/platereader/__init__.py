"""platereader: a small, typed async client for the Plate Recognizer Snapshot API.

It imports nothing from Home Assistant: the integration, the MQTT bridge and
the command line all use this one copy.
"""

from .client import PlateReader
from .config import (
    REGION_CODE,
    EngineConfig,
    is_region_code,
    normalize_regions,
    require_regions,
)
from .const import CLOUD_URL, FREE_PLAN_RATE, ONPREM_DEFAULT_URL, SUBSCRIPTION_RATE
from .exceptions import (
    PlateReaderAuthenticationError,
    PlateReaderBadRequestError,
    PlateReaderConfigError,
    PlateReaderConnectionError,
    PlateReaderError,
    PlateReaderForbiddenError,
    PlateReaderHTTPError,
    PlateReaderImageError,
    PlateReaderNoCreditsError,
    PlateReaderPayloadTooLargeError,
    PlateReaderRateLimitError,
    PlateReaderResponseError,
    PlateReaderServerError,
    PlateReaderTimeoutError,
)
from .models import (
    Box,
    Candidate,
    MakeModel,
    PlateResult,
    Prediction,
    ReadResponse,
    Region,
    ServerInfo,
    Statistics,
    Usage,
    Vehicle,
)
from .ratelimit import RateLimiter

__version__ = "0.1.0"

__all__ = [
    "CLOUD_URL",
    "FREE_PLAN_RATE",
    "ONPREM_DEFAULT_URL",
    "REGION_CODE",
    "SUBSCRIPTION_RATE",
    "Box",
    "Candidate",
    "EngineConfig",
    "MakeModel",
    "PlateReader",
    "PlateReaderAuthenticationError",
    "PlateReaderBadRequestError",
    "PlateReaderConfigError",
    "PlateReaderConnectionError",
    "PlateReaderError",
    "PlateReaderForbiddenError",
    "PlateReaderHTTPError",
    "PlateReaderImageError",
    "PlateReaderNoCreditsError",
    "PlateReaderPayloadTooLargeError",
    "PlateReaderRateLimitError",
    "PlateReaderResponseError",
    "PlateReaderServerError",
    "PlateReaderTimeoutError",
    "PlateResult",
    "Prediction",
    "RateLimiter",
    "ReadResponse",
    "Region",
    "ServerInfo",
    "Statistics",
    "Usage",
    "Vehicle",
    "is_region_code",
    "normalize_regions",
    "require_regions",
]
