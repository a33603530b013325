"""The FulfillmentService servicer: proto <-> domain values, and one use case (fulfilment.Fulfilments) per RPC."""

from __future__ import annotations

from datetime import UTC, datetime

from rewards.fulfillment.v1 import fulfillment_pb2, fulfillment_pb2_grpc
from service_kit.errors import DomainError, ErrorCode
from service_kit.pgpool import PgPool
from service_kit.scope import Scope
from sqlalchemy.ext.asyncio import async_sessionmaker

from fulfillment_service.domain import (
    Advance,
    Job,
    JobOrder,
    JobState,
    NewCode,
    ProviderCallback,
    VoidOutcome,
)
from fulfillment_service.fulfilment import Fulfilments, MalformedJob, received_now
from fulfillment_service.provider_jobs import ProviderDelivery
from fulfillment_service.results import result_message
from fulfillment_service.vault import Vault

MAX_CODES_PER_UPLOAD = 10_000
MAX_CODE_LENGTH = 256
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_LOW_THRESHOLD = 1_000_000_000

_STATE_NAMES = {
    fulfillment_pb2.JOB_STATE_PENDING: JobState.PENDING,
    fulfillment_pb2.JOB_STATE_RUNNING: JobState.RUNNING,
    fulfillment_pb2.JOB_STATE_WAITING: JobState.WAITING,
    fulfillment_pb2.JOB_STATE_SUCCEEDED: JobState.SUCCEEDED,
    fulfillment_pb2.JOB_STATE_FAILED: JobState.FAILED,
    fulfillment_pb2.JOB_STATE_VOIDED: JobState.VOIDED,
}
_STATE_VALUES = {v: k for k, v in _STATE_NAMES.items()}
_OUTCOMES = fulfillment_pb2.ResultOutcome
_VOID_OUTCOMES = {
    VoidOutcome.VOIDED: fulfillment_pb2.VOID_OUTCOME_VOIDED,
    VoidOutcome.DELIVERED: fulfillment_pb2.VOID_OUTCOME_DELIVERED,
    VoidOutcome.IN_PROGRESS: fulfillment_pb2.VOID_OUTCOME_IN_PROGRESS,
}


def _codes_from(request: fulfillment_pb2.UploadCodesRequest) -> list[NewCode]:
    if not request.codes:
        raise DomainError(ErrorCode.VALIDATION_ERROR, "codes must not be empty")
    if len(request.codes) > MAX_CODES_PER_UPLOAD:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"at most {MAX_CODES_PER_UPLOAD} codes per upload")
    codes = []
    now = datetime.now(UTC)
    for i, c in enumerate(request.codes):
        code, pin = c.code.strip(), c.pin.strip()
        if not code:
            raise DomainError(ErrorCode.VALIDATION_ERROR, f"codes[{i}].code is empty")
        if len(code) > MAX_CODE_LENGTH or len(pin) > MAX_CODE_LENGTH:
            raise DomainError(ErrorCode.VALIDATION_ERROR,
                              f"codes[{i}]: code and pin are at most {MAX_CODE_LENGTH} characters")
        expires_at = c.expires_at.ToDatetime(tzinfo=UTC) if c.HasField("expires_at") else None
        if expires_at is not None and expires_at <= now:
            raise DomainError(ErrorCode.VALIDATION_ERROR, f"codes[{i}].expires_at is in the past")
        codes.append(NewCode(code=code, pin=pin, expires_at=expires_at))
    return codes


def _advance(request: fulfillment_pb2.AdvanceJobRequest) -> Advance:
    """The move, its outcome by name ("" for a value the enum has not: the use case refuses it)."""
    known = request.outcome in _OUTCOMES.values()
    target = _OUTCOMES.Name(request.outcome).removeprefix("RESULT_OUTCOME_") if known else ""
    return Advance(target=target, tracking_number=request.tracking_number, note=request.note)


def _order(request: fulfillment_pb2.FulfilNowRequest) -> JobOrder:
    """FulfilNow's job, checked as a job event is (fulfilment.received_now)."""
    if not request.HasField("job"):
        raise DomainError(ErrorCode.VALIDATION_ERROR, "job is required")
    try:
        return received_now(request.job).order
    except MalformedJob as exc:
        raise DomainError(ErrorCode.VALIDATION_ERROR, f"job: {exc}") from None


def _job(job: Job) -> fulfillment_pb2.Job:
    message = fulfillment_pb2.Job(
        redemption_id=job.redemption_id, scope=Scope(job.tenant_id, job.environment).to_proto(),
        item_id=job.item_id, strategy=job.strategy, state=_STATE_VALUES[job.state], attempts=job.attempts,
        last_error=job.last_error, delivery_status=job.delivery_status, tracking_number=job.tracking_number)
    if job.next_attempt_at is not None:
        message.next_attempt_at.FromDatetime(job.next_attempt_at)
    message.created_at.FromDatetime(job.created_at)
    message.updated_at.FromDatetime(job.updated_at)
    return message


