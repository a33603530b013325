"""The endpoints' signing secrets are sealed at rest (event_log.SecretVault, setting WEBHOOK_SECRET_KEYS): a Fernet
token of a `whsec_` secret is 164 characters, so `secret` and `previous_secret` grow to 255.

Rows written before hold their secrets in clear; sealing needs WEBHOOK_SECRET_KEYS, which a migration does not
have, so the service seals them at start (reseal.seal_secrets_in_clear), and uses a secret in clear as it is until
then.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("secret", "previous_secret"):
        op.alter_column("webhook_endpoints", column, type_=sa.String(255), existing_type=sa.String(100))


def downgrade() -> None:
    # Sealed secrets do not fit back in 100 characters, nor mean anything to a version before sealing.
    raise NotImplementedError("webhook secrets are sealed: a downgrade past 0003 would lose them")
