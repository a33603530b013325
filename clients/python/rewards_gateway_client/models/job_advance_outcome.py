from enum import StrEnum


class JobAdvanceOutcome(StrEnum):
    AWAITING_CUSTOMER = "AWAITING_CUSTOMER"
    AWAITING_VENDOR = "AWAITING_VENDOR"
    COMPLETED = "COMPLETED"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"
    PURCHASED = "PURCHASED"
    SHIPPED = "SHIPPED"

    def __str__(self) -> str:
        return str(self.value)
