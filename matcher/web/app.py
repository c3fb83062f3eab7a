"""The web app: pages for fund staff and project leads, and a JSON API, over one workspace.

Built with FastAPI and Jinja2 (autoescaping on), run by uvicorn. Every asset
(CSS, the report's sort/filter script, the app's script) is served by the app:
nothing comes from the network. The pages embed the HTML report's ranking
table (``matcher.report.html.ranking_section``) so they look like it.

Page addresses are stable: ``/import``, ``/funders/{id}/shortlist?call=&date=``,
``/projects/{id}/funders?date=``, ``/explain?project=&funder=&call=``,
``/changes``. The API is under ``/api/v1`` (schema at ``/api/v1/openapi.json``).
"""

from __future__ import annotations

import hmac
import json
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlencode

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher import STATUSES, DecisionError, WorkspaceError
from matcher.core.resources import DATA_DIR
from matcher.engine import explain as ex
from matcher.report.html import explanation_html, ranking_section, render_html, report_title
from matcher.web import accounts
from matcher.web.security import DEFAULT_MAX_UPLOAD, BodyLimit, SecurityHeaders, is_loopback
from matcher.web.service import Invalid, NotFound, Service, parse_day, text

HERE = Path(__file__).parent
SESSION_COOKIE = "cm_session"
LOGIN_COOKIE = "cm_login"
SEEN_COOKIE = "cm_seen"
MAX_TOP = 5000
STATUS_LABELS = {
    "considered": ("envisagé", "considered"), "applied": ("candidature déposée", "applied"),
    "shortlisted": ("présélectionné", "shortlisted"), "granted": ("accordé", "granted"),
    "refused": ("refusé", "refused"), "withdrawn": ("retiré", "withdrawn"), "dismissed": ("écarté", "dismissed"),
}
ERROR_TITLES = {400: ("Requête invalide", "Bad request"), 401: ("Connexion requise", "Login required"),
                403: ("Accès refusé", "Forbidden"), 404: ("Introuvable", "Not found"),
                405: ("Méthode non permise", "Method not allowed"),
                413: ("Fichier trop volumineux", "Upload too large"),
                422: ("Données refusées", "Unprocessable request"),
                429: ("Trop de tentatives", "Too many attempts"), 500: ("Erreur interne", "Internal error")}


class Refused(HTTPException):
    """An HTTP error with a message for the person (pages) or the program (API)."""


def create_app(ws: str, host: str = "127.0.0.1", max_upload: int = DEFAULT_MAX_UPLOAD, lang: str = "fr",
               secure_cookies: bool = False, upload_dir: str | None = None) -> FastAPI:
    """The app over workspace ``ws``; refused (:class:`WorkspaceError`) on a non-loopback ``host`` without accounts."""
    service = Service(ws, lang)
    if not is_loopback(host) and not accounts.has_users(service.ws):
        service.close()
        raise WorkspaceError(f"refusing to serve {ws} on {host}: it has no accounts, and only a loopback address "
                             f"may run without them. Add one with 'coopmatch workspace user add {ws} NAME "
                             "--role admin', or serve on 127.0.0.1")
    app = FastAPI(title="coopmatch", version=_version(), docs_url=None, redoc_url=None,
                  openapi_url="/api/v1/openapi.json")
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.globals.update(status_label=lambda s, lg: STATUS_LABELS.get(s, (s, s))[0 if lg == "fr" else 1],
                       statuses=STATUSES, format_date=lambda d, lg: ex.format_date(d, lg) if d else "—")
    uploads_root = Path(upload_dir or tempfile.mkdtemp(prefix="coopmatch-uploads-"))
    uploads_root.mkdir(parents=True, exist_ok=True, mode=0o700)
    app.state.service, app.state.env, app.state.lang = service, env, lang
    app.state.local_csrf = secrets.token_urlsafe(32)
    app.state.limiter = accounts.LoginLimiter()
    app.state.uploads, app.state.uploads_root, app.state.uploads_lock = {}, uploads_root, threading.Lock()
    app.state.secure, app.state.max_upload = secure_cookies, max_upload
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    def page(status: int, message: str, request: Request | None = None) -> str:
        lg = lang
        title = ERROR_TITLES.get(status, ERROR_TITLES[500])[0 if lg == "fr" else 1]
        return env.get_template("error.html").render(title=title, status=status, message=message, lang=lg,
                                                     user=None, csrf="", login=status == 401)

    app.state.page = page

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message, "status": exc.status_code}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        return HTMLResponse(page(exc.status_code, message, request), status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": "invalid request", "status": 422, "problems": problems}, status_code=422)
        return HTMLResponse(page(422, "; ".join(problems), request), status_code=422)

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound):
        return await http_error(request, StarletteHTTPException(404, str(exc)))

    @app.exception_handler(Invalid)
    async def invalid(request: Request, exc: Invalid):
        return await http_error(request, StarletteHTTPException(422, str(exc)))

    @app.exception_handler(DecisionError)
    async def refused_decision(request: Request, exc: DecisionError):
        return await http_error(request, StarletteHTTPException(422, str(exc)))

    @app.exception_handler(WorkspaceError)
    async def workspace_error(request: Request, exc: WorkspaceError):
        return await http_error(request, StarletteHTTPException(422, str(exc)))

    from matcher.web import routes

    routes.register(app)
    wrapped = SecurityHeaders(BodyLimit(app, max_upload, page))
    app.state.asgi = wrapped
    return app


