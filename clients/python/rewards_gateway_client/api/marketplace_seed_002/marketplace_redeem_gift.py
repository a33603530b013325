from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.gift_redemption import GiftRedemption
from ...models.marketplace_problem_details import MarketplaceProblemDetails
from ...models.redeem_gift import RedeemGift
from ...types import UNSET, Response, Unset


def _get_kwargs(
    user_key: str,
    *,
    body: RedeemGift,
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
        "url": "/api/v1/marketplace/user/{user_key}/redeem".format(
            user_key=quote(str(user_key), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> GiftRedemption | MarketplaceProblemDetails | None:
    if response.status_code == 201:
        response_201 = GiftRedemption.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = MarketplaceProblemDetails.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = MarketplaceProblemDetails.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = MarketplaceProblemDetails.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = MarketplaceProblemDetails.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = MarketplaceProblemDetails.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = MarketplaceProblemDetails.from_dict(response.json())

        return response_413

    if response.status_code == 429:
        response_429 = MarketplaceProblemDetails.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = MarketplaceProblemDetails.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[GiftRedemption | MarketplaceProblemDetails]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    user_key: str,
    *,
    client: AuthenticatedClient,
    body: RedeemGift,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> Response[GiftRedemption | MarketplaceProblemDetails]:
    """Redeem Gift

     Checks, in order: user, gift, point type, redeem limit, targeting, (customer and delivery fields),
    stock,
    points. A replay of an Idempotency-Key (optional, not on the page) answers the first record again.

    Args:
        user_key (str): the player id in the tenant's game
        idempotency_key (None | str | Unset):
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (RedeemGift):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GiftRedemption | MarketplaceProblemDetails]
    """

    kwargs = _get_kwargs(
        user_key=user_key,
        body=body,
        idempotency_key=idempotency_key,
        sandbox_outcome=sandbox_outcome,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    user_key: str,
    *,
    client: AuthenticatedClient,
    body: RedeemGift,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> GiftRedemption | MarketplaceProblemDetails | None:
    """Redeem Gift

     Checks, in order: user, gift, point type, redeem limit, targeting, (customer and delivery fields),
    stock,
    points. A replay of an Idempotency-Key (optional, not on the page) answers the first record again.

    Args:
        user_key (str): the player id in the tenant's game
        idempotency_key (None | str | Unset):
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (RedeemGift):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GiftRedemption | MarketplaceProblemDetails
    """

    return sync_detailed(
        user_key=user_key,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
        sandbox_outcome=sandbox_outcome,
    ).parsed


async def asyncio_detailed(
    user_key: str,
    *,
    client: AuthenticatedClient,
    body: RedeemGift,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> Response[GiftRedemption | MarketplaceProblemDetails]:
    """Redeem Gift

     Checks, in order: user, gift, point type, redeem limit, targeting, (customer and delivery fields),
    stock,
    points. A replay of an Idempotency-Key (optional, not on the page) answers the first record again.

    Args:
        user_key (str): the player id in the tenant's game
        idempotency_key (None | str | Unset):
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (RedeemGift):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GiftRedemption | MarketplaceProblemDetails]
    """

    kwargs = _get_kwargs(
        user_key=user_key,
        body=body,
        idempotency_key=idempotency_key,
        sandbox_outcome=sandbox_outcome,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user_key: str,
    *,
    client: AuthenticatedClient,
    body: RedeemGift,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> GiftRedemption | MarketplaceProblemDetails | None:
    """Redeem Gift

     Checks, in order: user, gift, point type, redeem limit, targeting, (customer and delivery fields),
    stock,
    points. A replay of an Idempotency-Key (optional, not on the page) answers the first record again.

    Args:
        user_key (str): the player id in the tenant's game
        idempotency_key (None | str | Unset):
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (RedeemGift):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GiftRedemption | MarketplaceProblemDetails
    """

    return (
        await asyncio_detailed(
            user_key=user_key,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            sandbox_outcome=sandbox_outcome,
        )
    ).parsed
