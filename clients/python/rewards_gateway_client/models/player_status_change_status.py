from enum import StrEnum


class PlayerStatusChangeStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"

    def __str__(self) -> str:
        return str(self.value)
