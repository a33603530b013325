"""service_kit.scope.Scope: the tenant bound, checked once for every service's requests."""

from __future__ import annotations

import pytest
from rewards.common.v1 import common_pb2
from service_kit.errors import DomainError, ErrorCode
from service_kit.scope import MAX_TENANT_ID, Scope


def test_a_scope_is_a_tenant_of_at_most_64_characters_in_live_or_sandbox() -> None:
    longest = "t" * MAX_TENANT_ID
    assert Scope.from_proto(common_pb2.Scope(tenant_id=longest, environment=common_pb2.ENVIRONMENT_SANDBOX)) == \
        Scope(longest, "sandbox")


@pytest.mark.parametrize("scope, message", [
    (common_pb2.Scope(environment=common_pb2.ENVIRONMENT_LIVE), "scope.tenant_id is required"),
    (common_pb2.Scope(tenant_id="t" * (MAX_TENANT_ID + 1), environment=common_pb2.ENVIRONMENT_LIVE),
     "scope.tenant_id must be at most 64 characters"),
    (common_pb2.Scope(tenant_id="acme"), "scope.environment must be live or sandbox"),
])
def test_anything_else_is_refused_naming_the_field(scope: common_pb2.Scope, message: str) -> None:
    with pytest.raises(DomainError) as refused:
        Scope.from_proto(scope)
    assert (refused.value.code, refused.value.message) == (ErrorCode.VALIDATION_ERROR, message)
