"""The import screens: upload → validation report → column mapping with a preview → import.

An upload is kept in the app's own private folder (outside every served
folder), under a name the app makes: a random id for the folder, the file's
letters and digits for its stem, and the suffix its bytes were sniffed as.
Nothing of the request but those letters reaches the file system; the upload
is never executed, only read by the readers of ``io``. The id in the next
step's address is only looked up in the app's table of uploads.
"""

from __future__ import annotations

import secrets

from matcher.core.errors import CoopmatchError
from matcher.io.loading import load
from matcher.io.readers import read_profiles
from matcher.normalize.schema import FUNDER_FIELDS, HISTORY_FIELDS, PROJECT_FIELDS
from matcher.web.common import Refused, discard_upload, render
from matcher.web.security import sniff

KINDS = {"projects": PROJECT_FIELDS, "funders": FUNDER_FIELDS, "history": HISTORY_FIELDS}
KIND_LABELS = {"projects": "projets", "funders": "financeurs", "history": "historique des aides"}
SHOWN_PROBLEMS = 200
PREVIEW = 5


async def store_upload(app, form, user) -> str:
    kind = form.get("kind")
    if kind not in KINDS:
        raise Refused(422, f"kind is one of {', '.join(KINDS)}")
    upload = form.get("file")
    if upload is None or isinstance(upload, str) or not getattr(upload, "filename", None):
        raise Refused(422, "choose a file to upload")
    head = await upload.read(65536)
    name = str(upload.filename).replace("\\", "/").rsplit("/", 1)[-1]
    declared = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    suffix = sniff(head, declared)
    if suffix is None:
        raise Refused(422, "this file is not CSV, XLSX, JSON, JSON Lines or YAML (its bytes say otherwise)")
    stem = "".join(c for c in name.split(".", 1)[0] if c.isascii() and (c.isalnum() or c in "-_"))[:60] or "fichier"
    upload_id = secrets.token_urlsafe(16)
    folder = app.state.uploads_root / secrets.token_hex(16)
    folder.mkdir(mode=0o700)
    path = folder / f"{stem}{suffix}"
    with path.open("wb") as handle:
        handle.write(head)
        while chunk := await upload.read(1 << 20):
            handle.write(chunk)
    with app.state.uploads_lock:
        app.state.uploads[upload_id] = {"kind": kind, "path": path, "folder": folder, "user": user.name,
                                        "name": path.name}
    return upload_id


def _entry(request, upload_id: str, user) -> dict:
    entry = request.app.state.uploads.get(upload_id)
    if entry is None or (entry["user"] != user.name and not user.can("admin")):
        raise Refused(404, "no such upload (it was imported, cancelled, or the server restarted): upload it again")
    return entry


def _forced(form, columns: list[str], fields) -> dict[str, str]:
    """Field -> column from the mapping screen's selects (``col<i>`` = field)."""
    forced: dict[str, str] = {}
    for i, column in enumerate(columns):
        value = form.get(f"col{i}") if form is not None else None
        if isinstance(value, str) and value in fields:
            if value in forced:
                raise Refused(422, f"the field '{value}' is chosen for two columns: '{forced[value]}' and '{column}'")
            forced[value] = column
    return forced


def _analyse(request, entry: dict, form):
    service = request.app.state.service
    kind, path = entry["kind"], entry["path"]
    fields = KINDS[kind]
    try:
        raw = read_profiles(path, kind=kind)
    except CoopmatchError as err:
        raise Refused(422, str(err)) from None
    columns = [str(c) for c in raw.frame.columns]
    forced = _forced(form, columns, fields) if form is not None else service.saved_mapping(kind, columns)
    forced = {f: c for f, c in forced.items() if c in columns}
    try:
        normalized = load(kind, path, forced=forced or None)
    except CoopmatchError as err:
        raise Refused(422, str(err)) from None
    mapping = normalized.mapping
    by_column = dict(mapping.mapping) if mapping is not None else {}
    unmapped = set(mapping.unmapped) | {c for c, _ in mapping.ambiguous} if mapping is not None else set()
    rows = []
    for i, column in enumerate(columns):
        field = by_column.get(column)
        raw_values = [str(v) for v in raw.frame[column].tolist() if v not in (None, "")][:PREVIEW]
        parsed = []
        if field and field in normalized.frame.columns:
            parsed = [_shown(v) for v in normalized.frame[field].tolist()[:PREVIEW]]
        method = "forced" if column in forced.values() else (mapping.method.get(column) if mapping else None)
        rows.append({"index": i, "column": column, "field": field, "method": method, "raw": raw_values,
                     "parsed": parsed, "choose": column in unmapped or column in forced.values()})
    return normalized, rows, forced, fields


def _shown(value) -> str:
    from matcher.core.missing import is_missing

    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return "—" if is_missing(value) else str(value)


def preview_import(request, upload_id: str, auth, chosen):
    entry = _entry(request, upload_id, auth[0])
    normalized, rows, forced, fields = _analyse(request, entry, chosen)
    problems = [p for p in normalized.problems][:SHOWN_PROBLEMS]
    return render(request, "import_report.html", auth=auth, title="Rapport de validation", entry=entry,
                  upload_id=upload_id, summary=normalized.summary, problems=problems,
                  more=max(0, len(normalized.problems) - SHOWN_PROBLEMS), rows=rows,
                  fields=[(name, f.help_fr) for name, f in fields.items()], kind_label=KIND_LABELS[entry["kind"]],
                  forced=forced)


def confirm_import(request, upload_id: str, auth, form):
    entry = _entry(request, upload_id, auth[0])
    service = request.app.state.service
    raw = read_profiles(entry["path"], kind=entry["kind"])
    columns = [str(c) for c in raw.frame.columns]
    forced = _forced(form, columns, KINDS[entry["kind"]])
    result = service.ws.import_profiles(entry["kind"], entry["path"], mapping=forced or None)
    service.touch()
    if forced:
        service.save_mapping(entry["kind"], columns, forced)
    discard_upload(request.app, upload_id)
    normalized = result.normalized
    return render(request, "import_done.html", auth=auth, title="Import terminé", result=result, entry=entry,
                  summary=normalized.summary if normalized is not None else None,
                  kind_label=KIND_LABELS[entry["kind"]])
