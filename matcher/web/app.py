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

import secrets
import shutil
import tempfile
import threading
import weakref
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher import STATUSES, DecisionError, WorkspaceError
from matcher.core.resources import DATA_DIR
from matcher.engine import explain as ex
from matcher.web import accounts
from matcher.web.common import ERROR_TITLES, STATUS_LABELS
from matcher.web.security import DEFAULT_MAX_UPLOAD, BodyLimit, SecurityHeaders, is_loopback
from matcher.web.service import Invalid, NotFound, Service

HERE = Path(__file__).parent


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
    # Our own private folder goes with the app (app.state.close()), or at the latest when Python exits.
    remove_uploads = weakref.finalize(app, shutil.rmtree, str(uploads_root), True) if upload_dir is None else None

    def close() -> None:
        """Close the workspace and remove the private upload folder (uploads not imported are dropped)."""
        service.close()
        if remove_uploads is not None:
            remove_uploads()

    app.state.close = close
    app.state.service, app.state.env, app.state.lang = service, env, lang
    app.state.local_csrf = secrets.token_urlsafe(32)
    app.state.limiter = accounts.LoginLimiter()
    app.state.uploads, app.state.uploads_root, app.state.uploads_lock = {}, uploads_root, threading.Lock()
    app.state.secure, app.state.max_upload = secure_cookies, max_upload
    app.mount("/static/report", StaticFiles(directory=DATA_DIR / "report"), name="report")
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


__all__ = ["asgi", "create_app"]
