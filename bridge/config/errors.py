"""The one error a configuration problem raises."""

from __future__ import annotations


class ConfigError(Exception):
    """The configuration file is unusable; `problems` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems
