"""Player tokens, minted for trusted back ends."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from service_kit.errors import DomainError, ErrorCode

from gateway.auth import Presented, issue_token, presented, verify_credential
from gateway.config import Settings
from gateway.openapi import BACKEND, problems, security
from gateway.schemas import TokenRequest, TokenResponse

router = APIRouter(prefix="/v1/auth", tags=["auth"])


@router.post("/token", response_model=TokenResponse, operation_id="mintPlayerToken", openapi_extra=security(BACKEND),
             responses=problems(401, 413, 422, 503))
async def mint_token(request: Request, body: TokenRequest,
                     given: Annotated[Presented, Depends(presented)]) -> TokenResponse:
    """A back end with client credentials (x-client-id + x-client-secret headers, or client_id/client_secret in
    the body) or an API key mints a short-lived token for one of its players."""
    settings: Settings = request.app.state.settings
    credentials = request.app.state.credentials
    if given.has_credential:
        credential = await verify_credential(credentials, api_key=given.api_key, client_id=given.client_id,
                                             client_secret=given.client_secret)
    elif body.client_id or body.client_secret:
        credential = await verify_credential(credentials, client_id=body.client_id, client_secret=body.client_secret)
    else:
        raise DomainError(ErrorCode.UNAUTHENTICATED, "client credentials are required")
    ttl = body.ttl_seconds or settings.token_ttl_seconds
    if ttl > settings.token_max_ttl_seconds:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"ttl_seconds may be at most {settings.token_max_ttl_seconds}")
    token = await issue_token(request.app.state.signing_keys, credential, body.player_id, ttl,
                              segments=body.segments, country=body.country, level=body.level)
    return TokenResponse(access_token=token, expires_in=ttl, player_id=body.player_id)
