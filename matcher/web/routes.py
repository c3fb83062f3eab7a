"""The pages and the JSON API (registered on the app by :func:`register`)."""

from __future__ import annotations

import secrets
import tempfile
from pathlib import Path

from fastapi import FastAPI, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from matcher import STATUSES
from matcher.web import accounts
from matcher.web.common import (
    LOGIN_COOKIE,
    SEEN_COOKIE,
    SESSION_COOKIE,
    Refused,
    api_user,
    back_to,
    check_csrf,
    discard_upload,
    explanation_markup,
    need,
    records_json,
    redirect,
    render,
    report_page,
    table_html,
    title_of,
    top_value,
    who,
)
from matcher.web.forms import PROJECT_FORM, form_frame, territory_suggestions
from matcher.web.imports import confirm_import, preview_import, store_upload
from matcher.web.service import Invalid, parse_day, text

EXPORTS = ("xlsx", "csv", "html")


class DecisionIn(BaseModel):
    project_id: str = Field(min_length=1, max_length=200)
    funder_id: str = Field(min_length=1, max_length=200)
    call_id: str | None = Field(default=None, max_length=200)
    status: str = Field(description=f"one of {', '.join(STATUSES)}")
    amount: float | None = Field(default=None, description="granted amount for 'granted', else requested")
    reason: str | None = Field(default=None, max_length=2000)
    note: str | None = Field(default=None, max_length=2000)
    date: str | None = Field(default=None, description="YYYY-MM-DD (default: today)")


