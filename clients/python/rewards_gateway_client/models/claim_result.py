from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="ClaimResult")


@_attrs_define
class ClaimResult:
    """
    Attributes:
        success (bool):
        transaction_id (int | None): the wallet ledger entry of the debit
        financial_ref_id (int | None): the bonus or free-rounds id, once the bonus engine gave one
        new_balance (str): the balance after the debit, a decimal string ("150.50")
        amount (str): the coins debited, a decimal string ("100.00")
        already_processed (bool):
    """

    success: bool
    transaction_id: int | None
    financial_ref_id: int | None
    new_balance: str
    amount: str
    already_processed: bool
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        success = self.success

        transaction_id: int | None
        transaction_id = self.transaction_id

        financial_ref_id: int | None
        financial_ref_id = self.financial_ref_id

        new_balance = self.new_balance

        amount = self.amount

        already_processed = self.already_processed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "success": success,
                "transaction_id": transaction_id,
                "financial_ref_id": financial_ref_id,
                "new_balance": new_balance,
                "amount": amount,
                "already_processed": already_processed,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        success = d.pop("success")

        def _parse_transaction_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        transaction_id = _parse_transaction_id(d.pop("transaction_id"))

        def _parse_financial_ref_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        financial_ref_id = _parse_financial_ref_id(d.pop("financial_ref_id"))

        new_balance = d.pop("new_balance")

        amount = d.pop("amount")

        already_processed = d.pop("already_processed")

        claim_result = cls(
            success=success,
            transaction_id=transaction_id,
            financial_ref_id=financial_ref_id,
            new_balance=new_balance,
            amount=amount,
            already_processed=already_processed,
        )

        claim_result.additional_properties = d
        return claim_result

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
