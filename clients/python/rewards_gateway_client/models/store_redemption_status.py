from enum import StrEnum


class StoreRedemptionStatus(StrEnum):
    FAILED = "failed"
    FULFILLED = "fulfilled"
    PENDING = "pending"

    def __str__(self) -> str:
        return str(self.value)
