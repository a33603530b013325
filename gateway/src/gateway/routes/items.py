"""The items (offers) a player may redeem now."""

from __future__ import annotations

from fastapi import APIRouter, Path
from rewards.catalog.v1 import catalog_pb2

from gateway.auth import CurrentPlayer
from gateway.openapi import PLAYER_OR_BACKEND, problems, security
from gateway.routes import Cursor, Limit, Services, next_cursor
from gateway.schemas import Item, ItemList

router = APIRouter(prefix="/v1/items", tags=["items"])


@router.get("", response_model=ItemList, operation_id="listItems", openapi_extra=security(PLAYER_OR_BACKEND),
            responses=problems(401, 422, 503))
async def list_items(player: CurrentPlayer, services: Services, limit: Limit = 20,
                     cursor: Cursor = None) -> ItemList:
    reply = await services.catalog.list_items(catalog_pb2.ListItemsRequest(
        scope=player.scope.to_proto(), player=player.to_proto(), page_size=limit, page_token=cursor or ""))
    return ItemList(items=[Item.from_proto(i) for i in reply.items], next_cursor=next_cursor(reply.next_page_token))


@router.get("/{itemId}", response_model=Item, operation_id="getItem", openapi_extra=security(PLAYER_OR_BACKEND),
            responses=problems(401, 422, 503, s404="ITEM_NOT_FOUND"))
async def get_item(player: CurrentPlayer, services: Services,
                   item_id: str = Path(alias="itemId", min_length=1, max_length=128)) -> Item:
    reply = await services.catalog.get_item(catalog_pb2.GetItemRequest(
        scope=player.scope.to_proto(), item_id=item_id, player=player.to_proto()))
    return Item.from_proto(reply.item, redeemed_count=reply.player_redeemed_count)