def register(app: FastAPI) -> None:  # noqa: C901 - one place lists every route
    service = app.state.service

    # ------------------------------------------------------------------ plain

    @app.get("/healthz", response_class=PlainTextResponse, include_in_schema=False)
    def healthz():
        return "ok"

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon():
        return Response(status_code=204)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        auth = who(request)
        return render(request, "home.html", auth=auth, catalogue=service.catalogue(), counts=service.ws.counts(),
                      title="coopmatch")

    # ------------------------------------------------------------------ accounts

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str = "/"):  # noqa: A002 - the usual name
        token = secrets.token_urlsafe(32)
        response = render(request, "login.html", auth=(None, token), next=back_to(next), title="Connexion",
                          error=None)
        response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="lax", secure=app.state.secure,
                            path="/login")
        return response

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        form = await request.form()
        check_csrf(form, request.cookies.get(LOGIN_COOKIE, ""))
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        client = request.client.host if request.client else "?"
        keys = (f"ip:{client}", f"name:{name.strip().lower()}")
        limiter = app.state.limiter
        if limiter.blocked(*keys):
            raise Refused(429, "too many failed logins: wait a few minutes")
        user = accounts.authenticate(service.ws, name, password)
        if user is None:
            limiter.failed(*keys)
            token = request.cookies.get(LOGIN_COOKIE, "")
            return render(request, "login.html", status=401, auth=(None, token), next=back_to(form.get("next")),
                          title="Connexion", error="Nom ou mot de passe incorrect." if app.state.lang == "fr"
                          else "Wrong name or password.")
        limiter.succeeded(*keys)
        cookie, _ = accounts.open_session(service.ws, user)
        response = redirect(back_to(form.get("next")))
        response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=app.state.secure,
                            max_age=accounts.SESSION_HOURS * 3600)
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request):
        user, csrf = who(request)
        check_csrf(await request.form(), csrf)
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            accounts.close_session(service.ws, cookie)
        response = redirect("/login")
        response.delete_cookie(SESSION_COOKIE)
        return response

    @app.get("/users", response_class=HTMLResponse, include_in_schema=False)
    def users_page(request: Request):
        auth = who(request)
        need(auth[0], "admin")
        return render(request, "users.html", auth=auth, users=accounts.users(service.ws), roles=accounts.ROLES,
                      title="Utilisateurs")

    @app.post("/users", include_in_schema=False)
    async def users_change(request: Request):
        user, csrf = who(request)
        form = await request.form()
        check_csrf(form, csrf)
        need(user, "admin")
        if form.get("action") == "remove":
            name = str(form.get("name", ""))
            if name == user.name:
                raise Invalid("you cannot remove yourself")
            accounts.remove_user(service.ws, name)
        else:
            accounts.add_user(service.ws, str(form.get("name", "")), str(form.get("role", "")),
                              str(form.get("password", "")))
        service.touch()
        return redirect("/users")

    # ------------------------------------------------------------------ import

    @app.get("/import", response_class=HTMLResponse, include_in_schema=False)
    def import_form(request: Request):
        auth = who(request)
        need(auth[0], "staff")
        return render(request, "import.html", auth=auth, title="Importer", imports=service.ws.imports().tail(20)
                      .iloc[::-1].to_dict("records"), max_mb=app.state.max_upload / (1024 * 1024))

    @app.post("/import", response_class=HTMLResponse, include_in_schema=False)
    async def import_upload(request: Request):
        auth = who(request)
        form = await request.form()
        check_csrf(form, auth[1])
        need(auth[0], "staff")
        upload_id = await store_upload(app, form, auth[0])
        return preview_import(request, upload_id, auth, chosen=None)

    @app.post("/import/{upload_id}", response_class=HTMLResponse, include_in_schema=False)
    async def import_step(request: Request, upload_id: str):
        auth = who(request)
        form = await request.form()
        check_csrf(form, auth[1])
        need(auth[0], "staff")
        if form.get("action") == "cancel":
            discard_upload(app, upload_id)
            return redirect("/import")
        if form.get("action") == "import":
            return confirm_import(request, upload_id, auth, form)
        return preview_import(request, upload_id, auth, chosen=form)

    # ------------------------------------------------------------------ fund staff

    @app.get("/funders/{funder_id}/shortlist", include_in_schema=False)
    def shortlist_page(request: Request, funder_id: str, call: str | None = None, date: str | None = None,
                       top: str | None = None, format: str | None = None):  # noqa: A002
        auth = who(request)
        lang = app.state.lang
        ranking = service.shortlist(funder_id, call or None, parse_day(date), top_value(top, 100), lang)
        if format:
            return export(ranking, format, f"shortlist-{funder_id}" + (f"-{call}" if call else ""))
        rows = service.funder_rows(funder_id)
        calls = [(c, text(t)) for c, t in zip(rows["call_id"], rows["call_title"], strict=True) if isinstance(c, str)]
        query = request.url.query
        return render(request, "shortlist.html", auth=auth, title=title_of(ranking), ranking=ranking,
                      table=table_html(service, ranking, lang, "funder"), funder_id=funder_id, call=call or "",
                      calls=calls, date=date or "", top=top or "", here=request.url.path + (f"?{query}" if query
                                                                                             else ""),
                      run_date=ranking.matcher.run_date_, count=len(ranking.ranked), query=query)

    # ------------------------------------------------------------------ project leads

    @app.get("/projects/new", response_class=HTMLResponse, include_in_schema=False)
    def project_form(request: Request):
        auth = who(request)
        return render(request, "project_form.html", auth=auth, title="Un projet", fields=PROJECT_FORM, values={},
                      problems=[])

    @app.post("/projects/new", response_class=HTMLResponse, include_in_schema=False)
    async def project_submit(request: Request):
        auth = who(request)
        form = await request.form()
        check_csrf(form, auth[1])
        lang = app.state.lang
        normalized = form_frame(form)
        errors = [p for p in normalized.problems if p.severity == "error"]
        if errors or normalized.frame.empty:
            return render(request, "project_form.html", status=422, auth=auth, title="Un projet",
                          fields=PROJECT_FORM, values=dict(form), problems=normalized.problems)
        frame = normalized.frame
        pid = str(frame["project_id"].iloc[0])
        day = parse_day(str(form.get("date") or "") or None)
        ranking = service.funders_for(pid, day, 20, lang, frame=frame)
        return render(request, "funders.html", auth=auth, title=title_of(ranking), ranking=ranking,
                      table=table_html(service, ranking, lang, "form"), project=frame.iloc[0].to_dict(),
                      project_id=pid, saved=False, date=str(form.get("date") or ""), here="/projects/new",
                      warnings=normalized.problems, run_date=ranking.matcher.run_date_)

    @app.get("/projects/{project_id}/funders", include_in_schema=False)
    def funders_page(request: Request, project_id: str, date: str | None = None, top: str | None = None,
                     format: str | None = None):  # noqa: A002
        auth = who(request)
        lang = app.state.lang
        ranking = service.funders_for(project_id, parse_day(date), top_value(top, 20), lang)
        if format:
            return export(ranking, format, f"funders-{project_id}")
        query = request.url.query
        return render(request, "funders.html", auth=auth, title=title_of(ranking), ranking=ranking,
                      table=table_html(service, ranking, lang, "project"), project=service.project_row(project_id),
                      project_id=project_id, saved=True, date=date or "", warnings=[],
                      here=request.url.path + (f"?{query}" if query else ""), run_date=ranking.matcher.run_date_)

    @app.get("/explain", response_class=HTMLResponse, include_in_schema=False)
    def explain_page(request: Request, project: str, funder: str, call: str | None = None, date: str | None = None):
        auth = who(request)
        lang = app.state.lang
        matcher, explanation = service.explain(project, funder, call or None, parse_day(date), lang)
        trail = service.ws.trail(project, funder, explanation.call_id or "")
        return render(request, "explain.html", auth=auth, title=f"{project} × {funder}", explanation=explanation,
                      body=explanation_markup(matcher, explanation, lang), project=service.project_row(project),
                      funder_id=funder, call=explanation.call_id or "", trail=trail.to_dict("records"),
                      here=str(request.url.path) + "?" + request.url.query, verdict=explanation.verdict,
                      score=ex_number(explanation.score, lang))

    @app.post("/decisions", include_in_schema=False)
    async def decide_form(request: Request):
        user, csrf = who(request)
        form = await request.form()
        check_csrf(form, csrf)
        need(user, "staff")
        status = str(form.get("status") or "")
        amount = parse_amount(form.get("amount"))
        service.ws.decide(str(form.get("project_id") or ""), str(form.get("funder_id") or ""), status,
                          call_id=str(form.get("call_id") or "") or None, amount=amount,
                          reason=str(form.get("reason") or "") or None, note=str(form.get("note") or "") or None,
                          by=user.name)
        service.touch()
        return redirect(back_to(form.get("back")))

    # ------------------------------------------------------------------ what changed

    @app.get("/changes", response_class=HTMLResponse, include_in_schema=False)
    def changes_page(request: Request, days: int = Query(30, ge=1, le=365)):
        auth = who(request)
        from matcher.web.changes import changes_since

        seen = request.cookies.get(SEEN_COOKIE, "")
        since = int(seen) if seen.isdigit() else 0
        groups, last = changes_since(service.ws, since, days)
        response = render(request, "changes.html", auth=auth, title="Ce qui a changé", groups=groups, since=since,
                          days=days)
        response.set_cookie(SEEN_COOKIE, str(last), httponly=True, samesite="lax", secure=app.state.secure,
                            max_age=365 * 86400)
        return response

    # ------------------------------------------------------------------ API

    @app.get("/api/v1/projects/{project_id}/funders", tags=["rankings"])
    def api_funders(request: Request, project_id: str, top: int = Query(10, ge=1, le=MAX_API_TOP),
                    date: str | None = None):
        """The funders (and calls) that fit a project, best first, with reasons and what to check."""
        api_user(request)
        ranking = service.funders_for(project_id, parse_day(date), top, app.state.lang)
        return {"project_id": project_id, "run_date": ranking.matcher.run_date_, "run_id": ranking.run_id,
                "hidden_dismissed": ranking.hidden, "funders": records_json(ranking.ranked)}

    @app.get("/api/v1/funders/{funder_id}/shortlist", tags=["rankings"])
    def api_shortlist(request: Request, funder_id: str, call: str | None = None,
                      top: int = Query(10, ge=1, le=MAX_API_TOP), date: str | None = None):
        """The projects that best fit a funder or one of its calls, best first."""
        api_user(request)
        ranking = service.shortlist(funder_id, call or None, parse_day(date), top, app.state.lang)
        return {"funder_id": funder_id, "call_id": call or None, "run_date": ranking.matcher.run_date_,
                "run_id": ranking.run_id, "hidden_dismissed": ranking.hidden,
                "projects": records_json(ranking.ranked)}

    @app.get("/api/v1/explain", tags=["rankings"])
    def api_explain(request: Request, project: str, funder: str, call: str | None = None, date: str | None = None):
        """One pair explained: every rule, every criterion, score × weight = contribution."""
        api_user(request)
        from matcher.io.writers import json_value

        _, explanation = service.explain(project, funder, call or None, parse_day(date), app.state.lang)
        return json_value(explanation.to_dict())

    @app.post("/api/v1/decisions", tags=["decisions"], status_code=201)
    def api_decide(request: Request, decision: DecisionIn):
        """Record one decision (a staff or admin token); 422 with the reason when it makes no sense."""
        user = api_user(request)
        need(user, "staff")
        recorded = service.ws.decide(decision.project_id, decision.funder_id, decision.status,
                                     call_id=decision.call_id or None, amount=decision.amount, reason=decision.reason,
                                     note=decision.note, date=decision.date, by=user.name)
        service.touch()
        return JSONResponse({"recorded": recorded, "by": user.name}, status_code=201)

    @app.get("/api/v1/territories", tags=["forms"])
    def api_territories(request: Request, q: str = Query("", max_length=80)):
        """Communes, EPCI, departments and regions whose name starts like ``q`` (the form's autocomplete)."""
        if request.cookies.get(SESSION_COOKIE):
            who(request)
        else:
            api_user(request)
        return {"q": q, "places": territory_suggestions(q)}


