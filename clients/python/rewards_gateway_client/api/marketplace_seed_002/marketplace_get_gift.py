from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.gift import Gift
from ...models.marketplace_problem_details import MarketplaceProblemDetails
from ...types import Response


def _get_kwargs(
    user_key: str,
    gift_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/marketplace/user/{user_key}/gifts/{gift_id}".format(
            user_key=quote(str(user_key), safe=""),
            gift_id=quote(str(gift_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Gift | MarketplaceProblemDetails | None:
    if response.status_code == 200:
        response_200 = Gift.from_dict(response.json())

        return response_200

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
) -> Response[Gift | MarketplaceProblemDetails]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    user_key: str,
    gift_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[Gift | MarketplaceProblemDetails]:
    """Gift Details

     One gift, with collectCustomerInfo and deliveryRequired: what a redeem of it will need.

    Args:
        user_key (str): the player id in the tenant's game
        gift_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Gift | MarketplaceProblemDetails]
    """

    kwargs = _get_kwargs(
        user_key=user_key,
        gift_id=gift_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    user_key: str,
    gift_id: str,
    *,
    client: AuthenticatedClient,
) -> Gift | MarketplaceProblemDetails | None:
    """Gift Details

     One gift, with collectCustomerInfo and deliveryRequired: what a redeem of it will need.

    Args:
        user_key (str): the player id in the tenant's game
        gift_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Gift | MarketplaceProblemDetails
    """

    return sync_detailed(
        user_key=user_key,
        gift_id=gift_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    user_key: str,
    gift_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[Gift | MarketplaceProblemDetails]:
    """Gift Details

     One gift, with collectCustomerInfo and deliveryRequired: what a redeem of it will need.

    Args:
        user_key (str): the player id in the tenant's game
        gift_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Gift | MarketplaceProblemDetails]
    """

    kwargs = _get_kwargs(
        user_key=user_key,
        gift_id=gift_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user_key: str,
    gift_id: str,
    *,
    client: AuthenticatedClient,
) -> Gift | MarketplaceProblemDetails | None:
    """Gift Details

     One gift, with collectCustomerInfo and deliveryRequired: what a redeem of it will need.

    Args:
        user_key (str): the player id in the tenant's game
        gift_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Gift | MarketplaceProblemDetails
    """

    return (
        await asyncio_detailed(
            user_key=user_key,
            gift_id=gift_id,
            client=client,
        )
    ).parsed
