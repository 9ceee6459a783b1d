"""The `config` field of a lookup: bounded, and as tolerant as the SDK of what clients send.

`platereader.EngineConfig` checks the keys; before it, this module:

- bounds the text (`MAX_CONFIG_CHARS`) and its nesting (`MAX_CONFIG_DEPTH`) before
  parsing, so deep JSON is a 400 and not a RecursionError;
- drops keys the engine does not know and returns their names (the server logs them,
  capped), as the SDK ignores them;
- treats "off" spellings of the option keys as not set: a popular Home Assistant
  integration sends ``{"detection_rule": "False", "region": "False"}`` when its
  options are off, and ``"detection_mode": "plate"`` is the documented default;
- checks `text_formats` against the engine's limits and RE2 (plate_engine.patterns).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from platereader import EngineConfig, PlateReaderConfigError

from .patterns import TextFormatError, check_text_formats
from .responses import bad_request

MAX_CONFIG_CHARS: Final = 16 * 1024
MAX_CONFIG_DEPTH: Final = 8  # the deepest valid config is 2 ({"text_formats": [...]})
MAX_NAME_CHARS: Final = 64  # an unknown key's name, as logged
MAX_IGNORED: Final = 8  # unknown key names kept per request (the rest are counted)

_KNOWN: Final = frozenset(EngineConfig.model_fields)
_OPTIONS: Final = ("detection_rule", "detection_mode", "region", "mode")
_OFF: Final = frozenset({"", "false", "none", "null", "off", "no", "0"})


@dataclass(frozen=True, slots=True)
class ParsedConfig:
    config: EngineConfig | None
    ignored: tuple[str, ...]  # unknown keys (at most MAX_IGNORED, each cut to MAX_NAME_CHARS)
    more_ignored: int = 0  # unknown keys beyond those


def short_name(name: str) -> str:
    """A client-chosen name cut for the log."""
    return name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS - 1] + "…"


def _depth(text: str) -> int:
    """The deepest nesting of [ and { outside strings (a scan: no recursion)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _is_off(value: object) -> bool:
    if value is None or value is False:
        return True
    return isinstance(value, str) and value.strip().lower() in _OFF


def parse_config(text: str) -> ParsedConfig:
    """Check the field; raise HttpError(400) naming the problem."""
    if len(text) > MAX_CONFIG_CHARS:
        raise bad_request(f"field 'config' is longer than {MAX_CONFIG_CHARS} characters")
    if _depth(text) > MAX_CONFIG_DEPTH:
        raise bad_request(f"field 'config' is nested more than {MAX_CONFIG_DEPTH} levels deep")
    try:
        raw = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as err:
        raise bad_request(f"field 'config' is not valid JSON ({err})") from None
    if not isinstance(raw, dict):
        raise bad_request(f"field 'config': must be a JSON object, not {type(raw).__name__}")
    unknown = [key for key in raw if key not in _KNOWN]
    kept = {
        key: value
        for key, value in raw.items()
        if key in _KNOWN and not (key in _OPTIONS and _is_off(value))
    }
    if kept.get("detection_mode") == "plate":
        del kept["detection_mode"]  # the documented default, sent explicitly
    formats = kept.get("text_formats")
    if isinstance(formats, list) and all(isinstance(f, str) for f in formats):
        try:
            check_text_formats(formats)
        except TextFormatError as err:
            raise bad_request(f"field 'config' key 'text_formats': {err}") from None
    try:
        config = EngineConfig.parse(kept) if kept else None
    except PlateReaderConfigError as err:
        raise bad_request(f"field 'config': {err}") from None
    names = tuple(short_name(key) for key in unknown[:MAX_IGNORED])
    return ParsedConfig(config, names, max(0, len(unknown) - MAX_IGNORED))
