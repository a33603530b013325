"""gateway tables: tenants and the credentials of their back ends. Secrets are stored only as sha256 hashes;
token signing keys are stored as they are, since HMAC needs the key itself."""

from __future__ import annotations

from service_kit.db import NAMING_CONVENTION
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    func,
    text,
)

metadata = MetaData(naming_convention=NAMING_CONVENTION)

tenants = Table(
    "tenants",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # The integer seed 001's clients name the tenant by (/gateway/coins/redeem/{version}/{brand_id}); optional.
    Column("brand_id", Integer, unique=True),
    CheckConstraint("brand_id >= 0", name="brand_id_not_negative"),
)

api_clients = Table(
    "api_clients",
    metadata,
    Column("client_id", String(64), primary_key=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("secret_hash", String(64), nullable=False),
    Column("admin", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("secret_rotated_at", DateTime(timezone=True)),
    Column("revoked_at", DateTime(timezone=True)),
    CheckConstraint("environment IN ('live', 'sandbox')", name="environment_known"),
    Index("ix_api_clients_tenant", "tenant_id", "environment"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("tenant_id", String(64), ForeignKey("tenants.id"), nullable=False),
    Column("environment", String(16), nullable=False),
    Column("name", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("admin", Boolean, nullable=False, server_default="false"),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    CheckConstraint("environment IN ('live', 'sandbox')", name="environment_known"),
    Index("ix_api_keys_tenant", "tenant_id", "environment"),
)

# active: signs and verifies (exactly one, by the partial unique index); verifying: a rotated-out key that still
# verifies the tokens it signed; retired: verifies nothing, its secret erased.
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(64), primary_key=True),
    Column("secret", String(128), nullable=False),
    Column("status", String(16), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("rotated_at", DateTime(timezone=True)),
    Column("retired_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('active', 'verifying', 'retired')", name="status_known"),
    CheckConstraint("status = 'retired' OR length(secret) >= 32", name="secret_present"),
    Index("uq_signing_keys_one_active", "status", unique=True, postgresql_where=text("status = 'active'")),
)

# The rate limit's buckets shared by the gateway replicas (gateway/rate_limit.py): a client credential's digest,
# its tokens at `at` (the database's clock). Written only by the rate limit's batched statements.
rate_limit_buckets = Table(
    "rate_limit_buckets",
    metadata,
    Column("client", LargeBinary, primary_key=True),
    Column("tokens", Float(precision=53), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_rate_limit_buckets_at", "at"),
)
