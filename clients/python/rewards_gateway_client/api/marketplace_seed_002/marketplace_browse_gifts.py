from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.gift_page import GiftPage
from ...models.marketplace_problem_details import MarketplaceProblemDetails
from ...types import UNSET, Response, Unset


def _get_kwargs(
    user_key: str,
    *,
    page_size: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["pageSize"] = page_size

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/v1/marketplace/user/{user_key}/gifts".format(
            user_key=quote(str(user_key), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> GiftPage | MarketplaceProblemDetails | None:
    if response.status_code == 200:
        response_200 = GiftPage.from_dict(response.json())

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
) -> Response[GiftPage | MarketplaceProblemDetails]:
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
    page_size: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[GiftPage | MarketplaceProblemDetails]:
    """Browse Gifts

     The gifts the user may redeem now (active, in their window, not targeted at others).

    Args:
        user_key (str): the player id in the tenant's game
        page_size (int | Unset): items per page Default: 20.
        cursor (None | str | Unset): nextCursor of the previous page

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GiftPage | MarketplaceProblemDetails]
    """

    kwargs = _get_kwargs(
        user_key=user_key,
        page_size=page_size,
        cursor=cursor,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    user_key: str,
    *,
    client: AuthenticatedClient,
    page_size: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> GiftPage | MarketplaceProblemDetails | None:
    """Browse Gifts

     The gifts the user may redeem now (active, in their window, not targeted at others).

    Args:
        user_key (str): the player id in the tenant's game
        page_size (int | Unset): items per page Default: 20.
        cursor (None | str | Unset): nextCursor of the previous page

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GiftPage | MarketplaceProblemDetails
    """

    return sync_detailed(
        user_key=user_key,
        client=client,
        page_size=page_size,
        cursor=cursor,
    ).parsed


async def asyncio_detailed(
    user_key: str,
    *,
    client: AuthenticatedClient,
    page_size: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> Response[GiftPage | MarketplaceProblemDetails]:
    """Browse Gifts

     The gifts the user may redeem now (active, in their window, not targeted at others).

    Args:
        user_key (str): the player id in the tenant's game
        page_size (int | Unset): items per page Default: 20.
        cursor (None | str | Unset): nextCursor of the previous page

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GiftPage | MarketplaceProblemDetails]
    """

    kwargs = _get_kwargs(
        user_key=user_key,
        page_size=page_size,
        cursor=cursor,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    user_key: str,
    *,
    client: AuthenticatedClient,
    page_size: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
) -> GiftPage | MarketplaceProblemDetails | None:
    """Browse Gifts

     The gifts the user may redeem now (active, in their window, not targeted at others).

    Args:
        user_key (str): the player id in the tenant's game
        page_size (int | Unset): items per page Default: 20.
        cursor (None | str | Unset): nextCursor of the previous page

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GiftPage | MarketplaceProblemDetails
    """

    return (
        await asyncio_detailed(
            user_key=user_key,
            client=client,
            page_size=page_size,
            cursor=cursor,
        )
    ).parsed
