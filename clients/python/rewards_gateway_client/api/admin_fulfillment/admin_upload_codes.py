from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.admin_upload_codes_json_body import AdminUploadCodesJsonBody
from ...models.code_upload_result import CodeUploadResult
from ...models.problem import Problem
from ...types import File, Response


def _get_kwargs(
    item_id: str,
    *,
    body: AdminUploadCodesJsonBody | File,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/admin/items/{item_id}/codes".format(
            item_id=quote(str(item_id), safe=""),
        ),
    }

    if isinstance(body, AdminUploadCodesJsonBody):
        _kwargs["json"] = body.to_dict()

        headers["Content-Type"] = "application/json"
    if isinstance(body, File):
        _kwargs["content"] = body.payload
        headers["Content-Type"] = "text/csv"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> CodeUploadResult | Problem | None:
    if response.status_code == 200:
        response_200 = CodeUploadResult.from_dict(response.json())

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

    if response.status_code == 413:
        response_413 = Problem.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = Problem.from_dict(response.json())

        return response_415

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
) -> Response[CodeUploadResult | Problem]:
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
    body: AdminUploadCodesJsonBody | File,
) -> Response[CodeUploadResult | Problem]:
    """Upload Codes

     Adds voucher codes to the item's pool, as JSON `{"codes": [{"code", "pin", "expiresAt"}]}` or as CSV
    (`text/csv`, header `code,pin,expires_at`). Codes the pool already holds count as duplicates.

    Args:
        item_id (str):
        body (AdminUploadCodesJsonBody):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CodeUploadResult | Problem]
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
    body: AdminUploadCodesJsonBody | File,
) -> CodeUploadResult | Problem | None:
    """Upload Codes

     Adds voucher codes to the item's pool, as JSON `{"codes": [{"code", "pin", "expiresAt"}]}` or as CSV
    (`text/csv`, header `code,pin,expires_at`). Codes the pool already holds count as duplicates.

    Args:
        item_id (str):
        body (AdminUploadCodesJsonBody):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CodeUploadResult | Problem
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
    body: AdminUploadCodesJsonBody | File,
) -> Response[CodeUploadResult | Problem]:
    """Upload Codes

     Adds voucher codes to the item's pool, as JSON `{"codes": [{"code", "pin", "expiresAt"}]}` or as CSV
    (`text/csv`, header `code,pin,expires_at`). Codes the pool already holds count as duplicates.

    Args:
        item_id (str):
        body (AdminUploadCodesJsonBody):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[CodeUploadResult | Problem]
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
    body: AdminUploadCodesJsonBody | File,
) -> CodeUploadResult | Problem | None:
    """Upload Codes

     Adds voucher codes to the item's pool, as JSON `{"codes": [{"code", "pin", "expiresAt"}]}` or as CSV
    (`text/csv`, header `code,pin,expires_at`). Codes the pool already holds count as duplicates.

    Args:
        item_id (str):
        body (AdminUploadCodesJsonBody):
        body (File):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        CodeUploadResult | Problem
    """

    return (
        await asyncio_detailed(
            item_id=item_id,
            client=client,
            body=body,
        )
    ).parsed
