"""``coopmatch serve``: a server-rendered web app over a workspace, for fund staff and project leads.

Layer: above ``workspace`` (and ``report``), below ``cli``. It calls the
library's public API only (the workspace, the matcher, the report), never the
command line.

>>> from matcher.web import create_app, asgi
>>> app = create_app("appel.coopmatch")        # doctest: +SKIP
>>> import uvicorn; uvicorn.run(asgi(app))      # doctest: +SKIP
"""

from matcher.web.app import asgi, create_app

__all__ = ["asgi", "create_app"]
