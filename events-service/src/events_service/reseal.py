"""Sealing the stored webhook secrets: those left in clear by a version before sealing (at every start; nothing to
do once they are sealed), and, after a key rotation, every secret re-sealed under the newest key so the old key can
be dropped:

    WEBHOOK_SECRET_KEYS="<new>,<old>" DATABASE_URL=... python -m events_service.reseal

A row is rewritten only if its secrets did not change meanwhile (a rotation in between is re-sealed next time).
It prints one JSON line: endpoints re-sealed, and endpoints no key opens (left as they are; the log names the
endpoint and the setting, never a value). The table is small (at most domain.MAX_ENDPOINTS per tenant and
environment), so the rows in clear are found by a scan, in pages by id."""

from __future__ import annotations

import logging

from service_kit.pgpool import PgPool
from service_kit.sealing import Resealed, SealError, reseal_command
from service_kit.settings import load_settings

from events_service.config import Settings
from events_service.domain import SECRET_PREFIX
from events_service.event_log import SECRET_KEYS_SETTING, SecretVault

log = logging.getLogger(__name__)

BATCH = 500

_STORED = {
    True: f"""SELECT id, secret, previous_secret FROM webhook_endpoints
              WHERE (left(secret, {len(SECRET_PREFIX)}) = '{SECRET_PREFIX}'
                     OR left(previous_secret, {len(SECRET_PREFIX)}) = '{SECRET_PREFIX}')
                AND id > $1 ORDER BY id LIMIT $2""",
    False: "SELECT id, secret, previous_secret FROM webhook_endpoints WHERE id > $1 ORDER BY id LIMIT $2",
}
_STORE = """
    UPDATE webhook_endpoints SET secret = $4, previous_secret = $5
    WHERE id = $1 AND secret = $2 AND previous_secret IS NOT DISTINCT FROM $3"""


async def seal_stored_secrets(pool: PgPool, vault: SecretVault, *, in_clear_only: bool,
                              batch: int = BATCH) -> Resealed:
    """in_clear_only: only the rows holding a secret in clear; else every row, re-sealed under the newest key."""
    after, resealed, unreadable = "", 0, 0
    while True:
        rows = await pool.fetch(_STORED[in_clear_only], after, batch)
        for row in rows:
            try:
                secret = vault.reseal(row["secret"])
                previous = vault.reseal(row["previous_secret"]) if row["previous_secret"] else None
            except SealError:
                unreadable += 1
                log.error(f"a webhook secret cannot be unsealed with any key of {SECRET_KEYS_SETTING}",
                          extra={"endpoint_id": row["id"]})
                continue
            if await pool.execute(_STORE, row["id"], row["secret"], row["previous_secret"], secret,
                                  previous) == "UPDATE 1":
                resealed += 1
        if len(rows) < batch:
            return Resealed(resealed, unreadable)
        after = rows[-1]["id"]


async def seal_secrets_in_clear(pool: PgPool, vault: SecretVault) -> None:
    """At start: secrets written before they were sealed are sealed now (nothing to do once they are)."""
    done = await seal_stored_secrets(pool, vault, in_clear_only=True)
    if done.resealed or done.unreadable:
        log.info("webhook secrets left in clear sealed",
                 extra={"resealed": done.resealed, "unreadable": done.unreadable})


async def _main(settings: Settings) -> Resealed:
    pool = await PgPool.open(settings.database_url, size=1)
    try:
        return await seal_stored_secrets(pool, SecretVault.from_setting(settings.webhook_secret_keys.get_secret_value()),
                                         in_clear_only=False)
    finally:
        await pool.close()


def main() -> None:
    reseal_command(lambda: _main(load_settings(Settings)))


if __name__ == "__main__":
    main()
