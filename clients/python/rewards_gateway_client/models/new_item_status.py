from enum import StrEnum


class NewItemStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DRAFT = "DRAFT"
    INACTIVE = "INACTIVE"

    def __str__(self) -> str:
        return str(self.value)
