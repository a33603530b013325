from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.redemption import Redemption
from ...models.review_decision import ReviewDecision
from ...types import UNSET, Response, Unset


def _get_kwargs(
    id: str,
    *,
    body: None | ReviewDecision | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/admin/reviews/{id}/reject".format(
            id=quote(str(id), safe=""),
        ),
    }

    if isinstance(body, ReviewDecision):
        _kwargs["json"] = body.to_dict()
    else:
        _kwargs["json"] = body

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(*, client: AuthenticatedClient | Client, response: httpx.Response) -> Problem | Redemption | None:
    if response.status_code == 200:
        response_200 = Redemption.from_dict(response.json())

        return response_200

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
    id: str,
    *,
    client: AuthenticatedClient,
    body: None | ReviewDecision | Unset = UNSET,
) -> Response[Problem | Redemption]:
    """Reject Redemption

     Refunds the points and releases the stock: CANCELED with failure REVIEW_REJECTED. Rejecting again
    answers
    the redemption as it is.

    Args:
        id (str): the string id, or the integer number
        body (None | ReviewDecision | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Redemption]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    body: None | ReviewDecision | Unset = UNSET,
) -> Problem | Redemption | None:
    """Reject Redemption

     Refunds the points and releases the stock: CANCELED with failure REVIEW_REJECTED. Rejecting again
    answers
    the redemption as it is.

    Args:
        id (str): the string id, or the integer number
        body (None | ReviewDecision | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Redemption
    """

    return sync_detailed(
        id=id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    body: None | ReviewDecision | Unset = UNSET,
) -> Response[Problem | Redemption]:
    """Reject Redemption

     Refunds the points and releases the stock: CANCELED with failure REVIEW_REJECTED. Rejecting again
    answers
    the redemption as it is.

    Args:
        id (str): the string id, or the integer number
        body (None | ReviewDecision | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | Redemption]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    body: None | ReviewDecision | Unset = UNSET,
) -> Problem | Redemption | None:
    """Reject Redemption

     Refunds the points and releases the stock: CANCELED with failure REVIEW_REJECTED. Rejecting again
    answers
    the redemption as it is.

    Args:
        id (str): the string id, or the integer number
        body (None | ReviewDecision | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | Redemption
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            body=body,
        )
    ).parsed
