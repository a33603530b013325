"""The token endpoint's JSON (OAuth-style snake_case, as token endpoints usually speak)."""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from gateway.schemas.common import MAX_COUNT


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    player_id: str = Field(min_length=1, max_length=128, validation_alias=AliasChoices("player_id", "playerId"))
    segments: list[str] | None = Field(default=None, max_length=100)
    country: str | None = Field(default=None, max_length=8)
    level: int | None = Field(default=None, ge=0, le=MAX_COUNT)
    ttl_seconds: int | None = Field(default=None, ge=1, le=10**9, validation_alias=AliasChoices("ttl_seconds", "ttlSeconds"))
    client_id: str | None = Field(default=None, max_length=128)
    client_secret: str | None = Field(default=None, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
    player_id: str
