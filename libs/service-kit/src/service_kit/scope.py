"""Tenant scope: every request names (tenant, environment); rows are keyed by the pair."""

from __future__ import annotations

from dataclasses import dataclass

from rewards.common.v1 import common_pb2

from service_kit.errors import DomainError, ErrorCode

# Every service keys its rows by tenant_id in a VARCHAR(64): one bound, checked here for every request.
MAX_TENANT_ID = 64
_ENV_NAMES = {common_pb2.ENVIRONMENT_LIVE: "live", common_pb2.ENVIRONMENT_SANDBOX: "sandbox"}
_ENV_VALUES = {v: k for k, v in _ENV_NAMES.items()}


@dataclass(frozen=True, slots=True)
class Scope:
    tenant_id: str
    environment: str  # "live" or "sandbox"

    @classmethod
    def from_proto(cls, scope: common_pb2.Scope) -> Scope:
        if not scope.tenant_id:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "scope.tenant_id is required")
        if len(scope.tenant_id) > MAX_TENANT_ID:
            raise DomainError(ErrorCode.VALIDATION_ERROR,
                              f"scope.tenant_id must be at most {MAX_TENANT_ID} characters")
        env = _ENV_NAMES.get(scope.environment)
        if env is None:
            raise DomainError(ErrorCode.VALIDATION_ERROR, "scope.environment must be live or sandbox")
        return cls(scope.tenant_id, env)

    def to_proto(self) -> common_pb2.Scope:
        return common_pb2.Scope(tenant_id=self.tenant_id, environment=_ENV_VALUES[self.environment])
