"""Every text an exception can show (traceback, str, repr, args, attributes, its chain).

The secret tests search these for the token: whatever a log line, a repair or a
diagnostics dump could print of an error is in this list.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator


def chain(err: BaseException) -> Iterator[BaseException]:
    """`err` and every exception reachable from it (cause, context)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [err]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        todo += [item.__cause__, item.__context__]


def texts_of(err: BaseException) -> list[str]:
    texts = ["".join(traceback.format_exception(err))]
    for item in chain(err):
        texts += [str(item), repr(item), repr(item.args), repr(vars(item))]
        texts.append(str(getattr(item, "doc", "")))  # JSONDecodeError keeps the document
    return texts
