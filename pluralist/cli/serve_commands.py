"""`pluralist serve`: the reward service (pluralist/serve/)."""

from __future__ import annotations

import logging

import click

from .base import COUNT, cli, one_line


def _port(ctx, param, value):
    if not 0 < value < 65536:
        raise click.BadParameter(f"{value} is not a TCP port (1-65535)", ctx=ctx, param=param)
    return value


@cli.command()
@click.argument("model_dir", type=click.Path(file_okay=False))
@click.option("--db", default="pluralist-feedback.db", show_default=True,
              help="Feedback store: a SQLite file (or sqlite:///PATH), or postgresql://... "
                   "for several servers sharing one store.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; 0.0.0.0 only behind a proxy that adds TLS.")
@click.option("--port", type=int, default=8000, show_default=True, callback=_port)
@click.option("--api-key-file", type=click.Path(dir_okay=False), default=None,
              help="File whose first line is the API key writes and deletes need "
                   "(default $PLURALIST_API_KEY).")
@click.option("--read-only", is_flag=True, help="Serve rewards only; refuse every write.")
@click.option("--cors-origin", multiple=True,
              help="An origin a browser page may call from (CORS is closed without one).")
@click.option("--cache-size", type=COUNT, default=50_000, show_default=True,
              help="Embeddings of texts seen kept in memory.")
@click.option("--pool", "pool_path", type=click.Path(dir_okay=False), default=None,
              help="Candidate comparisons (JSONL: prompt, response_a, response_b, or prompt and "
                   "responses) the page at / asks people.")
def serve(model_dir, db, host, port, api_key_file, read_only, cors_origin, cache_size, pool_path):
    """Serve MODEL_DIR's personalised rewards over HTTP, storing feedback in --db."""
    from ..serve.auth import read_api_key

    api_key = read_api_key(api_key_file, read_only=read_only)   # refused before any loading
    try:
        import uvicorn

        from ..serve.build import build_app
    except ImportError as err:
        raise one_line(f"pluralist serve needs the serve extra: pip install 'pluralist[serve]' "
                       f"({err})") from None
    app = build_app(model_dir, db=db, api_key=api_key, read_only=read_only,
                    cors_origins=tuple(cors_origin), cache_size=cache_size, pool=pool_path)
    click.echo(f"serving {model_dir} ({app.state.scorer.model_id}) on http://{host}:{port} "
               f"(docs at /docs); feedback in {db}{' (read-only)' if read_only else ''}", err=True)
    _log_requests()
    uvicorn.run(app, host=host, port=port, access_log=False, log_level="warning")


def _log_requests() -> None:
    """The service's one line per request, to stderr (uvicorn's own access log is off:
    it prints query strings and client addresses)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("pluralist.serve")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
