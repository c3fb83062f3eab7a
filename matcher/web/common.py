"""What the routes share: cookies, labels, who is asking, CSRF, redirects, the decision cell."""

from __future__ import annotations

import hmac
import json
import shutil
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from matcher.engine import explain as ex
from matcher.report.html import explanation_html, ranking_section, render_html, report_title
from matcher.web import accounts
from matcher.web.service import Invalid, Service

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




def render(request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
    app = request.app
    user, csrf = values.pop("auth", (None, ""))
    body = app.state.env.get_template(name).render(lang=app.state.lang, user=user, csrf=csrf,
                                                   local=user is accounts.LOCAL_USER, **values)
    return HTMLResponse(body, status_code=status)


def accounts_on(request: Request) -> bool:
    return request.app.state.service.has_users()


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

    if view == "form":  # a project of the form is not in the workspace: its details are in the row
        return '<span class="meta">—</span>'
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

