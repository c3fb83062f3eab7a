"""``coopmatch serve``: the web app over a workspace (pages for fund staff and project leads, a JSON API)."""

from __future__ import annotations

import click

from matcher.cli.common import lang_option


@click.command()
@click.option("--workspace", "workspace_path", required=True, metavar="WS", help="The workspace to serve.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Any non-loopback address needs accounts in the workspace.")
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--max-upload-mb", type=click.IntRange(min=1), default=50, show_default=True,
              help="Largest upload accepted (413 beyond).")
@click.option("--secure-cookies", is_flag=True, help="Mark cookies Secure (behind an HTTPS proxy).")
@lang_option
def serve(workspace_path, host, port, max_upload_mb, secure_cookies, lang):
    """Serve the web app over a workspace: import, shortlists, a project's funders, what changed, an API.

    Loopback by default. On any other address the workspace must have
    accounts (coopmatch workspace user add WS NAME --role admin); it refuses
    to start otherwise (exit code 1). GET /healthz answers ok.

    \b
    Examples:
      coopmatch serve --workspace appel.coopmatch
      coopmatch serve --workspace appel.coopmatch --port 8080 --max-upload-mb 20
      coopmatch serve --workspace equipe.coopmatch --host 0.0.0.0 --secure-cookies
    """
    from matcher import CoopmatchError
    from matcher.web import asgi, create_app

    try:
        app = create_app(workspace_path, host=host, max_upload=max_upload_mb * 1024 * 1024, lang=lang,
                         secure_cookies=secure_cookies)
    except CoopmatchError as err:
        raise click.ClickException(str(err)) from None
    import uvicorn

    click.echo(f"coopmatch serve: http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    try:
        uvicorn.run(asgi(app), host=host, port=port, log_level="warning")
    finally:
        app.state.close()
