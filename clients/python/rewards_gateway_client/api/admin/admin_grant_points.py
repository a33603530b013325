from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.grant import Grant
from ...models.points_movement import PointsMovement
from ...models.problem import Problem
from ...types import Response


def _get_kwargs(
    player_id: str,
    *,
    body: Grant,
    idempotency_key: str,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    headers["Idempotency-Key"] = idempotency_key

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/admin/players/{player_id}/grants".format(
            player_id=quote(str(player_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> PointsMovement | Problem | None:
    if response.status_code == 200:
        response_200 = PointsMovement.from_dict(response.json())

        return response_200

    if response.status_code == 201:
        response_201 = PointsMovement.from_dict(response.json())

        return response_201

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

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
) -> Response[PointsMovement | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    player_id: str,
    *,
    client: AuthenticatedClient,
    body: Grant,
    idempotency_key: str,
) -> Response[PointsMovement | Problem]:
    """Grant Points

    Args:
        player_id (str):
        idempotency_key (str):
        body (Grant):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PointsMovement | Problem]
    """

    kwargs = _get_kwargs(
        player_id=player_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    player_id: str,
    *,
    client: AuthenticatedClient,
    body: Grant,
    idempotency_key: str,
) -> PointsMovement | Problem | None:
    """Grant Points

    Args:
        player_id (str):
        idempotency_key (str):
        body (Grant):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PointsMovement | Problem
    """

    return sync_detailed(
        player_id=player_id,
        client=client,
        body=body,
        idempotency_key=idempotency_key,
    ).parsed


async def asyncio_detailed(
    player_id: str,
    *,
    client: AuthenticatedClient,
    body: Grant,
    idempotency_key: str,
) -> Response[PointsMovement | Problem]:
    """Grant Points

    Args:
        player_id (str):
        idempotency_key (str):
        body (Grant):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[PointsMovement | Problem]
    """

    kwargs = _get_kwargs(
        player_id=player_id,
        body=body,
        idempotency_key=idempotency_key,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    player_id: str,
    *,
    client: AuthenticatedClient,
    body: Grant,
    idempotency_key: str,
) -> PointsMovement | Problem | None:
    """Grant Points

    Args:
        player_id (str):
        idempotency_key (str):
        body (Grant):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        PointsMovement | Problem
    """

    return (
        await asyncio_detailed(
            player_id=player_id,
            client=client,
            body=body,
            idempotency_key=idempotency_key,
        )
    ).parsed
