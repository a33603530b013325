from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.event_page import EventPage
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    after: str | Unset = "",
    types: list[str] | None | Unset = UNSET,
    limit: int | Unset = 100,
    redemption_id: str | Unset = "",
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["after"] = after

    json_types: list[str] | None | Unset
    if isinstance(types, Unset):
        json_types = UNSET
    elif isinstance(types, list):
        json_types = types

    else:
        json_types = types
    params["types"] = json_types

    params["limit"] = limit

    params["redemptionId"] = redemption_id

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/events",
        "params": params,
    }

    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> EventPage | Problem | None:
    if response.status_code == 200:
        response_200 = EventPage.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[EventPage | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    after: str | Unset = "",
    types: list[str] | None | Unset = UNSET,
    limit: int | Unset = 100,
    redemption_id: str | Unset = "",
) -> Response[EventPage | Problem]:
    """List Events

     The tenant's events after a cursor, oldest first: read with `after=nextCursor` until `hasMore` is
    false,
    keep the last `nextCursor`, and start from it next time.

    Args:
        after (str | Unset): nextCursor of the previous page, or an event's cursor; empty: from
            the oldest event kept (30 days) Default: ''.
        types (list[str] | None | Unset): only these types, comma-separated or repeated
        limit (int | Unset): page size Default: 100.
        redemption_id (str | Unset): only the events about this redemption (its id) Default: ''.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EventPage | Problem]
    """

    kwargs = _get_kwargs(
        after=after,
        types=types,
        limit=limit,
        redemption_id=redemption_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    after: str | Unset = "",
    types: list[str] | None | Unset = UNSET,
    limit: int | Unset = 100,
    redemption_id: str | Unset = "",
) -> EventPage | Problem | None:
    """List Events

     The tenant's events after a cursor, oldest first: read with `after=nextCursor` until `hasMore` is
    false,
    keep the last `nextCursor`, and start from it next time.

    Args:
        after (str | Unset): nextCursor of the previous page, or an event's cursor; empty: from
            the oldest event kept (30 days) Default: ''.
        types (list[str] | None | Unset): only these types, comma-separated or repeated
        limit (int | Unset): page size Default: 100.
        redemption_id (str | Unset): only the events about this redemption (its id) Default: ''.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EventPage | Problem
    """

    return sync_detailed(
        client=client,
        after=after,
        types=types,
        limit=limit,
        redemption_id=redemption_id,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    after: str | Unset = "",
    types: list[str] | None | Unset = UNSET,
    limit: int | Unset = 100,
    redemption_id: str | Unset = "",
) -> Response[EventPage | Problem]:
    """List Events

     The tenant's events after a cursor, oldest first: read with `after=nextCursor` until `hasMore` is
    false,
    keep the last `nextCursor`, and start from it next time.

    Args:
        after (str | Unset): nextCursor of the previous page, or an event's cursor; empty: from
            the oldest event kept (30 days) Default: ''.
        types (list[str] | None | Unset): only these types, comma-separated or repeated
        limit (int | Unset): page size Default: 100.
        redemption_id (str | Unset): only the events about this redemption (its id) Default: ''.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[EventPage | Problem]
    """

    kwargs = _get_kwargs(
        after=after,
        types=types,
        limit=limit,
        redemption_id=redemption_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    after: str | Unset = "",
    types: list[str] | None | Unset = UNSET,
    limit: int | Unset = 100,
    redemption_id: str | Unset = "",
) -> EventPage | Problem | None:
    """List Events

     The tenant's events after a cursor, oldest first: read with `after=nextCursor` until `hasMore` is
    false,
    keep the last `nextCursor`, and start from it next time.

    Args:
        after (str | Unset): nextCursor of the previous page, or an event's cursor; empty: from
            the oldest event kept (30 days) Default: ''.
        types (list[str] | None | Unset): only these types, comma-separated or repeated
        limit (int | Unset): page size Default: 100.
        redemption_id (str | Unset): only the events about this redemption (its id) Default: ''.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        EventPage | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            after=after,
            types=types,
            limit=limit,
            redemption_id=redemption_id,
        )
    ).parsed
