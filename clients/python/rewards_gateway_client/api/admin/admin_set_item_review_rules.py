from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.problem import Problem
from ...models.review_rule_set import ReviewRuleSet
from ...models.review_rules import ReviewRules
from ...types import Response


def _get_kwargs(
    id: str,
    *,
    body: ReviewRules,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/v1/admin/review-rules/items/{id}".format(
            id=quote(str(id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Problem | ReviewRuleSet | None:
    if response.status_code == 200:
        response_200 = ReviewRuleSet.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = Problem.from_dict(response.json())

        return response_403

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
) -> Response[Problem | ReviewRuleSet]:
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
    body: ReviewRules,
) -> Response[Problem | ReviewRuleSet]:
    """Set Item Review Rules

     One item's rules (`alwaysReview`: the item is always reviewed), on top of the tenant's.

    Args:
        id (str):
        body (ReviewRules): When a redemption is held for review after its stock and points are
            taken. A rule left out, 0 or false
            does not apply; any rule that applies holds it (AWAITING_APPROVAL) until an operator
            decides.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReviewRuleSet]
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
    body: ReviewRules,
) -> Problem | ReviewRuleSet | None:
    """Set Item Review Rules

     One item's rules (`alwaysReview`: the item is always reviewed), on top of the tenant's.

    Args:
        id (str):
        body (ReviewRules): When a redemption is held for review after its stock and points are
            taken. A rule left out, 0 or false
            does not apply; any rule that applies holds it (AWAITING_APPROVAL) until an operator
            decides.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReviewRuleSet
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
    body: ReviewRules,
) -> Response[Problem | ReviewRuleSet]:
    """Set Item Review Rules

     One item's rules (`alwaysReview`: the item is always reviewed), on top of the tenant's.

    Args:
        id (str):
        body (ReviewRules): When a redemption is held for review after its stock and points are
            taken. A rule left out, 0 or false
            does not apply; any rule that applies holds it (AWAITING_APPROVAL) until an operator
            decides.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Problem | ReviewRuleSet]
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
    body: ReviewRules,
) -> Problem | ReviewRuleSet | None:
    """Set Item Review Rules

     One item's rules (`alwaysReview`: the item is always reviewed), on top of the tenant's.

    Args:
        id (str):
        body (ReviewRules): When a redemption is held for review after its stock and points are
            taken. A rule left out, 0 or false
            does not apply; any rule that applies holds it (AWAITING_APPROVAL) until an operator
            decides.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Problem | ReviewRuleSet
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            body=body,
        )
    ).parsed
