"""Endpoints and defaults of the Plate Recognizer Snapshot API."""

from __future__ import annotations

from typing import Final

CLOUD_URL: Final = "https://api.platerecognizer.com"
ONPREM_DEFAULT_URL: Final = "http://localhost:8080"

PATH_READ: Final = "/v1/plate-reader/"
PATH_STATISTICS: Final = "/v1/statistics/"
PATH_INFO: Final = "/info/"

# Lookups per second the cloud allows (reference, error 429).
FREE_PLAN_RATE: Final = 1.0
SUBSCRIPTION_RATE: Final = 8.0

# Uploads above this are shrunk before they are sent (and after a 413).
DEFAULT_MAX_UPLOAD_BYTES: Final = 3 * 1024 * 1024
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_RETRIES: Final = 3
