from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.claim_error import ClaimError
from ...models.claim_fail import ClaimFail
from ...models.claim_success import ClaimSuccess
from ...models.redeem_points_request import RedeemPointsRequest
from ...types import UNSET, Response, Unset


def _get_kwargs(
    version: str,
    brand_id: int,
    *,
    body: RedeemPointsRequest,
    sandbox_outcome: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(sandbox_outcome, Unset):
        headers["Sandbox-Outcome"] = sandbox_outcome

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/gateway/coins/redeem/{version}/{brand_id}".format(
            version=quote(str(version), safe=""),
            brand_id=quote(str(brand_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ClaimError | ClaimFail | ClaimSuccess | None:
    if response.status_code == 200:
        response_200 = ClaimSuccess.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ClaimFail.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ClaimFail.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ClaimFail.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = ClaimFail.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = ClaimFail.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ClaimFail.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ClaimError.from_dict(response.json())

        return response_500

    if response.status_code == 503:
        response_503 = ClaimError.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ClaimError | ClaimFail | ClaimSuccess]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    version: str,
    brand_id: int,
    *,
    client: AuthenticatedClient,
    body: RedeemPointsRequest,
    sandbox_outcome: None | str | Unset = UNSET,
) -> Response[ClaimError | ClaimFail | ClaimSuccess]:
    """Redeem Points

     Claims a shop item with coins: checks eligibility, debits the coins, and fulfils the item (a bonus,
    free rounds, a physical claim). A repeated `uuid` answers the first response with already_processed:
    true.

    Args:
        version (str): the API version (any value is served)
        brand_id (int): the brand: which tenant's store
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (RedeemPointsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClaimError | ClaimFail | ClaimSuccess]
    """

    kwargs = _get_kwargs(
        version=version,
        brand_id=brand_id,
        body=body,
        sandbox_outcome=sandbox_outcome,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    version: str,
    brand_id: int,
    *,
    client: AuthenticatedClient,
    body: RedeemPointsRequest,
    sandbox_outcome: None | str | Unset = UNSET,
) -> ClaimError | ClaimFail | ClaimSuccess | None:
    """Redeem Points

     Claims a shop item with coins: checks eligibility, debits the coins, and fulfils the item (a bonus,
    free rounds, a physical claim). A repeated `uuid` answers the first response with already_processed:
    true.

    Args:
        version (str): the API version (any value is served)
        brand_id (int): the brand: which tenant's store
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (RedeemPointsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClaimError | ClaimFail | ClaimSuccess
    """

    return sync_detailed(
        version=version,
        brand_id=brand_id,
        client=client,
        body=body,
        sandbox_outcome=sandbox_outcome,
    ).parsed


async def asyncio_detailed(
    version: str,
    brand_id: int,
    *,
    client: AuthenticatedClient,
    body: RedeemPointsRequest,
    sandbox_outcome: None | str | Unset = UNSET,
) -> Response[ClaimError | ClaimFail | ClaimSuccess]:
    """Redeem Points

     Claims a shop item with coins: checks eligibility, debits the coins, and fulfils the item (a bonus,
    free rounds, a physical claim). A repeated `uuid` answers the first response with already_processed:
    true.

    Args:
        version (str): the API version (any value is served)
        brand_id (int): the brand: which tenant's store
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (RedeemPointsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ClaimError | ClaimFail | ClaimSuccess]
    """

    kwargs = _get_kwargs(
        version=version,
        brand_id=brand_id,
        body=body,
        sandbox_outcome=sandbox_outcome,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    version: str,
    brand_id: int,
    *,
    client: AuthenticatedClient,
    body: RedeemPointsRequest,
    sandbox_outcome: None | str | Unset = UNSET,
) -> ClaimError | ClaimFail | ClaimSuccess | None:
    """Redeem Points

     Claims a shop item with coins: checks eligibility, debits the coins, and fulfils the item (a bonus,
    free rounds, a physical claim). A repeated `uuid` answers the first response with already_processed:
    true.

    Args:
        version (str): the API version (any value is served)
        brand_id (int): the brand: which tenant's store
        sandbox_outcome (None | str | Unset): sandbox only (403 SANDBOX_ONLY in live): force the
            outcome of this redemption's fulfilment: `pending:N` (pending for N seconds, 1 to 60, then
            fulfilled), `provider_slow` (the same, 5 s), `fail` (the fulfilment fails: refunded,
            CANCELED with SANDBOX_FULFILLMENT_FAILED), `pool_empty` (CANCELED with OUT_OF_CODES,
            refunded), `review` (held for review: AWAITING_APPROVAL, SANDBOX_REVIEW, until an operator
            approves or rejects it)
        body (RedeemPointsRequest):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ClaimError | ClaimFail | ClaimSuccess
    """

    return (
        await asyncio_detailed(
            version=version,
            brand_id=brand_id,
            client=client,
            body=body,
            sandbox_outcome=sandbox_outcome,
        )
    ).parsed
