"""From a file to a `BridgeConfig`: YAML, env overrides, validation, messages.

The YAML is parsed once into a node tree: the tree gives each key's line for the
messages, and the same tree is turned into the data that pydantic validates.
`${VAR}` in a value is resolved by the field's type (`bridge.config.types`:
`EnvStr`, `EnvSecret` ...), from the environment given here as the validation
context.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from platereader import CLOUD_URL

from .errors import ConfigError
from .root import BridgeConfig
from .types import ENV_CONTEXT, expand_env

ENV_PREFIX = "PLATE_BRIDGE_"
TOKEN_ENV = "PLATE_RECOGNIZER_TOKEN"  # noqa: S105 - the variable's name, as `read` uses

KeyLines = dict[tuple[str, ...], int]


def load_config(path: str | os.PathLike[str], env: Mapping[str, str] | None = None) -> BridgeConfig:
    """Read, substitute, override and validate; raise `ConfigError` listing every problem."""
    env = os.environ if env is None else env
    name = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError([f"{name}: cannot read: {err.strerror or err}"]) from err
    return parse_config(text, name, env)


def parse_config(text: str, name: str, env: Mapping[str, str]) -> BridgeConfig:
    node, data = parse_yaml(text, name)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{name}: the top level must be a mapping of sections"])
    lines = dict(_key_lines(node, ())) if node is not None else {}
    problems: list[str] = []
    _apply_env_overrides(data, env, problems)
    api = data.get("api")
    if TOKEN_ENV in env and (api is None or (isinstance(api, dict) and not api.get("token"))):
        data.setdefault("api", {})["token"] = env[TOKEN_ENV]
    if problems:
        raise ConfigError(problems)
    problems = _file_checks(data, name, lines, env)
    try:
        config = BridgeConfig.model_validate(data, context={ENV_CONTEXT: env})
    except ValidationError as err:
        raise ConfigError(_describe(err, name, lines) + problems) from None
    if problems:
        raise ConfigError(problems)
    return config


def parse_yaml(text: str, name: str) -> tuple[yaml.Node | None, Any]:
    """The document's node tree and the data built from that same tree (the tree gives
    line numbers); a `ConfigError` naming `name` and the line when it is not YAML."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err)
        raise ConfigError([f"{name}: not valid YAML{where}: {problem}"]) from err
    finally:
        loader.dispose()
    return node, data


def _file_checks(
    data: dict[str, Any], name: str, lines: KeyLines, env: Mapping[str, str]
) -> list[str]:
    """Checks that need the whole file, made even when other keys are invalid."""
    problems = []

    def section(key: str) -> dict[str, Any]:
        value = data.get(key)
        return value if isinstance(value, dict) else {}

    sources = section("sources")
    if not any(sources.get(key) for key in ("frigate", "snapshot_topics", "folders")):
        line = lines.get(("sources",))
        where = f" (line {line})" if line else ""
        problems.append(
            f"{name}: sources: configure at least one of frigate, snapshot_topics, folders{where}"
        )
    api = section("api")

    def resolved(value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return expand_env(value, env)
        except ValueError:
            return "?"  # the field's own validation names the unset variable

    url, token = resolved(api.get("url", CLOUD_URL)), resolved(api.get("token"))
    if str(url).rstrip("/") == CLOUD_URL and not token:
        line = lines.get(("api",))
        where = f" (line {line})" if line else ""
        problems.append(
            f"{name}: api.token: the cloud API needs a token (set PLATE_BRIDGE_API__TOKEN "
            f"or PLATE_RECOGNIZER_TOKEN, or use ${{VAR}} in the file){where}"
        )
    return problems


def _key_lines(node: yaml.Node, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], int]]:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, str(key_node.value))
            yield key, key_node.start_mark.line + 1
            yield from _key_lines(value_node, key)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            key = (*path, str(index))
            yield key, item.start_mark.line + 1
            yield from _key_lines(item, key)


def _apply_env_overrides(data: dict[str, Any], env: Mapping[str, str], problems: list[str]) -> None:
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX) or "__" not in var:
            continue
        keys = [part.lower() for part in var[len(ENV_PREFIX) :].split("__")]
        if any(not key for key in keys):
            problems.append(f"{var}: empty key in the variable name")
            continue
        try:
            value = yaml.safe_load(env[var]) if env[var] else ""
        except yaml.YAMLError:
            value = env[var]
        if keys[-1] in ("token", "password") and value is not None:
            value = env[var]  # secrets are text as given, never numbers
        target = data
        for key in keys[:-1]:
            child = target.get(key)
            if child is None:
                child = target[key] = {}
            if not isinstance(child, dict):
                problems.append(f"{var}: {'.'.join(keys)}: {key} is not a mapping in the file")
                break
            target = child
        else:
            target[keys[-1]] = value


def _describe(err: ValidationError, name: str, lines: KeyLines) -> list[str]:
    problems = []
    for problem in err.errors():
        loc = tuple(str(part) for part in problem["loc"])
        key = ".".join(loc) or "(top level)"
        line = None
        for end in range(len(loc), 0, -1):  # the nearest key that is in the file
            line = lines.get(loc[:end])
            if line is not None:
                break
        where = f" (line {line})" if line is not None else ""
        if problem["type"] == "extra_forbidden":
            message = "unknown key"
        elif problem["type"] == "missing":
            message = "required key is missing"
        else:
            message = problem["msg"]
            message = message.removeprefix("Value error, ")
        problems.append(f"{name}: {key}: {message}{where}")
    return problems
