"""The watch list: view, add, edit, remove (through `WatchListStore`, in a thread).

Every write is a POST (the CSRF check is in `security`); a success redirects to the
list (reloading does not repeat it), a refusal shows the list again with the message
and the values typed, and changes nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from urllib.parse import quote, urlencode

from aiohttp import web
from pydantic import ValidationError

from bridge.config import WatchEntryConfig
from bridge.watchlist_store import WatchListError
from platereader.watchlist import normalize_plate

from .context import WebContext, context
from .html import Markup, html_response, join, page, render
from .security import CSRF_FIELD

_LOGGER = logging.getLogger(__name__)

MAX_NAME = 100
MAX_PLATE = 32
MAX_TAGS = 200  # the tags field, comma-separated
ENTRIES_SHOWN = 200  # a page of the list (about 90 KB)
FIND_FROM = 20  # a Find box above lists longer than this
TOLERANCES = {
    0: "0 — exact, or OCR look-alikes only (O/0, I/1, B/8, S/5, Z/2, D/0, G/6)",
    1: "1 — also any one other character: a neighbour's car may match",
    2: "2 — also two other characters: many plates may match",
}
DONE = {"added": "Added", "updated": "Saved", "removed": "Removed"}


def _entry_row(entry: WatchEntryConfig) -> Markup:
    # Edit and Remove are links to this page (GET): Remove first asks (`_confirm_remove`).
    return render(
        '<tr class="entry" data-plate="{plate}"><td class="name">{name}</td>'
        '<td class="plate">{plate}</td><td class="owner">{owner}</td>'
        '<td class="tags">{tags}</td><td class="tolerance">{tolerance}</td><td class="actions">'
        '<a class="button" href="watchlist?edit={link}">Edit</a> '
        '<a class="button danger" href="watchlist?remove={link}">Remove</a></td></tr>',
        plate=entry.plate,
        link=quote(entry.plate, safe=""),
        name=entry.name,
        owner=entry.owner or "",
        tags=", ".join(entry.tags),
        tolerance=TOLERANCES.get(entry.tolerance, str(entry.tolerance)),
    )


def _confirm_remove(entry: WatchEntryConfig, csrf: str) -> Markup:
    """The question before a removal: a click on Remove alone changes nothing."""
    return render(
        '<form id="remove-entry" class="confirm" method="post" action="watchlist">'
        '<input type="hidden" name="{field}" value="{csrf}">'
        '<input type="hidden" name="action" value="remove">'
        '<input type="hidden" name="original" value="{plate}">'
        "<p>Remove <strong>{name}</strong> ({plate}) from the watch list? Its next read "
        "will be an unknown plate.</p>"
        '<button type="submit" class="danger">Remove {plate}</button> '
        '<a href="watchlist">Cancel</a></form>',
        field=CSRF_FIELD,
        csrf=csrf,
        plate=entry.plate,
        name=entry.name,
    )


def _entry_form(
    form_id: str, action: str, button: str, values: Mapping[str, str], csrf: str
) -> Markup:
    chosen = values.get("tolerance", "0")
    options = join(
        render(
            '<option value="{value}"{selected}>{label}</option>',
            value=value,
            label=label,
            selected=Markup(" selected" if str(value) == chosen else ""),
        )
        for value, label in TOLERANCES.items()
    )
    return render(
        '<form id="{form_id}" class="entry-form" method="post" action="watchlist">'
        '<input type="hidden" name="{field}" value="{csrf}">'
        '<input type="hidden" name="action" value="{action}">'
        '<input type="hidden" name="original" value="{original}">'
        '<label>Name <input name="name" value="{name}" required maxlength="{max_name}"></label>'
        '<label>Plate <input name="plate" value="{plate}" required maxlength="{max_plate}"></label>'
        '<label>Owner <input name="owner" value="{owner}" maxlength="{max_name}"></label>'
        '<label>Tags <input name="tags" value="{tags}" maxlength="{max_tags}" '
        'placeholder="family, gate"></label>'
        '<label>Tolerance <select name="tolerance">{options}</select></label>'
        '<button type="submit">{button}</button></form>',
        form_id=form_id,
        field=CSRF_FIELD,
        csrf=csrf,
        action=action,
        original=values.get("original", ""),
        name=values.get("name", ""),
        plate=values.get("plate", ""),
        owner=values.get("owner", ""),
        tags=values.get("tags", ""),
        options=options,
        button=button,
        max_name=MAX_NAME,
        max_plate=MAX_PLATE,
        max_tags=MAX_TAGS,
    )


def _values(entry: WatchEntryConfig) -> dict[str, str]:
    return {
        "original": entry.plate,
        "name": entry.name,
        "plate": entry.plate,
        "owner": entry.owner or "",
        "tags": ", ".join(entry.tags),
        "tolerance": str(entry.tolerance),
    }


def _find(ctx: WebContext, plate: str) -> WatchEntryConfig | None:
    key = normalize_plate(plate)
    return next((e for e in ctx.store.entries if normalize_plate(e.plate) == key), None)


def _listing(entries: Sequence[WatchEntryConfig], find: str, number: int) -> Markup:
    """The entries (those `find` names), ENTRIES_SHOWN a page: a list of thousands
    stays a page of a few dozen KB."""
    if not entries:
        return Markup(
            '<table id="watchlist"><tbody></tbody></table><p>The watch list is empty.</p>'
        )
    wanted, key = find.casefold(), normalize_plate(find)
    found = [
        entry
        for entry in entries
        if not find
        or (key and key in normalize_plate(entry.plate))
        or wanted in entry.name.casefold()
        or wanted in (entry.owner or "").casefold()
    ]
    pages = max(1, -(-len(found) // ENTRIES_SHOWN))
    number = min(max(number, 1), pages)
    shown = found[(number - 1) * ENTRIES_SHOWN : number * ENTRIES_SHOWN]
    links = []
    for label, target in (("Previous", number - 1), ("Next", number + 1)):
        if 1 <= target <= pages:
            query = urlencode({"find": find, "page": target} if find else {"page": target})
            links.append(
                render('<a href="watchlist?{query}">{label}</a>', query=query, label=label)
            )
    finder = Markup("")
    if find or len(entries) > FIND_FROM:
        finder = render(
            '<form id="find" class="search" method="get" action="watchlist">'
            '<label>Find <input name="find" value="{find}" maxlength="{max_name}" '
            'placeholder="plate, name or owner"></label><button type="submit">Find</button>'
            "</form>",
            find=find,
            max_name=MAX_NAME,
        )
    return render(
        '{finder}<table id="watchlist"><thead><tr><th>Name</th><th>Plate</th><th>Owner</th>'
        "<th>Tags</th><th>Tolerance</th><th></th></tr></thead><tbody>{rows}</tbody></table>"
        '<p class="count">{count} of {total} entries{page}. {links}</p>',
        finder=finder,
        rows=join(_entry_row(entry) for entry in shown),
        count=len(shown),
        total=len(entries),
        page=f", page {number} of {pages}" if pages > 1 else "",
        links=Markup(" ".join(links)),
    )


def render_page(
    ctx: WebContext,
    *,
    message: str | None = None,
    error: bool = False,
    add: Mapping[str, str] | None = None,
    edit: Mapping[str, str] | None = None,
    remove: WatchEntryConfig | None = None,
    find: str = "",
    number: int = 1,
    status: int = 200,
) -> web.Response:
    csrf = ctx.guard.csrf
    entries = ctx.store.entries
    explain = join(render("<li>{text}</li>", text=text) for text in TOLERANCES.values())
    parts = [_listing(entries, find, number)]
    if remove is not None:
        parts.insert(0, _confirm_remove(remove, csrf))
    if edit is not None:
        parts.append(render("<h2>Edit {plate}</h2>", plate=edit.get("original", "")))
        parts.append(_entry_form("edit-entry", "update", "Save", edit, csrf))
    parts.append(Markup("<h2>Add an entry</h2>"))
    parts.append(_entry_form("add-entry", "add", "Add", add or {}, csrf))
    parts.append(
        render(
            '<h3>Tolerance</h3><ul class="explain">{explain}</ul>'
            "<p>Changes apply to the next read and are kept in watchlist.yaml in the "
            "bridge's storage folder.</p>",
            explain=explain,
        )
    )
    return html_response(
        page(
            "Watch list",
            join(parts),
            page_name="watchlist",
            csrf=csrf,
            message=message,
            error=error,
        ),
        status,
    )


async def watchlist(request: web.Request) -> web.Response:
    ctx = context(request)
    message = None
    done = request.query.get("done")
    plate = request.query.get("plate", "")[:MAX_PLATE]
    if done in DONE and plate:
        message = f"{DONE[done]} {plate}."
    # `?edit=PLATE` opens the entry's form, `?remove=PLATE` asks before removing it.
    chosen: dict[str, WatchEntryConfig | None] = {}
    for action in ("edit", "remove"):
        plate_asked = request.query.get(action, "")[:MAX_PLATE]
        chosen[action] = _find(ctx, plate_asked) if plate_asked else None
        if plate_asked and chosen[action] is None:
            return render_page(
                ctx, message=f"{plate_asked} is not on the watch list.", error=True, status=404
            )
    edit = _values(chosen["edit"]) if chosen["edit"] is not None else None
    remove = chosen["remove"]
    find = request.query.get("find", "").strip()[:MAX_NAME]
    number = request.query.get("page", "1")
    return render_page(
        ctx,
        message=message,
        edit=edit,
        remove=remove,
        find=find,
        number=int(number) if number.isdigit() and len(number) < 6 else 1,
    )


class FormError(ValueError):
    """A form value the store would refuse anyway; the message is shown as is."""


def _field(form: Mapping[str, object], name: str, limit: int) -> str:
    value = form.get(name, "")
    if not isinstance(value, str):
        raise FormError(f"{name}: must be text")
    value = value.strip()
    if len(value) > limit:
        raise FormError(f"{name}: at most {limit} characters")
    return value


def entry_from_form(values: Mapping[str, str]) -> WatchEntryConfig:
    if values["tolerance"] not in ("0", "1", "2"):
        raise FormError("tolerance: choose 0, 1 or 2")
    tags = [tag.strip() for tag in values["tags"].split(",") if tag.strip()]
    try:
        return WatchEntryConfig(
            name=values["name"],
            plate=values["plate"],
            owner=values["owner"] or None,
            tags=tags,
            tolerance=int(values["tolerance"]),
        )
    except ValidationError as err:
        problems = []
        for problem in err.errors():
            where = ".".join(str(part) for part in problem["loc"])
            text = str(problem["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: {text}" if where else text)
        raise FormError("; ".join(problems)) from None


async def change(request: web.Request) -> web.StreamResponse:
    """POST: add, update or remove one entry."""
    ctx = context(request)
    form = await request.post()
    values: dict[str, str] = {}
    action = ""
    try:
        action = _field(form, "action", 10)
        values["original"] = _field(form, "original", MAX_PLATE)
        if action == "remove":
            if not values["original"]:
                raise FormError("which plate to remove?")
            await asyncio.to_thread(ctx.store.remove, values["original"])
            return _done("removed", values["original"])
        if action not in ("add", "update"):
            raise FormError("unknown action")
        values["name"] = _field(form, "name", MAX_NAME)
        values["plate"] = _field(form, "plate", MAX_PLATE)
        values["owner"] = _field(form, "owner", MAX_NAME)
        values["tags"] = _field(form, "tags", MAX_TAGS)
        values["tolerance"] = _field(form, "tolerance", 1) or "0"
        entry = entry_from_form(values)
        if action == "add":
            await asyncio.to_thread(ctx.store.add, entry)
            return _done("added", entry.plate)
        if not values["original"]:
            raise FormError("which plate to edit?")
        await asyncio.to_thread(ctx.store.update, values["original"], entry)
        return _done("updated", entry.plate)
    except (FormError, WatchListError) as err:
        # The form again, with the message and what was typed (200: the page is fine).
        if action == "update":
            return render_page(ctx, message=str(err), error=True, edit=values)
        if action == "add":
            return render_page(ctx, message=str(err), error=True, add=values)
        return render_page(ctx, message=str(err), error=True)
    except OSError as err:
        _LOGGER.error("web page: cannot write the watch list: %s", err)
        return render_page(
            ctx, message=f"The watch list could not be written: {err}", error=True, status=503
        )


def _done(what: str, plate: str) -> web.Response:
    # Relative to /watchlist: the list again, whatever prefix the page is served under.
    query = urlencode({"done": what, "plate": normalize_plate(plate)[:MAX_PLATE]})
    return web.Response(status=303, headers={"Location": f"watchlist?{query}"})
