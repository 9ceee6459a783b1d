"""The history search and the page of one plate (`bridge.history_search`, in a thread)."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from bridge.history import parse_since
from bridge.history_search import HistoryRead, PlateSummary, Search, cameras, plate_summary, search
from platereader.watchlist import normalize_plate

from .context import HistoryBusy, WebContext, context, history_threads
from .html import Markup, clip, html_response, join, page, render, segment
from .live import describe_vehicle
from .pages_live import score_text, when

_LOGGER = logging.getLogger(__name__)

PAGE_SIZE = 50
MAX_PLATE = 32
MAX_CAMERA = 64
MAX_TIME = 40
_EMPTY = "No reads recorded yet: the history starts with the first plate read."
FIELDS = ("plate", "camera", "since", "until", "watched", "tolerance")


class InputError(ValueError):
    """A search field the page cannot use; the message is shown as is."""


@dataclass(slots=True)
class SearchForm:
    values: dict[str, str] = field(default_factory=dict)  # as typed, shown back in the form
    search: Search = field(default_factory=Search)


def _text(query: Mapping[str, str], name: str, limit: int) -> str:
    value = query.get(name, "").strip()
    if len(value) > limit:
        raise InputError(f"{name}: at most {limit} characters")
    return value


def _time(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        return parse_since(value)
    except ValueError as err:
        raise InputError(f"{name}: {err}") from None


def parse_form(query: Mapping[str, str]) -> SearchForm:
    """The search the query string asks for; `InputError` with a clear message if bad."""
    form = SearchForm()
    values = form.values
    values["plate"] = _text(query, "plate", MAX_PLATE)
    values["camera"] = _text(query, "camera", MAX_CAMERA)
    values["since"] = _text(query, "since", MAX_TIME)
    values["until"] = _text(query, "until", MAX_TIME)
    values["watched"] = "1" if query.get("watched") in ("1", "on", "true") else ""
    values["tolerance"] = _text(query, "tolerance", 1) or "0"
    before = _text(query, "before", MAX_TIME) or None
    if values["tolerance"] not in ("0", "1", "2"):
        raise InputError("tolerance: choose 0, 1 or 2")
    since = _time(values["since"], "since")
    until = _time(values["until"], "until")
    if since is not None and until is not None and since >= until:
        raise InputError("since must be before until")
    form.search = Search(
        plate=values["plate"] or None,
        tolerance=int(values["tolerance"]),
        camera=values["camera"] or None,
        since=since,
        until=until,
        watched_only=bool(values["watched"]),
        limit=PAGE_SIZE,
        before=before,
    )
    return form


def history_note(ctx: WebContext) -> str | None:
    """Why there is nothing to search, if that is the case."""
    if not ctx.config.storage.history:
        return "History is off: set storage.history: true to record every read."
    if not ctx.history_path.exists():
        return _EMPTY
    return None


def _thumbnail(read: HistoryRead, root: str) -> Markup:
    if not read.snapshot:
        return Markup("")
    return render(
        '<a href="{root}picture/{id}"><img class="thumb" src="{root}picture/{id}" '
        'alt="Picture of {plate}" loading="lazy"></a>',
        root=root,
        id=read.id,
        plate=clip(read.plate),
    )


def _vehicle(read: HistoryRead) -> str:
    return describe_vehicle(read.vehicle_type, read.color, read.make, read.model)


def _watch(read: HistoryRead) -> Markup:
    if not read.watchlist_name:
        return Markup('<span class="status">unknown</span>')
    return render(
        '<span class="status watched">watched: {name}</span> <span class="kind">{kind}</span>',
        name=clip(read.watchlist_name),
        kind=read.watchlist_kind or "",
    )


def result_row(read: HistoryRead, root: str = "") -> Markup:
    plate = clip(read.plate)
    return render(
        '<tr class="read{watched}" data-plate="{plate}" data-id="{id}">'
        '<td><time datetime="{time}">{when}</time></td><td class="camera">{camera}</td>'
        '<td class="plate"><a href="{root}plate/{link}">{plate}</a></td>'
        '<td class="score">{score}</td><td>{watch}</td><td class="vehicle">{vehicle}</td>'
        "<td>{thumb}</td></tr>",
        watched=" watched" if read.watchlist_name else "",
        plate=plate,
        id=read.id,
        time=read.time,
        when=when(read.time),
        camera=clip(read.camera),
        root=root,
        link=segment(normalize_plate(plate) or "-"),
        score=score_text(read.score),
        watch=_watch(read),
        vehicle=_vehicle(read),
        thumb=_thumbnail(read, root),
    )


def results_table(reads: list[HistoryRead], root: str = "") -> Markup:
    return render(
        '<table id="results"><thead><tr><th>Time</th><th>Camera</th><th>Plate</th>'
        "<th>Score</th><th>Watch list</th><th>Vehicle</th><th>Picture</th></tr></thead>"
        "<tbody>{rows}</tbody></table>",
        rows=join(result_row(read, root) for read in reads),
    )


_TOLERANCES = (
    ("0", "exact or look-alikes"),
    ("1", "1 other character"),
    ("2", "2 other characters"),
)


def search_form(values: Mapping[str, str], camera_names: list[str]) -> Markup:
    tolerance = join(
        render(
            '<option value="{value}"{selected}>{label}</option>',
            value=value,
            label=label,
            selected=Markup(" selected" if values.get("tolerance", "0") == value else ""),
        )
        for value, label in _TOLERANCES
    )
    options = join(render('<option value="{name}">', name=name) for name in camera_names)
    return render(
        '<form id="search" class="search" method="get" action="history">'
        '<label>Plate <input name="plate" value="{plate}" maxlength="{max_plate}" '
        'placeholder="AB12CDE, AB*"></label>'
        '<label>Tolerance <select name="tolerance">{tolerance}</select></label>'
        '<label>Camera <input name="camera" value="{camera}" list="cameras" '
        'maxlength="{max_camera}"></label><datalist id="cameras">{options}</datalist>'
        '<label>Since <input name="since" value="{since}" maxlength="{max_time}" '
        'placeholder="2h, 7d, 2024-12-06T19:00"></label>'
        '<label>Until <input name="until" value="{until}" maxlength="{max_time}"></label>'
        '<label class="check"><input type="checkbox" name="watched" value="1"{watched}> '
        "watched only</label>"
        '<button type="submit">Search</button></form>',
        plate=values.get("plate", ""),
        camera=values.get("camera", ""),
        since=values.get("since", ""),
        until=values.get("until", ""),
        watched=Markup(" checked" if values.get("watched") else ""),
        tolerance=tolerance,
        options=options,
        max_plate=MAX_PLATE,
        max_camera=MAX_CAMERA,
        max_time=MAX_TIME,
    )


async def history(request: web.Request) -> web.Response:
    ctx = context(request)
    # A bad field shows the form again with its message (200: the page itself is fine).
    message: str | None = None
    status = 200
    reads: list[HistoryRead] = []
    camera_names: list[str] = []
    form = SearchForm()
    try:
        form = parse_form(request.query)
    except InputError as err:
        message = str(err)
        form.values = {name: request.query.get(name, "")[:MAX_TIME] for name in FIELDS}
    note = history_note(ctx)
    if note is None:
        try:
            camera_names = await history_threads(request).run(cameras, ctx.history_path)
            if message is None:
                reads = await history_threads(request).run(search, ctx.history_path, form.search)
        except HistoryBusy as err:
            message, status = str(err), 503
        except ValueError as err:
            message = str(err)
        except sqlite3.Error as err:
            _LOGGER.warning("web page: cannot search the history: %s", err)
            message, status = f"The history cannot be read now: {err}", 503
    error = message is not None
    if note is None and not camera_names and not error:
        note = _EMPTY  # the file exists (the writer made it) but holds no read yet
    if message is None and note is not None:
        message = note
    more = Markup("")
    if len(reads) >= form.search.limit:
        query = {name: value for name, value in form.values.items() if value}
        query["before"] = reads[-1].time
        more = render(
            '<p class="more"><a href="history?{query}">Older reads</a></p>', query=urlencode(query)
        )
    found = render(
        '<p class="count">{count} read{s} shown</p>',
        count=len(reads),
        s="" if len(reads) == 1 else "s",
    )
    body = join((search_form(form.values, camera_names), found, results_table(reads), more))
    return html_response(
        page(
            "History",
            body,
            page_name="history",
            csrf=ctx.guard.csrf,
            message=message,
            error=error,
        ),
        status,
    )


def summary_block(summary: PlateSummary) -> Markup:
    return render(
        '<dl id="summary"><dt>Plate</dt><dd class="plate">{plate}</dd>'
        '<dt>First seen</dt><dd class="first-seen">'
        '<time datetime="{first}">{first_when}</time></dd>'
        '<dt>Last seen</dt><dd class="last-seen">'
        '<time datetime="{last}">{last_when}</time></dd>'
        '<dt>Reads</dt><dd class="count">{count}</dd>'
        '<dt>Cameras</dt><dd class="cameras">{cameras}</dd></dl>',
        plate=summary.plate,
        first=summary.first_seen,
        first_when=when(summary.first_seen),
        last=summary.last_seen,
        last_when=when(summary.last_seen),
        count=summary.count,
        cameras=", ".join(clip(camera) for camera in summary.cameras),
    )


async def plate(request: web.Request) -> web.Response:
    ctx = context(request)
    text = request.match_info["plate"]
    root = "../"
    status, message = 200, None
    summary: PlateSummary | None = None
    plate_text = normalize_plate(text)
    if len(text) > MAX_PLATE or not plate_text:
        status, message = 400, f"A plate is 1 to {MAX_PLATE} letters or digits."
    else:
        message = history_note(ctx)
        if message is None:
            try:
                summary = await history_threads(request).run(
                    plate_summary, ctx.history_path, plate_text
                )
            except HistoryBusy as err:
                status, message = 503, str(err)
            except ValueError as err:
                status, message = 400, str(err)
            except sqlite3.Error as err:
                _LOGGER.warning("web page: cannot read the history: %s", err)
                status, message = 503, f"The history cannot be read now: {err}"
            if summary is None and message is None:
                status, message = 404, f"No reads of {plate_text} in the history."
    body = Markup("")
    if summary is not None:
        body = join(
            (
                summary_block(summary),
                render("<h2>Recent reads</h2>"),
                results_table(list(summary.reads), root),
            )
        )
    title = f"Plate {plate_text}" if plate_text else "Plate"
    return html_response(
        page(
            title,
            body,
            page_name="plate",
            root=root,
            csrf=ctx.guard.csrf,
            message=message,
            error=status != 200,
        ),
        status,
    )
