from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.new_redemption import NewRedemption
from ...models.problem import Problem
from ...models.redemption import Redemption
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: NewRedemption,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(idempotency_key, Unset):
        headers["Idempotency-Key"] = idempotency_key

    if not isinstance(sandbox_outcome, Unset):
        headers["Sandbox-Outcome"] = sandbox_outcome

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/redemptions",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Redemption | None:
    if response.status_code == 200:
        response_200 = Redemption.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = Redemption.from_dict(response.json())

        return response_201

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = Problem.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = Problem.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Problem | Redemption]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: NewRedemption,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> Response[Problem | Redemption]:
    """Create Redemption

    Args:
        idempotency_key (None | str | Unset):
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (NewRedemption):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Redemption]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
        sandbox_outcome=sandbox_outcome,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: NewRedemption,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> Problem | Redemption | None:
    """Create Redemption

    Args:
        idempotency_key (None | str | Unset):
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (NewRedemption):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Redemption
    """

    return sync_detailed(
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        sandbox_outcome=sandbox_outcome,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: NewRedemption,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> Response[Problem | Redemption]:
    """Create Redemption

    Args:
        idempotency_key (None | str | Unset):
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (NewRedemption):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Redemption]
    """

    kwargs = _get_kwargs(
        body=body,
        idempotency_key=idempotency_key,
        sandbox_outcome=sandbox_outcome,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: NewRedemption,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> Problem | Redemption | None:
    """Create Redemption

    Args:
        idempotency_key (None | str | Unset):
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (NewRedemption):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Redemption
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            sandbox_outcome=sandbox_outcome,
        )
    ).parsed
