from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.fulfillment_job_list import FulfillmentJobList
from ...models.problem import Problem
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    stuck: bool | Unset = False,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["limit"] = limit

    json_cursor: None | str | Unset
    if isinstance(cursor, Unset):
        json_cursor = UNSET
    else:
        json_cursor = cursor
    params["cursor"] = json_cursor

    json_state: None | str | Unset
    if isinstance(state, Unset):
        json_state = UNSET
    else:
        json_state = state
    params["state"] = json_state

    params["stuck"] = stuck

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/admin/fulfillment/jobs",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> FulfillmentJobList | Problem | None:
    if response.status_code == 200:
        response_200 = FulfillmentJobList.from_dict(response.json())

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


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[FulfillmentJobList | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    stuck: bool | Unset = False,
) -> Response[FulfillmentJobList | Problem]:
    """List Jobs

    Args:
        limit (int | Unset): page size Default: 20.
        cursor (None | str | Unset): nextCursor of the previous page
        state (None | str | Unset): PENDING, RUNNING, WAITING, SUCCEEDED or FAILED
        stuck (bool | Unset): only jobs pending or running past the service's stuck bound Default:
            False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FulfillmentJobList | Problem]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        state=state,
        stuck=stuck,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    stuck: bool | Unset = False,
) -> FulfillmentJobList | Problem | None:
    """List Jobs

    Args:
        limit (int | Unset): page size Default: 20.
        cursor (None | str | Unset): nextCursor of the previous page
        state (None | str | Unset): PENDING, RUNNING, WAITING, SUCCEEDED or FAILED
        stuck (bool | Unset): only jobs pending or running past the service's stuck bound Default:
            False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FulfillmentJobList | Problem
    """

    return sync_detailed(
        client=client,
        limit=limit,
        cursor=cursor,
        state=state,
        stuck=stuck,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    stuck: bool | Unset = False,
) -> Response[FulfillmentJobList | Problem]:
    """List Jobs

    Args:
        limit (int | Unset): page size Default: 20.
        cursor (None | str | Unset): nextCursor of the previous page
        state (None | str | Unset): PENDING, RUNNING, WAITING, SUCCEEDED or FAILED
        stuck (bool | Unset): only jobs pending or running past the service's stuck bound Default:
            False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[FulfillmentJobList | Problem]
    """

    kwargs = _get_kwargs(
        limit=limit,
        cursor=cursor,
        state=state,
        stuck=stuck,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    limit: int | Unset = 20,
    cursor: None | str | Unset = UNSET,
    state: None | str | Unset = UNSET,
    stuck: bool | Unset = False,
) -> FulfillmentJobList | Problem | None:
    """List Jobs

    Args:
        limit (int | Unset): page size Default: 20.
        cursor (None | str | Unset): nextCursor of the previous page
        state (None | str | Unset): PENDING, RUNNING, WAITING, SUCCEEDED or FAILED
        stuck (bool | Unset): only jobs pending or running past the service's stuck bound Default:
            False.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        FulfillmentJobList | Problem
    """

    return (
        await asyncio_detailed(
            client=client,
            limit=limit,
            cursor=cursor,
            state=state,
            stuck=stuck,
        )
    ).parsed