MAX_API_TOP = 5000


def ex_number(value, lang):
    from matcher.engine.explain import format_number

    return format_number(float(value), lang, 3)


def parse_amount(value):
    if value in (None, ""):
        return None
    from matcher.normalize.parsers import parse_amount as parse
    from matcher.normalize.problems import ParseError

    try:
        return parse(str(value), currency_ok=True)
    except ParseError:
        raise Invalid(f"unreadable amount: '{value}'") from None


def export(ranking, fmt: str, stem: str) -> Response:
    """The current view as a file: XLSX (the report's workbook), CSV (formula-safe) or the HTML report."""
    if fmt not in EXPORTS:
        raise Invalid(f"format is one of {', '.join(EXPORTS)}, got '{fmt}'")
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:80]
    if fmt == "html":
        return Response(report_page(ranking), media_type="text/html; charset=utf-8",
                        headers={"content-disposition": f'attachment; filename="{safe}.html"'})
    with tempfile.TemporaryDirectory(prefix="coopmatch-export-") as folder:
        path = Path(folder) / f"export.{fmt}"
        if fmt == "xlsx":
            from matcher.report.xlsx import write_report_workbook

            write_report_workbook(ranking.report, path)
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        else:
            from matcher.io.writers import write_table

            write_table(ranking.ranked, path, fmt="csv", money_columns=())
            media = "text/csv; charset=utf-8"
        data = path.read_bytes()
    return Response(data, media_type=media, headers={"content-disposition": f'attachment; filename="{safe}.{fmt}"'})