class FulfillmentApi(fulfillment_pb2_grpc.FulfillmentServiceServicer):
    """Each RPC: its request checked and made domain values, one call of the use cases (fulfilment.Fulfilments),
    the answer made proto. Refusals are DomainErrors, made statuses by the kit's interceptor."""

    def __init__(self, sessions: async_sessionmaker, pool: PgPool, vault: Vault, provider: ProviderDelivery, *,
                 callback_secret: str, low_pool_threshold: int, stuck_after_seconds: float) -> None:
        self.fulfilments = Fulfilments(sessions, pool, vault, provider, callback_secret=callback_secret,
                                       low_pool_threshold=low_pool_threshold,
                                       stuck_after_seconds=stuck_after_seconds)

    @property
    def provider(self) -> ProviderDelivery:
        return self.fulfilments.provider

    async def UploadCodes(self, request, context):  # type: ignore[no-untyped-def]
        scope = Scope.from_proto(request.scope)
        if not request.item_id:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "item_id is required")
        added, duplicates = await self.fulfilments.upload_codes(scope, request.item_id, _codes_from(request))
        return fulfillment_pb2.UploadCodesResponse(added=added, duplicates=duplicates)

    async def GetCodePool(self, request, context):  # type: ignore[no-untyped-def]
        scope = Scope.from_proto(request.scope)
        if not request.item_id:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "item_id is required")
        status = await self.fulfilments.code_pool(scope, request.item_id)
        return fulfillment_pb2.GetCodePoolResponse(
            available=status.available, assigned=status.assigned, expired=status.expired,
            low_threshold=status.low_threshold, low=status.low, masked_sample=status.masked_sample,
            own_threshold=status.own_threshold)

    async def SetCodePoolThreshold(self, request, context):  # type: ignore[no-untyped-def]
        scope = Scope.from_proto(request.scope)
        if not request.item_id:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "item_id is required")
        threshold = request.low_threshold if request.HasField("low_threshold") else None
        if threshold is not None and not 0 <= threshold <= MAX_LOW_THRESHOLD:
            raise DomainError(ErrorCode.VALIDATION_ERROR, f"low_threshold must be 0..{MAX_LOW_THRESHOLD}")
        own = await self.fulfilments.set_code_pool_threshold(scope, request.item_id, threshold)
        return fulfillment_pb2.SetCodePoolThresholdResponse(
            low_threshold=self.fulfilments.low_pool_threshold if own is None else own, own_threshold=own is not None)

    async def ListJobs(self, request, context):  # type: ignore[no-untyped-def]
        scope = Scope.from_proto(request.scope)
        if request.page_size < 0:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "page_size must not be negative")
        if request.state != fulfillment_pb2.JOB_STATE_UNSPECIFIED and request.state not in _STATE_NAMES:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "state is not a known job state")
        page = await self.fulfilments.list_jobs(
            scope, state=_STATE_NAMES.get(request.state), stuck_only=request.stuck_only,
            page_size=min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE), page_token=request.page_token)
        return fulfillment_pb2.ListJobsResponse(jobs=[_job(j) for j in page.jobs],
                                                next_page_token=page.next_page_token)

    async def RetryJob(self, request, context):  # type: ignore[no-untyped-def]
        job = await self.fulfilments.retry_job(Scope.from_proto(request.scope), request.redemption_id)
        return fulfillment_pb2.RetryJobResponse(job=_job(job))

    async def FailJob(self, request, context):  # type: ignore[no-untyped-def]
        job = await self.fulfilments.fail_job(Scope.from_proto(request.scope), request.redemption_id, request.reason)
        return fulfillment_pb2.FailJobResponse(job=_job(job))

    async def AdvanceJob(self, request, context):  # type: ignore[no-untyped-def]
        job = await self.fulfilments.advance_job(Scope.from_proto(request.scope), request.redemption_id,
                                                 _advance(request))
        return fulfillment_pb2.AdvanceJobResponse(job=_job(job))

    async def ProviderCallback(self, request, context):  # type: ignore[no-untyped-def]
        callback = ProviderCallback(redemption_id=request.redemption_id, body=request.body,
                                    signature=request.signature, timestamp=request.timestamp)
        return fulfillment_pb2.ProviderCallbackResponse(job=_job(await self.fulfilments.accept_callback(callback)))

    async def VoidJob(self, request, context):  # type: ignore[no-untyped-def]
        void = await self.fulfilments.void_job(Scope.from_proto(request.scope), request.redemption_id, request.reason)
        return fulfillment_pb2.VoidJobResponse(outcome=_VOID_OUTCOMES[void.outcome], message=void.message)

    async def FulfilNow(self, request, context):  # type: ignore[no-untyped-def]
        result = await self.fulfilments.fulfil_now(_order(request))
        if result is None:
            return fulfillment_pb2.FulfilNowResponse()
        return fulfillment_pb2.FulfilNowResponse(result=result_message(result))