def asgi(app: FastAPI):
    """The app wrapped in its security middlewares (what uvicorn and the test client run)."""
    return app.state.asgi


def _version() -> str:
    from matcher import __version__

    return __version__


# --------------------------------------------------------------------------- helpers used by the routes


def render(request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
    app = request.app
    user, csrf = values.pop("auth", (None, ""))
    body = app.state.env.get_template(name).render(lang=app.state.lang, user=user, csrf=csrf,
                                                   local=user is accounts.LOCAL_USER, **values)
    return HTMLResponse(body, status_code=status)


def accounts_on(request: Request) -> bool:
    return accounts.has_users(request.app.state.service.ws)


def who(request: Request) -> tuple[accounts.User, str]:
    """The signed-in user and the session's CSRF token; 401 when nobody is."""
    state = request.app.state
    if not accounts_on(request):
        return accounts.LOCAL_USER, state.local_csrf
    cookie = request.cookies.get(SESSION_COOKIE)
    found = accounts.session_user(state.service.ws, cookie) if cookie else None
    if found is None:
        raise Refused(401, "sign in to see this page (/login)" if state.lang == "en"
                      else "connectez-vous pour voir cette page (/login)")
    return found


def api_user(request: Request) -> accounts.User:
    """The user of an API call: its bearer token (none needed on loopback without accounts)."""
    if not accounts_on(request):
        return accounts.LOCAL_USER
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    user = accounts.token_user(request.app.state.service.ws, token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise Refused(401, "a valid API token is required: Authorization: Bearer <token> "
                           "(coopmatch workspace user token WS NAME)", headers={"WWW-Authenticate": "Bearer"})
    return user


def need(user: accounts.User, role: str) -> None:
    if not user.can(role):
        raise Refused(403, f"the role '{user.role}' may not do this (needs {role})")


def check_csrf(form, csrf: str) -> None:
    given = form.get("csrf")
    if not isinstance(given, str) or not csrf or not hmac.compare_digest(given, csrf):
        raise Refused(403, "missing or wrong CSRF token: reload the page and try again")


def back_to(value, default: str = "/") -> str:
    """A local address to go back to (never another site)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def top_value(value: str | None, default: int | None) -> int | None:
    if value in (None, ""):
        return default
    if value == "all":
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_TOP:
        raise Invalid(f"top is a number from 1 to {MAX_TOP} (or 'all'), got '{value}'")
    return int(value)


def decision_cell(row: dict, states: dict, lang: str, view: str) -> str:
    """The report table's extra cell: the pair's current status and the buttons that set it."""
    from html import escape

    call = row["call_id"] if isinstance(row["call_id"], str) else ""
    state = states.get((row["project_id"], row["funder_id"], call)) or states.get(
        (row["project_id"], row["funder_id"], ""))
    fr = lang == "fr"
    out = []
    if state is not None:
        status = state["status"]
        label = STATUS_LABELS.get(status, (status, status))[0 if fr else 1]
        amount = state.get("amount_granted")
        extra = f" {ex.format_amount(amount, lang)}" if status == "granted" and amount == amount and amount else ""
        out.append(f'<span class="status {escape(status)}">{escape(label + extra)}</span>')
    data = (f'data-project="{escape(str(row["project_id"]))}" data-funder="{escape(str(row["funder_id"]))}" '
            f'data-call="{escape(call)}"')
    out.append(f'<button type="button" class="decide" {data}>{"Décider" if fr else "Decide"}</button>')
    query = urlencode({"project": row["project_id"], "funder": row["funder_id"], **({"call": call} if call else {})})
    out.append(f'<a class="explain" href="/explain?{escape(query)}">{"Explication" if fr else "Explanation"}</a>')
    return " ".join(out)


def table_html(service: Service, ranking, lang: str, view: str) -> Markup:
    """The ranking table with its decision column, cached with the ranking (its key holds the state)."""
    def build():
        states = service.states()
        title = "Décision" if lang == "fr" else "Decision"
        return ranking_section(ranking.report, (title, lambda row: decision_cell(row, states, lang, view)))

    return Markup(service.cached(("table", ranking.key, view), build))  # noqa: S704 - escaped by the report


def explanation_markup(matcher, explanation, lang: str) -> Markup:
    return Markup(explanation_html(explanation, matcher.criteria_names_, lang))  # noqa: S704 - escaped there


def title_of(ranking) -> str:
    return report_title(ranking.report)


def report_page(ranking) -> str:
    return render_html(ranking.report)


def records_json(frame) -> list[dict]:
    from matcher.io.writers import records

    return json.loads(json.dumps(records(frame), ensure_ascii=False, default=str))


def discard_upload(app, upload_id: str) -> None:
    with app.state.uploads_lock:
        entry = app.state.uploads.pop(upload_id, None)
    if entry is not None:
        shutil.rmtree(entry["folder"], ignore_errors=True)


__all__ = ["create_app", "asgi", "text"]
