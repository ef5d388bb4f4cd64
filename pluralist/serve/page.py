"""The page at `/` where a person teaches pluralist their taste, and its API.

The page (static/index.html, page.css, page.js: plain files shipped in the package,
nothing fetched from elsewhere) asks the person the elicitation's next query from the
server's pool (`pluralist serve --pool`), stores each answer through the feedback
path the API uses (storage.add_comparisons: durable, refitted in the write's
transaction, idempotent) and shows what the model now believes (page_belief.py).

It needs no API key: POST /page/session issues a token scoped to one rater
(page_tokens.py). An id the page makes is random; an id a person types is granted
only while no answers are stored for it and the model was not trained on it (else
anyone could take over someone's answers by typing their id), unless the request
carries the API key (an administrator). Answers come with the ticket of the query
asked, so an answer to a query never asked is refused (422); a double submit of one
ticket is deduplicated by its Idempotency-Key (one per rater and pool row).
"""

from __future__ import annotations

import secrets
from importlib import resources
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import Field, StrictInt

from ..decide.elicit import Elicitation
from .auth import check_bearer
from .page_belief import STRATEGY, PagePool, answers_batch, open_rows, summary
from .page_tokens import PageTokens
from .routes import RaterPath, writer
from .schemas import RaterId, Strict
from .scoring import Scorer
from .storage import Comparison, IdempotencyConflict, Storage

STATIC_FILES = {"index.html": "text/html", "page.css": "text/css",
                "page.js": "text/javascript"}
MAX_SKIPPED = 10_000
Authorization = Annotated[str | None, Header(include_in_schema=False)]


class SessionRequest(Strict):
    rater: RaterId | None = None     # none: the server makes a new random id


class NextRequest(Strict):
    skipped: Annotated[list[StrictInt], Field(max_length=MAX_SKIPPED)] = []


class AnswerRequest(Strict):
    query: Annotated[str, Field(max_length=200)]        # the ticket /page/next gave
    outcome: Literal["a", "b", "tie"]
    skipped: Annotated[list[StrictInt], Field(max_length=MAX_SKIPPED)] = []


def static_file(name: str) -> bytes:
    """A file of pluralist/serve/static, read as package data (works installed)."""
    return resources.files("pluralist.serve").joinpath("static", name).read_bytes()


class PageService:
    """The page's state: the model and store the API uses, the pool, the tokens."""

    def __init__(self, scorer: Scorer, storage: Storage, api_key: str | None, read_only: bool):
        self.scorer, self.storage, self.api_key, self.read_only = scorer, storage, api_key, read_only
        self.tokens = PageTokens(api_key) if api_key else None
        self.pool: PagePool | None = None

    def rater_of(self, authorization: str | None) -> str:
        """The rater whose session token the request carries (401/403 otherwise)."""
        if self.read_only or self.tokens is None:
            raise HTTPException(403, "this server was started --read-only: the page cannot store answers")
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "a page session is needed: POST /page/session first",
                                headers={"WWW-Authenticate": "Bearer"})
        rater = self.tokens.rater_of(token.strip())
        if rater is None:
            raise HTTPException(403, "the session token is not valid (forged, altered or from "
                                     "another server)")
        return rater

    def needs_pool(self) -> PagePool:
        if self.pool is None:
            raise HTTPException(409, "this server has no pool of questions: start it with "
                                     "`pluralist serve MODEL_DIR --pool POOL.jsonl`")
        return self.pool

    def grant(self, body: SessionRequest, authorization: str | None) -> dict:
        if self.read_only or self.tokens is None:
            raise HTTPException(403, "this server was started --read-only: the page cannot store answers")
        if body.rater is None:
            rater = f"person-{secrets.token_hex(8)}"
        else:
            rater = body.rater
            admin = authorization is not None and check_bearer(authorization, self.api_key) is None
            if not admin:
                self._check_claimable(rater)
        return {"rater": rater, "token": self.tokens.session(rater)}

    def _check_claimable(self, rater: str) -> None:
        if rater in self.scorer.model.raters:
            raise HTTPException(409, f"{rater!r} is a rater the model was trained on; choose "
                                     "another id (or leave it empty for a new one)")
        if self.storage.rater(rater) is not None:
            raise HTTPException(409, f"{rater!r} already has answers stored; continue in the "
                                     "browser that gave them, or choose another id")

    def next_query(self, rater: str, skipped: list[int]) -> dict:
        pool = self.needs_pool()
        comparisons = self.storage.comparisons(rater)
        run = Elicitation(self.scorer.model, pool.candidates, prior=answers_batch(self.scorer, comparisons),
                          strategy=STRATEGY)
        run.available = open_rows(pool, comparisons, skipped)
        picked = run.next()
        if not picked:
            return {"query": None, "reason": "no questions left: every pair in the pool is "
                                             "answered or skipped"}
        row, candidates = picked[0], pool.candidates.pool
        return {"query": self.tokens.ticket(rater, pool.fingerprint, row), "row": row,
                "prompt": candidates.prompt[row], "a": candidates.a[row], "b": candidates.b[row]}

    def answer(self, rater: str, body: AnswerRequest) -> dict:
        pool = self.needs_pool()
        row = self.tokens.row_of(body.query, rater, pool.fingerprint, len(pool))
        if row is None:
            raise HTTPException(422, "field 'query': not a query this server asked of you")
        candidates = pool.candidates.pool
        a, b = candidates.a[row], candidates.b[row]
        chosen, rejected = (b, a) if body.outcome == "b" else (a, b)
        comparison = Comparison(candidates.prompt[row], chosen, rejected, body.outcome == "tie")
        self.scorer.batcher.embed([t for texts in self.scorer.comparison_texts([comparison])
                                   for t in texts])
        try:
            result = self.storage.add_comparisons(rater, [comparison], self.scorer.refit,
                                                  idempotency_key=f"page:{pool.fingerprint}:{row}")
        except IdempotencyConflict:
            raise HTTPException(409, "this query was answered already, with another answer") from None
        return {**self.belief(rater, body.skipped), "replayed": result.replayed}

    def belief(self, rater: str, skipped=()) -> dict:
        return summary(self.scorer, self.needs_pool(), rater, self.storage.comparisons(rater), skipped)


