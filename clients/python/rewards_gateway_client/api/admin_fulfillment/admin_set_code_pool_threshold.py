from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.code_pool import CodePool
from ...models.code_pool_threshold import CodePoolThreshold
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    item_id: str,
    *,
    body: CodePoolThreshold,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/admin/items/{item_id}/codes/threshold".format(
            item_id=quote(str(item_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> CodePool | Problem | None:
    if response.status_code == 200:
        response_200 = CodePool.from_dict(response.json())

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


def _build_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Response[CodePool | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    item_id: str,
    *,
    client: AuthenticatedClient,
    body: CodePoolThreshold,
) -> Response[CodePool | Problem]:
    """Set Code Pool Threshold

     Sets the pool's own low threshold (`{"lowThreshold": 5}`), or clears it (`null`: the fulfillment
    service's LOW_POOL_THRESHOLD again): the pool is low below it, and the claim that crosses it tells a
    `code_pool.low` event. Answers the pool's status.

    Args:
        item_id (str):
        body (CodePoolThreshold): PUT /v1/admin/items/{id}/codes/threshold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CodePool | Problem]
    """

    kwargs = _get_kwargs(
        item_id=item_id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    item_id: str,
    *,
    client: AuthenticatedClient,
    body: CodePoolThreshold,
) -> CodePool | Problem | None:
    """Set Code Pool Threshold

     Sets the pool's own low threshold (`{"lowThreshold": 5}`), or clears it (`null`: the fulfillment
    service's LOW_POOL_THRESHOLD again): the pool is low below it, and the claim that crosses it tells a
    `code_pool.low` event. Answers the pool's status.

    Args:
        item_id (str):
        body (CodePoolThreshold): PUT /v1/admin/items/{id}/codes/threshold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CodePool | Problem
    """

    return sync_detailed(
        item_id=item_id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    item_id: str,
    *,
    client: AuthenticatedClient,
    body: CodePoolThreshold,
) -> Response[CodePool | Problem]:
    """Set Code Pool Threshold

     Sets the pool's own low threshold (`{"lowThreshold": 5}`), or clears it (`null`: the fulfillment
    service's LOW_POOL_THRESHOLD again): the pool is low below it, and the claim that crosses it tells a
    `code_pool.low` event. Answers the pool's status.

    Args:
        item_id (str):
        body (CodePoolThreshold): PUT /v1/admin/items/{id}/codes/threshold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CodePool | Problem]
    """

    kwargs = _get_kwargs(
        item_id=item_id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    item_id: str,
    *,
    client: AuthenticatedClient,
    body: CodePoolThreshold,
) -> CodePool | Problem | None:
    """Set Code Pool Threshold

     Sets the pool's own low threshold (`{"lowThreshold": 5}`), or clears it (`null`: the fulfillment
    service's LOW_POOL_THRESHOLD again): the pool is low below it, and the claim that crosses it tells a
    `code_pool.low` event. Answers the pool's status.

    Args:
        item_id (str):
        body (CodePoolThreshold): PUT /v1/admin/items/{id}/codes/threshold.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CodePool | Problem
    """

    return (
        await asyncio_detailed(
            item_id=item_id,
            client=client,
            body=body,
        )
    ).parsed
