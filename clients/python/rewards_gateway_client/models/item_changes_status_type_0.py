from enum import StrEnum


class ItemChangesStatusType0(StrEnum):
    ACTIVE = "ACTIVE"
    DRAFT = "DRAFT"
    INACTIVE = "INACTIVE"

    def __str__(self) -> str:
        return str(self.value)
