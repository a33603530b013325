"""The canonical API's fulfillment (operators): code pools and their uploads, jobs, shipments, callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel
from rewards.fulfillment.v1 import fulfillment_pb2

from gateway.schemas.common import ApiModel, AwareInstant, or_none, set_timestamp, timestamp

MAX_CODES_PER_UPLOAD = 10_000
MAX_CODE_LENGTH = 200


class CodeInput(ApiModel):
    """One voucher code to add to an item's pool (a JSON entry, or a CSV line code,pin,expires_at)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore",
                              str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=MAX_CODE_LENGTH)
    pin: str | None = Field(default=None, max_length=MAX_CODE_LENGTH)
    expires_at: AwareInstant | None = Field(default=None, description="with a timezone, e.g. 2027-01-31T23:59:59Z")

    def to_proto(self) -> fulfillment_pb2.CodeInput:
        code = fulfillment_pb2.CodeInput(code=self.code, pin=self.pin or "")
        if self.expires_at is not None:
            set_timestamp(code.expires_at, self.expires_at)
        return code


class CodeUpload(ApiModel):
    codes: list[CodeInput] = Field(min_length=1, max_length=MAX_CODES_PER_UPLOAD)


class CodeUploadResult(ApiModel):
    added: int
    duplicates: int = Field(description="codes the pool already held, left as they were")


class CodePool(ApiModel):
    available: int
    assigned: int
    expired: int
    low_threshold: int
    own_threshold: bool = Field(description="lowThreshold is the pool's own (PUT .../codes/threshold); false: "
                                            "the fulfillment service's LOW_POOL_THRESHOLD")
    low: bool = Field(description="available is below lowThreshold (a code_pool.low event when a claim crosses it)")
    masked_sample: list[str] = Field(description="a few available codes, masked")

    @classmethod
    def from_proto(cls, p: fulfillment_pb2.GetCodePoolResponse) -> CodePool:
        return cls(available=p.available, assigned=p.assigned, expired=p.expired, low_threshold=p.low_threshold,
                   own_threshold=p.own_threshold, low=p.low, masked_sample=list(p.masked_sample))


class CodePoolThreshold(ApiModel):
    """PUT /v1/admin/items/{id}/codes/threshold."""

    low_threshold: int | None = Field(ge=0, le=1_000_000_000,
                                      description="the pool is low below this; null: back to LOW_POOL_THRESHOLD")


JOB_STATE_NAMES = {v: k.removeprefix("JOB_STATE_") for k, v in fulfillment_pb2.JobState.items() if v}
JOB_STATE_VALUES = {v: k for k, v in JOB_STATE_NAMES.items()}
OUTCOME_VALUES = {k.removeprefix("RESULT_OUTCOME_"): v for k, v in fulfillment_pb2.ResultOutcome.items() if v}
OutcomeName = Literal["AWAITING_VENDOR", "AWAITING_CUSTOMER", "PURCHASED", "COMPLETED", "FAILED", "SHIPPED",
                      "DELIVERED"]


class FulfillmentJob(ApiModel):
    redemption_id: str
    item_id: str
    strategy: str = Field(description="code_pool, webhook, physical, bonus, free_rounds or manual")
    state: str = Field(description="PENDING, RUNNING, WAITING, SUCCEEDED or FAILED")
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    delivery_status: str | None
    tracking_number: str | None
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_proto(cls, j: fulfillment_pb2.Job) -> FulfillmentJob:
        return cls(redemption_id=j.redemption_id, item_id=j.item_id, strategy=j.strategy,
                   state=JOB_STATE_NAMES.get(j.state, "UNSPECIFIED"), attempts=j.attempts,
                   last_error=or_none(j.last_error), next_attempt_at=timestamp(j, "next_attempt_at"),
                   delivery_status=or_none(j.delivery_status), tracking_number=or_none(j.tracking_number),
                   created_at=timestamp(j, "created_at"), updated_at=timestamp(j, "updated_at"))


class FulfillmentJobList(ApiModel):
    jobs: list[FulfillmentJob]
    next_cursor: str | None


class JobFailure(ApiModel):
    reason: str = Field(min_length=1, max_length=500, description="why the job is given up; the player is refunded")


class JobAdvance(ApiModel):
    outcome: OutcomeName
    tracking_number: str | None = Field(default=None, max_length=128)
    note: str | None = Field(default=None, max_length=1000)

    @field_validator("outcome", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.upper() if isinstance(v, str) else v


class Shipment(ApiModel):
    tracking_number: str = Field(min_length=1, max_length=128)


class CallbackReceipt(ApiModel):
    status: Literal["ok"] = "ok"
