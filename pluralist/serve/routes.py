"""The service's routes: scoring (open to read) and feedback (writes need the key)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import numpy as np
from fastapi import Depends, FastAPI, Header, HTTPException
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool

from ..encode import compose_text
from .auth import check_bearer
from .schemas import (RATER_ID_PATTERN, ComparisonsRequest, DeletedOut, FeedbackOut,
                      GetRewardRequest, GetRewardResponse, RankedReward, RaterOut, ScoreRequest,
                      ScoreResponse)
from .scoring import Scorer
from .storage import Comparison, Storage

RaterPath = Annotated[str, PathParam(pattern=RATER_ID_PATTERN, description="the rater's id")]
IdempotencyKey = Annotated[str | None, Header(max_length=200, description=(
    "a retried request with the same key stores nothing twice and gets the first answer"))]


async def wait_for(future):
    """Await a concurrent.futures.Future of the encoder's thread."""
    return await asyncio.wrap_future(future)


def add_score_routes(app: FastAPI, scorer: Scorer, storage: Storage) -> None:
    @app.post("/v1/score", response_model=ScoreResponse, tags=["rewards"])
    async def score(body: ScoreRequest):
        """Each response's reward for the rater, best first. A profile in the body wins,
        then the rater's stored profile, then a rater the model was trained on; an
        unknown rater gets the population reward, and `source` says which."""
        profile = None
        if body.profile is not None:
            profile = scorer.checked_profile(body.profile.model_dump(), "request field 'profile'")
        elif body.rater is not None:
            profile = await run_in_threadpool(scorer.stored_profile, storage, body.rater)
        vectors = await wait_for(scorer.batcher.submit(scorer.texts_for(body.prompt, body.responses)))
        n = len(body.responses)
        rewards, source = scorer.rewards(vectors[:n], np.repeat(vectors[n:], n, axis=0),
                                         body.rater, profile)
        ranking = sorted(range(n), key=lambda i: -rewards[i])
        return ScoreResponse(rewards=rewards, source=source, rater=body.rater,
                             ranking=[RankedReward(index=i, reward=rewards[i]) for i in ranking],
                             model=scorer.model_id, encoder=scorer.encoder_id)

    @app.post("/get_reward", response_model=GetRewardResponse, tags=["rewards"])
    async def get_reward(body: GetRewardRequest):
        """OpenRLHF's remote reward protocol: `query` is prompt + response, the rater id
        comes from `labels` (an id, or a JSON object with a `rater` or `user_id` field)."""
        prompts, raters = _openrlhf_columns(body)
        responses = [q[len(p):] if p and q.startswith(p) else q for q, p in zip(body.query, prompts)]
        fmt, n = scorer.model.text_format, len(body.query)
        texts = [compose_text(p, r, fmt) for p, r in zip(prompts, responses)] + prompts
        vectors = await wait_for(scorer.batcher.submit(texts))
        rewards, personal = [0.0] * n, [0.0] * n
        for rater, rows in _rows_by_rater(raters).items():
            profile = None if rater is None else await run_in_threadpool(
                scorer.stored_profile, storage, rater)
            values, source = scorer.rewards(vectors[rows], vectors[n + np.asarray(rows)], rater, profile)
            for row, value in zip(rows, values):
                rewards[row], personal[row] = value, float(source != "population")
        return GetRewardResponse(rewards=rewards, scores=rewards,
                                 extra_logs={"personalised": personal})


def _openrlhf_columns(body: GetRewardRequest) -> tuple[list[str], list[str | None]]:
    n = len(body.query)
    for name in ("prompts", "labels"):
        given = getattr(body, name)
        if given is not None and len(given) != n:
            raise HTTPException(422, f"field '{name}' has {len(given)} entries, 'query' has {n}")
    prompts = body.prompts if body.prompts is not None else [""] * n
    labels = body.labels if body.labels is not None else [None] * n
    return prompts, [rater_from_label(label) for label in labels]


def rater_from_label(label) -> str | None:
    """OpenRLHF passes its label column through unchanged: a plain id, or a JSON object
    (or its text) with a `rater` or `user_id` field."""
    if isinstance(label, str) and label.lstrip().startswith("{"):
        try:
            label = json.loads(label)
        except ValueError:
            return label
    if isinstance(label, dict):
        label = label.get("rater", label.get("user_id"))
    if label is None or label == "" or isinstance(label, (list, dict, bool)):
        return None
    return str(label)


def _rows_by_rater(raters: list[str | None]) -> dict[str | None, list[int]]:
    rows: dict[str | None, list[int]] = {}
    for row, rater in enumerate(raters):
        rows.setdefault(rater, []).append(row)
    return rows


def writer(api_key: str | None, read_only: bool):
    """The dependency every write and delete takes: 401 without a key, 403 with a wrong
    one or on a read-only server."""
    def check(authorization: Annotated[str | None, Header(include_in_schema=False)] = None):
        if read_only:
            raise HTTPException(403, "this server was started --read-only")
        status = check_bearer(authorization, api_key)
        if status == 401:
            raise HTTPException(401, "an API key is needed: Authorization: Bearer KEY",
                                headers={"WWW-Authenticate": "Bearer"})
        if status == 403:
            raise HTTPException(403, "the API key is not valid")
    return Depends(check)


def add_feedback_routes(app: FastAPI, scorer: Scorer, storage: Storage, *,
                        api_key: str | None, read_only: bool) -> None:
    authorised = writer(api_key, read_only)

    @app.post("/v1/raters/{rater}/comparisons", response_model=FeedbackOut,
              dependencies=[authorised], tags=["feedback"])
    def post_comparisons(rater: RaterPath, body: ComparisonsRequest,
                         idempotency_key: IdempotencyKey = None):
        """Store a person's comparisons, then refit their profile from all of their
        stored comparisons, in one transaction; the answer carries the new profile."""
        comparisons = [Comparison(c.prompt, c.chosen, c.rejected, c.tie) for c in body.comparisons]
        # embedded before the transaction, so the rater's lock is held for the refit alone
        scorer.batcher.embed([t for texts in scorer.comparison_texts(comparisons) for t in texts])
        result = storage.add_comparisons(rater, comparisons, scorer.refit,
                                         idempotency_key=idempotency_key)
        return FeedbackOut(**result.response, replayed=result.replayed)

    @app.get("/v1/raters/{rater}", response_model=RaterOut, tags=["feedback"])
    def get_rater(rater: RaterPath):
        """The rater's stored profile, comparisons and last update (404: neither stored
        nor known to the model)."""
        stored = storage.rater(rater)
        if stored is not None:
            return RaterOut(**stored, source="adapted profile")
        if rater in scorer.model.raters:
            return RaterOut(rater=rater, comparisons=0, updated=None, profile=None, source="seen rater")
        raise HTTPException(404, "no such rater: none stored and none the model was trained on")

    @app.delete("/v1/raters/{rater}", response_model=DeletedOut, dependencies=[authorised],
                tags=["feedback"])
    def delete_rater(rater: RaterPath):
        """Delete the rater's comparisons and profile (a person withdraws)."""
        return DeletedOut(rater=rater, deleted_comparisons=storage.delete_rater(rater))
