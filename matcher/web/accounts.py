"""Accounts of the web app, kept in the workspace: users, login sessions, API tokens, login rate limits.

Passwords are hashed with scrypt (``hashlib.scrypt``, a random salt per user);
session cookies and API tokens are random 256-bit values of which only the
sha256 is stored, so a copy of the workspace gives no way in.

Roles: ``viewer`` reads, ``staff`` also imports and decides, ``admin`` also
manages users.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass

from sqlalchemy import delete, func, select

from matcher.workspace import WorkspaceError
from matcher.workspace.models import WebSession, WebToken, WebUser

ROLES = ("viewer", "staff", "admin")
#: What each role may do, cumulatively.
RANK = {"viewer": 0, "staff": 1, "admin": 2}
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
SESSION_HOURS = 12
MIN_PASSWORD = 8
NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-@")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str

    def can(self, role: str) -> bool:
        return RANK[self.role] >= RANK[role]


#: The one user of an app on loopback without accounts.
LOCAL_USER = User(0, "local", "admin")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, dklen=32, **SCRYPT)
    return f"scrypt${SCRYPT['n']}${SCRYPT['r']}${SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(digest) // 2)
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_name(name: str) -> str:
    name = name.strip().lower()
    if not name or len(name) > 64 or not set(name) <= NAME_CHARS:
        raise WorkspaceError(f"a user name is 1 to 64 of a-z 0-9 . _ - @, got '{name}'")
    return name


def add_user(ws, name: str, role: str, password: str) -> User:
    """Create a user; refused when the name is taken, the role unknown or the password too short."""
    name = check_name(name)
    if role not in ROLES:
        raise WorkspaceError(f"unknown role '{role}'; expected one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise WorkspaceError(f"a password has at least {MIN_PASSWORD} characters")
    with ws.engine.begin() as conn:
        if conn.execute(select(WebUser.id).where(WebUser.name == name)).first() is not None:
            raise WorkspaceError(f"user '{name}' already exists")
        uid = conn.execute(WebUser.__table__.insert().values(
            name=name, role=role, password_hash=hash_password(password),
            created_at=_now().isoformat())).inserted_primary_key[0]
    return User(int(uid), name, role)


def users(ws) -> list[dict]:
    """Every user: name, role, created_at, number of API tokens (never a hash)."""
    t, k = WebUser.__table__, WebToken.__table__
    tokens = select(k.c.user_id, func.count().label("n")).group_by(k.c.user_id).subquery()
    query = (select(t.c.name, t.c.role, t.c.created_at, func.coalesce(tokens.c.n, 0).label("tokens"))
             .outerjoin(tokens, tokens.c.user_id == t.c.id).order_by(t.c.name))
    with ws.engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def has_users(ws) -> bool:
    with ws.engine.connect() as conn:
        return bool(conn.execute(select(func.count()).select_from(WebUser.__table__)).scalar())


def remove_user(ws, name: str) -> None:
    """Delete a user with its sessions and tokens."""
    name = check_name(name)
    with ws.engine.begin() as conn:
        uid = conn.execute(select(WebUser.id).where(WebUser.name == name)).scalar()
        if uid is None:
            raise WorkspaceError(f"no user '{name}' in this workspace")
        conn.execute(delete(WebSession.__table__).where(WebSession.user_id == uid))
        conn.execute(delete(WebToken.__table__).where(WebToken.user_id == uid))
        conn.execute(delete(WebUser.__table__).where(WebUser.id == uid))


def authenticate(ws, name: str, password: str) -> User | None:
    try:
        name = check_name(name)
    except WorkspaceError:
        return None
    with ws.engine.connect() as conn:
        row = conn.execute(select(WebUser.id, WebUser.role, WebUser.password_hash)
                           .where(WebUser.name == name)).first()
    if row is None:
        hash_password(password, b"0" * 16)  # the same time whether the name exists or not
        return None
    return User(int(row[0]), name, row[1]) if check_password(password, row[2]) else None


def open_session(ws, user: User) -> tuple[str, str]:
    """A new session: (cookie value, CSRF token). Only the cookie's sha256 is stored."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = _now()
    with ws.engine.begin() as conn:
        conn.execute(delete(WebSession.__table__).where(WebSession.expires_at < now.isoformat()))
        conn.execute(WebSession.__table__.insert().values(
            user_id=user.id, digest=_digest(cookie), csrf=csrf, created_at=now.isoformat(),
            expires_at=(now + dt.timedelta(hours=SESSION_HOURS)).isoformat()))
    return cookie, csrf


def session_user(ws, cookie: str) -> tuple[User, str] | None:
    """The user and CSRF token of a live session cookie, or None."""
    s, u = WebSession.__table__, WebUser.__table__
    query = (select(u.c.id, u.c.name, u.c.role, s.c.csrf, s.c.expires_at).join(u, u.c.id == s.c.user_id)
             .where(s.c.digest == _digest(cookie)))
    with ws.engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row[4] < _now().isoformat():
        return None
    return User(int(row[0]), row[1], row[2]), row[3]


def close_session(ws, cookie: str) -> None:
    with ws.engine.begin() as conn:
        conn.execute(delete(WebSession.__table__).where(WebSession.digest == _digest(cookie)))


def new_token(ws, name: str, label: str | None = None) -> str:
    """A new API token for user ``name``, shown once; only its sha256 is kept."""
    name = check_name(name)
    token = "cm_" + secrets.token_urlsafe(32)
    with ws.engine.begin() as conn:
        uid = conn.execute(select(WebUser.id).where(WebUser.name == name)).scalar()
        if uid is None:
            raise WorkspaceError(f"no user '{name}' in this workspace")
        conn.execute(WebToken.__table__.insert().values(user_id=uid, digest=_digest(token), label=label,
                                                        created_at=_now().isoformat()))
    return token


def token_user(ws, token: str) -> User | None:
    k, u = WebToken.__table__, WebUser.__table__
    with ws.engine.connect() as conn:
        row = conn.execute(select(u.c.id, u.c.name, u.c.role).join(k, k.c.user_id == u.c.id)
                           .where(k.c.digest == _digest(token))).first()
    return None if row is None else User(int(row[0]), row[1], row[2])


class LoginLimiter:
    """At most ``attempts`` failed logins per client address and per name within ``window`` seconds."""

    def __init__(self, attempts: int = 5, window: float = 300.0):
        self.attempts, self.window = attempts, window
        self._failures: dict[str, deque] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque:
        queue = self._failures[key]
        while queue and queue[0] < now - self.window:
            queue.popleft()
        return queue

    def blocked(self, *keys: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return any(len(self._recent(k, now)) >= self.attempts for k in keys)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
