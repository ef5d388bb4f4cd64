"""Request and response bodies, with the limits a request is held to.

Types are strict (a number is not a string, "true" is not a boolean): a wrong type is a
422 naming the field, never a guess. Sizes are bounded so that no request can make the
server embed without limit; the body as a whole is bounded apart (app.py, 413).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

MAX_RESPONSES = 64          # responses per /v1/score request
MAX_TEXT_CHARS = 20_000     # one prompt or response
MAX_COMPARISONS = 500       # comparisons per feedback request
MAX_QUERIES = 512           # /get_reward samples per request
MAX_BODY_BYTES = 4 * 1024 * 1024
RATER_ID_PATTERN = r"^[^/\x00-\x1f\x7f]{1,200}$"

Text = Annotated[StrictStr, Field(max_length=MAX_TEXT_CHARS)]
RaterId = Annotated[StrictStr, Field(pattern=RATER_ID_PATTERN)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ProfileIn(Strict):
    """A profile as `pluralist adapt` writes it or GET /v1/raters/{id} returns it."""

    family: StrictStr
    values: dict[StrictStr, Annotated[list[StrictFloat | StrictInt], Field(max_length=4096)]]
    comparisons: Annotated[StrictInt, Field(ge=0)] = 0


class ScoreRequest(Strict):
    prompt: Text = ""
    responses: Annotated[list[Text], Field(min_length=1, max_length=MAX_RESPONSES)]
    rater: RaterId | None = None
    profile: ProfileIn | None = None


class RankedReward(BaseModel):
    index: int        # the response's position in the request
    reward: float


class ScoreResponse(BaseModel):
    rewards: list[float]            # in the order of the request's responses
    ranking: list[RankedReward]     # best first
    source: Literal["seen rater", "adapted profile", "population"]
    rater: str | None
    model: str
    encoder: str


class ComparisonIn(Strict):
    prompt: Text = ""
    chosen: Text
    rejected: Text
    tie: StrictBool = False


class ComparisonsRequest(Strict):
    comparisons: Annotated[list[ComparisonIn], Field(min_length=1, max_length=MAX_COMPARISONS)]


class ProfileOut(BaseModel):
    family: str
    values: dict[str, list[float]]
    comparisons: int


class RaterOut(BaseModel):
    rater: str
    comparisons: int
    updated: float | None          # seconds since the epoch of the last write
    profile: ProfileOut | None
    source: Literal["seen rater", "adapted profile", "population"]


class FeedbackOut(BaseModel):
    rater: str
    stored: int            # comparisons stored by this request (0 for a replay)
    comparisons: int       # the rater's comparisons in all
    updated: float
    profile: ProfileOut
    replayed: bool


class DeletedOut(BaseModel):
    rater: str
    deleted_comparisons: int


Label = StrictStr | dict[StrictStr, Any] | StrictInt | None


class GetRewardRequest(BaseModel):
    """OpenRLHF's remote reward request; other keys it may send are ignored."""

    query: Annotated[list[Annotated[StrictStr, Field(max_length=2 * MAX_TEXT_CHARS)]],
                     Field(max_length=MAX_QUERIES)]
    prompts: Annotated[list[Text], Field(max_length=MAX_QUERIES)] | None = None
    labels: Annotated[list[Label], Field(max_length=MAX_QUERIES)] | None = None


class GetRewardResponse(BaseModel):
    rewards: list[float]
    scores: list[float]
    extra_logs: dict[str, list[float]]


class Health(BaseModel):
    status: Literal["ok"]
    model: str
    encoder: str
    read_only: bool
    encoder_calls: int
    texts_encoded: int
