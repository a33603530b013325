"""Settings from the environment, failing fast with the name of the missing variable."""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

S = TypeVar("S", bound=BaseSettings)


class ServiceSettings(BaseSettings):
    """Settings every service has. Subclasses add their own; field FOO reads the variable FOO."""

    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    log_level: str = "INFO"
    # Calls in flight get this long to finish after SIGTERM.
    shutdown_grace_seconds: float = 10.0


def load_settings(cls: type[S]) -> S:
    """Builds cls from the environment; on a missing or bad variable, exits naming it."""
    try:
        return cls()
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            if err["type"] == "missing":
                lines.append(f"missing required setting {name}")
            else:
                lines.append(f"bad setting {name}: {err['msg']}")
        sys.stderr.write("configuration error: " + "; ".join(lines) + "\n")
        raise SystemExit(2) from None
