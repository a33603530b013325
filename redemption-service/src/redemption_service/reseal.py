"""Sealing what is stored: codes and PINs left in clear by a version before sealing (at every start, through a
partial index that is empty once they are sealed), and, after a key rotation, every sealed code re-sealed under
the newest key so the old key can be dropped:

    CODE_ENCRYPTION_KEYS="<new>,<old>" DATABASE_URL=... python -m redemption_service.reseal

Each row is rewritten only if it did not change meanwhile (a result merged into it is re-sealed next time). It
prints one JSON line: rows re-sealed, and rows no key opens (left as they are; the error names the setting)."""

from __future__ import annotations

import logging

from service_kit.pgpool import PgPool
from service_kit.sealing import Resealed, SealError, reseal_command
from service_kit.settings import load_settings

from redemption_service import repository
from redemption_service.codes import Codes
from redemption_service.config import Settings

log = logging.getLogger(__name__)

BATCH = 500


async def seal_stored_codes(pool: PgPool, codes: Codes, *, in_clear_only: bool, batch: int = BATCH) -> Resealed:
    """in_clear_only: only rows not sealed yet (cheap: the partial index); else every row with a code or PIN,
    re-sealed under the newest key."""
    after, resealed, unreadable = "", 0, 0
    while True:
        rows = await repository.stored_secrets(pool, after_id=after, limit=batch, in_clear_only=in_clear_only)
        for redemption_id, stored in rows:
            try:
                new = codes.reseal(stored)
            except SealError:
                unreadable += 1
                log.error("a stored code cannot be unsealed with any key of CODE_ENCRYPTION_KEYS",
                          extra={"redemption_id": redemption_id})
                continue
            if new is not None and await repository.replace_fulfillment(pool, redemption_id, stored, new):
                resealed += 1
        if len(rows) < batch:
            return Resealed(resealed, unreadable)
        after = rows[-1][0]


async def seal_codes_in_clear(pool: PgPool, codes: Codes) -> None:
    """At start: rows written before codes were sealed are sealed now (nothing to do once they are)."""
    done = await seal_stored_codes(pool, codes, in_clear_only=True)
    if done.resealed or done.unreadable:
        log.info("codes left in clear sealed", extra={"resealed": done.resealed, "unreadable": done.unreadable})


async def _main(settings: Settings) -> Resealed:
    pool = await PgPool.open(settings.database_url, size=1)
    try:
        return await seal_stored_codes(pool, Codes.from_setting(settings.code_encryption_keys.get_secret_value()),
                                       in_clear_only=False)
    finally:
        await pool.close()


def main() -> None:
    reseal_command(lambda: _main(load_settings(Settings)))


if __name__ == "__main__":
    main()
