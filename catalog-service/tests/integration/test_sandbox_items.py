"""An item's forced fulfilment outcome (fulfillment_config.sandbox_outcome) is for the sandbox: live refuses it."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2
from rewards.catalog.v1 import catalog_pb2
from rewards.common.v1 import common_pb2
from service_kit.errors import ErrorCode


def _config(**values: str) -> struct_pb2.Struct:
    config = struct_pb2.Struct()
    config.update(values)
    return config


async def test_live_refuses_an_item_with_a_forced_outcome_and_the_sandbox_takes_it(catalog: Any) -> None:
    live = catalog.scope   # the fixture's scope is live
    assert live.environment == common_pb2.ENVIRONMENT_LIVE
    in_sandbox = common_pb2.Scope(tenant_id=live.tenant_id, environment=common_pb2.ENVIRONMENT_SANDBOX)
    item = catalog_pb2.Item(id="forced", name="Forced", status=catalog_pb2.ITEM_STATUS_ACTIVE, unlimited_stock=True,
                            prices=[catalog_pb2.Price(point_type="coins", amount=5)],
                            fulfillment_strategy=catalog_pb2.FULFILLMENT_STRATEGY_CODE_POOL,
                            fulfillment_config=_config(sandbox_outcome="fail"))
    await catalog.refused(catalog.stub.CreateItem(catalog_pb2.CreateItemRequest(scope=live, item=item), timeout=5),
                          ErrorCode.SANDBOX_ONLY)
    plain = catalog_pb2.Item()
    plain.CopyFrom(item)
    plain.ClearField("fulfillment_config")
    await catalog.stub.CreateItem(catalog_pb2.CreateItemRequest(scope=live, item=plain), timeout=5)
    await catalog.refused(catalog.stub.UpdateItem(catalog_pb2.UpdateItemRequest(
        scope=live, item=catalog_pb2.Item(id="forced", fulfillment_config=_config(sandbox_outcome="fail")),
        update_mask=["fulfillment_config"]), timeout=5), ErrorCode.SANDBOX_ONLY)
    created = (await catalog.stub.CreateItem(catalog_pb2.CreateItemRequest(scope=in_sandbox, item=item),
                                             timeout=5)).item
    assert created.fulfillment_config["sandbox_outcome"] == "fail"
