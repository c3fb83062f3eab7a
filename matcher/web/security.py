"""What every response of the web app carries, and what every request is held to.

- :class:`SecurityHeaders`: a Content-Security-Policy that runs only the app's
  own script files (no inline script, no other origin), ``frame-ancestors
  'none'``, ``nosniff``, no referrer, no caching of pages that hold data.
- :class:`BodyLimit`: refuses a request body above the upload cap with 413,
  from its Content-Length or while it streams in, before anything is parsed.
- :func:`sniff`: the type of an upload from its first bytes, never from its name
  or its declared content type.
"""

from __future__ import annotations

import gzip
import ipaddress
import json

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
           (b"x-frame-options", b"DENY"), (b"referrer-policy", b"no-referrer"),
           (b"cross-origin-opener-policy", b"same-origin")]
DEFAULT_MAX_UPLOAD = 50 * 1024 * 1024


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class SecurityHeaders:
    """ASGI middleware adding :data:`HEADERS` (and ``Cache-Control: no-store`` off ``/static``)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        static = scope["path"].startswith("/static/")

        async def sending(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in {h for h, _ in HEADERS}]
                headers += HEADERS
                headers.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, sending)


class TooLarge(Exception):
    pass


class BodyLimit:
    """ASGI middleware: a body over ``limit`` bytes gets 413 (JSON under /api, a page otherwise)."""

    def __init__(self, app, limit: int, page):
        self.app, self.limit, self.page = app, limit, page

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(scope, send)
        seen = 0
        started = False

        async def receiving():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    from starlette.exceptions import HTTPException

                    raise HTTPException(413, f"the upload is larger than {self.limit / (1024 * 1024):g} MB")
            return message

        async def sending(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receiving, sending)
        except TooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope, send):
        mb = self.limit / (1024 * 1024)
        message = f"the upload is larger than {mb:g} MB"
        if scope["path"].startswith("/api/"):
            body, kind = json.dumps({"error": message, "status": 413}).encode(), b"application/json"
        else:
            body, kind = self.page(413, message).encode("utf-8"), b"text/html; charset=utf-8"
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode()), *HEADERS]})
        await send({"type": "http.response.body", "body": body})


def sniff(head: bytes, declared_suffix: str) -> str | None:
    """The suffix a file is read with, from its first bytes: ``.xlsx``, ``.json``, ``.jsonl``, ``.yaml``, ``.csv``.

    ``declared_suffix`` only tells text formats apart (YAML or CSV); None when
    the bytes are no format coopmatch reads.
    """
    if head.startswith(b"PK\x03\x04"):
        return ".xlsx"
    gz = head.startswith(b"\x1f\x8b")
    if gz:
        try:
            head = gzip.decompress(head) if len(head) < 64 else _gunzip_head(head)
        except (OSError, EOFError):
            return None
    if not head or b"\x00" in head[:4096]:
        return None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(head) - 4:  # not just a character cut by the sample's end
            try:
                text = head.decode("cp1252")
            except UnicodeDecodeError:
                return None
        else:
            text = head[:err.start].decode("utf-8")
    stripped = text.lstrip("\ufeff \r\n\t")
    if stripped.startswith("{") and "\n{" in stripped:
        suffix = ".jsonl"
    elif stripped[:1] in ("[", "{"):
        suffix = ".json"
    elif declared_suffix in (".yaml", ".yml"):
        suffix = ".yaml"
    else:
        suffix = ".csv"
    return suffix + (".gz" if gz else "")


def _gunzip_head(data: bytes) -> bytes:
    import zlib

    return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 65536)
