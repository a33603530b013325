from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.gems_store_error import GemsStoreError
from ...models.store_redeem_request import StoreRedeemRequest
from ...models.store_redemption import StoreRedemption
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    body: StoreRedeemRequest,
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
        "url": "/store/redeem",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> GemsStoreError | StoreRedemption | None:
    if response.status_code == 200:
        response_200 = StoreRedemption.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = GemsStoreError.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = GemsStoreError.from_dict(response.json())

        return response_401

    if response.status_code == 402:
        response_402 = GemsStoreError.from_dict(response.json())

        return response_402

    if response.status_code == 403:
        response_403 = GemsStoreError.from_dict(response.json())

        return response_403

    if response.status_code == 409:
        response_409 = GemsStoreError.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = GemsStoreError.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = GemsStoreError.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = GemsStoreError.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = GemsStoreError.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[GemsStoreError | StoreRedemption]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: StoreRedeemRequest,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> Response[GemsStoreError | StoreRedemption]:
    """Redeem store item

     Redeems a store item using gems. The same Idempotency-Key from the same player answers the previous
    redemption; from another player, 409.

    Args:
        idempotency_key (None | str | Unset): one per purchase attempt, for safe retries
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (StoreRedeemRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GemsStoreError | StoreRedemption]
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
    body: StoreRedeemRequest,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> GemsStoreError | StoreRedemption | None:
    """Redeem store item

     Redeems a store item using gems. The same Idempotency-Key from the same player answers the previous
    redemption; from another player, 409.

    Args:
        idempotency_key (None | str | Unset): one per purchase attempt, for safe retries
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (StoreRedeemRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GemsStoreError | StoreRedemption
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
    body: StoreRedeemRequest,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> Response[GemsStoreError | StoreRedemption]:
    """Redeem store item

     Redeems a store item using gems. The same Idempotency-Key from the same player answers the previous
    redemption; from another player, 409.

    Args:
        idempotency_key (None | str | Unset): one per purchase attempt, for safe retries
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (StoreRedeemRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GemsStoreError | StoreRedemption]
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
    body: StoreRedeemRequest,
    idempotency_key: None | str | Unset = UNSET,
    sandbox_outcome: None | str | Unset = UNSET,
) -> GemsStoreError | StoreRedemption | None:
    """Redeem store item

     Redeems a store item using gems. The same Idempotency-Key from the same player answers the previous
    redemption; from another player, 409.

    Args:
        idempotency_key (None | str | Unset): one per purchase attempt, for safe retries
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (StoreRedeemRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GemsStoreError | StoreRedemption
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
            idempotency_key=idempotency_key,
            sandbox_outcome=sandbox_outcome,
        )
    ).parsed
