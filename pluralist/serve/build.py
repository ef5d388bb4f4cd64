"""The app from a model directory and a store's URL, everything checked before serving."""

from __future__ import annotations

from ..encode import get_encoder
from ..workflows import load_with_encoder
from .app import create_app
from .page_belief import load_page_pool
from .scoring import Scorer
from .storage import open_storage


def build_app(model_dir, *, db: str, api_key: str | None, read_only: bool = False,
              cors_origins: tuple[str, ...] = (), cache_size: int = 50_000, pool=None):
    """The model, its encoder (warmed up with one text, so that the first request does
    not pay for loading it), the store, and the page's pool (`pool`, a file of candidate
    comparisons, embedded once); `api_key` from auth.read_api_key."""
    model, embedding = load_with_encoder(model_dir)
    scorer = Scorer(model, get_encoder(embedding.encoder), cache_size=cache_size)
    scorer.encoder.encode(["warm-up"])
    storage = open_storage(db)
    app = create_app(scorer, storage, api_key=api_key, read_only=read_only,
                     cors_origins=cors_origins)
    if pool is not None:   # the page's questions, embedded once before serving
        app.state.page.pool = load_page_pool(pool, scorer)
    return app
