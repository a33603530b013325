from enum import StrEnum


class ItemChangesFulfillmentStrategyType0(StrEnum):
    BONUS = "bonus"
    CODE_POOL = "code_pool"
    FREE_ROUNDS = "free_rounds"
    MANUAL = "manual"
    PHYSICAL = "physical"
    WEBHOOK = "webhook"

    def __str__(self) -> str:
        return str(self.value)