def add_page_routes(app, scorer: Scorer, storage: Storage, *, api_key: str | None,
                    read_only: bool) -> PageService:
    """Include the page's routes in `app`; the service returned holds their state (its
    `pool` is set by build_app from --pool; without one the page says so)."""
    service = PageService(scorer, storage, api_key, read_only)
    # the page's own API, kept out of /openapi.json (the pipelines' interface); its
    # bodies are still validated by the models above
    router = APIRouter(tags=["page"], include_in_schema=False)
    _static_routes(router, service)
    _session_routes(router, service)
    app.include_router(router)
    api = APIRouter()   # the pipelines' next-query route, in /openapi.json
    _api_routes(api, service)
    app.include_router(api)
    return service


def _static_routes(router: APIRouter, service: PageService) -> None:
    @router.get("/", include_in_schema=False)
    def index():
        return Response(static_file("index.html"), media_type="text/html; charset=utf-8",
                        headers={"Cache-Control": "no-store"})

    @router.get("/page/static/{name}", include_in_schema=False)
    def static(name: str):
        if name not in STATIC_FILES:
            raise HTTPException(404, "no such file")
        return Response(static_file(name), media_type=f"{STATIC_FILES[name]}; charset=utf-8")

    @router.get("/page/config")
    def config():
        """What the page needs to know before it starts."""
        pool = service.pool
        return {"writable": not service.read_only and service.tokens is not None,
                "questions": None if pool is None else len(pool), "model": service.scorer.model_id,
                "family": service.scorer.model.family, "strategy": STRATEGY}


def _api_routes(router: APIRouter, service: PageService) -> None:
    @router.post("/v1/raters/{rater}/next", tags=["feedback"],
                 dependencies=[writer(service.api_key, service.read_only)])
    async def next_for_rater(rater: RaterPath, body: NextRequest):
        """The next comparison to ask `rater`, chosen from the server's --pool by the
        elicitation (the `information` strategy) on their stored comparisons; the API
        key is needed. Answers go to POST /v1/raters/{rater}/comparisons."""
        return await run_in_threadpool(service.next_query, rater, body.skipped)


def _session_routes(router: APIRouter, service: PageService) -> None:
    @router.post("/page/session")
    def session(body: SessionRequest, authorization: Authorization = None):
        """A token for one rater: a new random id, or the id given if it is free."""
        return service.grant(body, authorization)

    @router.post("/page/next")
    async def next_query(body: NextRequest, authorization: Authorization = None):
        """The elicitation's next query for the session's rater, with its ticket."""
        rater = service.rater_of(authorization)
        return await run_in_threadpool(service.next_query, rater, body.skipped)

    @router.post("/page/answer")
    def answer(body: AnswerRequest, authorization: Authorization = None):
        """Store the answer to an asked query; what the model now believes."""
        return service.answer(service.rater_of(authorization), body)

    @router.get("/page/me")
    def me(authorization: Authorization = None):
        """What the model believes about the session's rater, and their answers."""
        return service.belief(service.rater_of(authorization))

    @router.delete("/page/me")
    def delete_me(authorization: Authorization = None):
        """Delete the session's rater's answers and profile."""
        rater = service.rater_of(authorization)
        return {"rater": rater, "deleted_comparisons": service.storage.delete_rater(rater)}
