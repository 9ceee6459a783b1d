"""Constants of the Plate Recognizer integration."""

from __future__ import annotations

from datetime import timedelta
from typing import Final

DOMAIN: Final = "plate_recognizer"

# Config entry data.
CONF_MODE: Final = "mode"
CONF_API_URL: Final = "api_url"
CONF_TOKEN: Final = "token"  # noqa: S105 - a key name, not a secret
MODE_CLOUD: Final = "cloud"
MODE_LOCAL: Final = "local"

# Options.
CONF_REGIONS: Final = "regions"
CONF_MMC: Final = "mmc"
CONF_HOLD_TIME: Final = "hold_time"
CONF_LOOKUPS_PER_SECOND: Final = "lookups_per_second"
CONF_WATCHLIST: Final = "watchlist"
CONF_ENGINE: Final = "engine"
CONF_DETECTION_RULE_STRICT: Final = "detection_rule_strict"
CONF_VEHICLE_MODE: Final = "vehicle_mode"
CONF_REGION_STRICT: Final = "region_strict"
CONF_THRESHOLD_D: Final = "threshold_d"
CONF_THRESHOLD_O: Final = "threshold_o"
CONF_FAST_MODE: Final = "fast_mode"
CONF_TEXT_FORMATS: Final = "text_formats"

# Watch-list entries.
CONF_NAME: Final = "name"
CONF_PLATE: Final = "plate"
CONF_TOLERANCE: Final = "tolerance"
CONF_TAGS: Final = "tags"

# Camera subentries.
SUBENTRY_CAMERA: Final = "camera"
CONF_CAMERA: Final = "camera_entity"
CONF_TRIGGER: Final = "trigger"
CONF_TRIGGER_ENTITY: Final = "trigger_entity"
CONF_FRIGATE_CAMERA: Final = "frigate_camera"
# Frigate's own plate reads (0.16+ LPR): platereader/frigate_policy.py.
CONF_FRIGATE_LPR: Final = "frigate_lpr"  # "auto" | "on" | "off"
CONF_FRIGATE_LPR_MIN_SCORE: Final = "frigate_lpr_min_score"
CONF_FRIGATE_LPR_WAIT: Final = "frigate_lpr_wait"
CONF_FRIGATE_LPR_CONFIRM: Final = "frigate_lpr_confirm_watched"
TRIGGER_ENTITY: Final = "entity"
TRIGGER_FRIGATE: Final = "frigate"
TRIGGER_MANUAL: Final = "manual"
TRIGGERS: Final = (TRIGGER_ENTITY, TRIGGER_FRIGATE, TRIGGER_MANUAL)

DEFAULT_HOLD_TIME: Final = 120  # seconds
# The cloud Free plan allows 1 lookup/s; a subscription 8/s.
DEFAULT_LOOKUPS_PER_SECOND: Final = 1.0
# Watch-list entries match exactly or through OCR look-alikes unless the user
# forgives real characters (platereader/watchlist.py).
DEFAULT_TOLERANCE: Final = 0

# Cloud statistics cost nothing but change slowly; the on-premise /info/ is local.
CLOUD_SCAN_INTERVAL: Final = timedelta(minutes=30)
LOCAL_SCAN_INTERVAL: Final = timedelta(minutes=5)

# Frigate publishes every tracked object's life cycle here.
FRIGATE_TOPIC: Final = "frigate/events"
FRIGATE_LPR_TOPIC: Final = "frigate/tracked_object_update"
# One Frigate event sends many updates: read a car at most this many times (each
# when Frigate has a better view of it; platereader/frigate_tracker.py).
FRIGATE_MAX_READS: Final = 3

# Events: the bus event and the event entity's types.
EVENT_PLATE_DETECTED: Final = "plate_recognizer_plate_detected"
EVENT_TYPE_DETECTED: Final = "plate_detected"
EVENT_TYPE_WATCHED: Final = "watched_plate"
EVENT_TYPE_UNKNOWN: Final = "unknown_plate"
EVENT_TYPES: Final = [EVENT_TYPE_DETECTED, EVENT_TYPE_WATCHED, EVENT_TYPE_UNKNOWN]

SERVICE_READ_PLATE: Final = "read_plate"
ATTR_CAMERA: Final = "camera"
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
ATTR_REGIONS: Final = "regions"
ATTR_MMC: Final = "mmc"
ATTR_CONFIG: Final = "config"

ISSUE_NO_CREDITS: Final = "no_credits"
