from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.callback_receipt import CallbackReceipt
from ...models.problem import Problem
from ...models.receive_provider_callback_body import ReceiveProviderCallbackBody
from ...types import UNSET, Response, Unset


def _get_kwargs(
    redemption_id: str,
    *,
    body: ReceiveProviderCallbackBody,
    x_signature: None | str | Unset = UNSET,
    x_timestamp: None | str | Unset = UNSET,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if not isinstance(x_signature, Unset):
        headers["X-Signature"] = x_signature

    if not isinstance(x_timestamp, Unset):
        headers["X-Timestamp"] = x_timestamp

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/fulfillment/callbacks/{redemption_id}".format(
            redemption_id=quote(str(redemption_id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CallbackReceipt | Problem | None:
    if response.status_code == 200:
        response_200 = CallbackReceipt.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = Problem.from_dict(response.json())

        return response_401

    if response.status_code == 404:
        response_404 = Problem.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 422:
        response_422 = Problem.from_dict(response.json())

        return response_422

    if response.status_code == 503:
        response_503 = Problem.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[CallbackReceipt | Problem]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    redemption_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveProviderCallbackBody,
    x_signature: None | str | Unset = UNSET,
    x_timestamp: None | str | Unset = UNSET,
) -> Response[CallbackReceipt | Problem]:
    """Provider Callback

     A provider's signed callback for a job it accepted. No credential: the fulfillment service verifies
    the HMAC
    signature (X-Signature over X-Timestamp and the raw body) with the job's provider secret; 401
    otherwise.

    Args:
        redemption_id (str):
        x_signature (None | str | Unset):
        x_timestamp (None | str | Unset):
        body (ReceiveProviderCallbackBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CallbackReceipt | Problem]
    """

    kwargs = _get_kwargs(
        redemption_id=redemption_id,
        body=body,
        x_signature=x_signature,
        x_timestamp=x_timestamp,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    redemption_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveProviderCallbackBody,
    x_signature: None | str | Unset = UNSET,
    x_timestamp: None | str | Unset = UNSET,
) -> CallbackReceipt | Problem | None:
    """Provider Callback

     A provider's signed callback for a job it accepted. No credential: the fulfillment service verifies
    the HMAC
    signature (X-Signature over X-Timestamp and the raw body) with the job's provider secret; 401
    otherwise.

    Args:
        redemption_id (str):
        x_signature (None | str | Unset):
        x_timestamp (None | str | Unset):
        body (ReceiveProviderCallbackBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CallbackReceipt | Problem
    """

    return sync_detailed(
        redemption_id=redemption_id,
        client=client,
        body=body,
        x_signature=x_signature,
        x_timestamp=x_timestamp,
    ).parsed


async def asyncio_detailed(
    redemption_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveProviderCallbackBody,
    x_signature: None | str | Unset = UNSET,
    x_timestamp: None | str | Unset = UNSET,
) -> Response[CallbackReceipt | Problem]:
    """Provider Callback

     A provider's signed callback for a job it accepted. No credential: the fulfillment service verifies
    the HMAC
    signature (X-Signature over X-Timestamp and the raw body) with the job's provider secret; 401
    otherwise.

    Args:
        redemption_id (str):
        x_signature (None | str | Unset):
        x_timestamp (None | str | Unset):
        body (ReceiveProviderCallbackBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CallbackReceipt | Problem]
    """

    kwargs = _get_kwargs(
        redemption_id=redemption_id,
        body=body,
        x_signature=x_signature,
        x_timestamp=x_timestamp,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    redemption_id: str,
    *,
    client: AuthenticatedClient | Client,
    body: ReceiveProviderCallbackBody,
    x_signature: None | str | Unset = UNSET,
    x_timestamp: None | str | Unset = UNSET,
) -> CallbackReceipt | Problem | None:
    """Provider Callback

     A provider's signed callback for a job it accepted. No credential: the fulfillment service verifies
    the HMAC
    signature (X-Signature over X-Timestamp and the raw body) with the job's provider secret; 401
    otherwise.

    Args:
        redemption_id (str):
        x_signature (None | str | Unset):
        x_timestamp (None | str | Unset):
        body (ReceiveProviderCallbackBody):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CallbackReceipt | Problem
    """

    return (
        await asyncio_detailed(
            redemption_id=redemption_id,
            client=client,
            body=body,
            x_signature=x_signature,
            x_timestamp=x_timestamp,
        )
    ).parsed
