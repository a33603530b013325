"""Contains all the data models used in inputs/outputs"""

from .adjustment import Adjustment
from .admin_item import AdminItem
from .admin_item_fulfillment_config_type_0 import AdminItemFulfillmentConfigType0
from .admin_item_list import AdminItemList
from .admin_upload_codes_json_body import AdminUploadCodesJsonBody
from .admin_upload_codes_json_body_code_input import AdminUploadCodesJsonBodyCodeInput
from .balance import Balance
from .balances import Balances
from .callback_receipt import CallbackReceipt
from .cancel_request import CancelRequest
from .claim_error import ClaimError
from .claim_fail import ClaimFail
from .claim_result import ClaimResult
from .claim_success import ClaimSuccess
from .code_pool import CodePool
from .code_pool_threshold import CodePoolThreshold
from .code_reveal import CodeReveal
from .code_reveal_list import CodeRevealList
from .code_upload_result import CodeUploadResult
from .coins_gateway_shipping_address import CoinsGatewayShippingAddress
from .customer_info import CustomerInfo
from .event import Event
from .event_data import EventData
from .event_page import EventPage
from .fail_data import FailData
from .fail_result import FailResult
from .failure import Failure
from .field_problem import FieldProblem
from .fulfillment_data import FulfillmentData
from .fulfillment_job import FulfillmentJob
from .fulfillment_job_list import FulfillmentJobList
from .fulfillment_result import FulfillmentResult
from .fulfillment_result_data_type_0 import FulfillmentResultDataType0
from .gems_store_error import GemsStoreError
from .gems_store_field_error import GemsStoreFieldError
from .gems_store_shipping_address import GemsStoreShippingAddress
from .gift import Gift
from .gift_page import GiftPage
from .gift_redemption import GiftRedemption
from .grant import Grant
from .health import Health
from .item import Item
from .item_changes import ItemChanges
from .item_changes_fulfillment_config_type_0 import ItemChangesFulfillmentConfigType0
from .item_changes_fulfillment_strategy_type_0 import ItemChangesFulfillmentStrategyType0
from .item_changes_status_type_0 import ItemChangesStatusType0
from .item_list import ItemList
from .job_advance import JobAdvance
from .job_advance_outcome import JobAdvanceOutcome
from .job_failure import JobFailure
from .marketplace_problem_details import MarketplaceProblemDetails
from .new_item import NewItem
from .new_item_fulfillment_config_type_0 import NewItemFulfillmentConfigType0
from .new_item_fulfillmentstrategy import NewItemFulfillmentstrategy
from .new_item_status import NewItemStatus
from .new_redemption import NewRedemption
from .new_redemption_trigger_details_type_0 import NewRedemptionTriggerDetailsType0
from .new_webhook_endpoint import NewWebhookEndpoint
from .not_ready import NotReady
from .not_ready_checks import NotReadyChecks
from .offer import Offer
from .player_state import PlayerState
from .player_status_change import PlayerStatusChange
from .player_status_change_status import PlayerStatusChangeStatus
from .point_option import PointOption
from .point_type import PointType
from .point_type_definition import PointTypeDefinition
from .point_type_list import PointTypeList
from .points_lot import PointsLot
from .points_movement import PointsMovement
from .price import Price
from .problem import Problem
from .quote import Quote
from .quote_request import QuoteRequest
from .readiness import Readiness
from .readiness_checks import ReadinessChecks
from .receive_provider_callback_body import ReceiveProviderCallbackBody
from .redeem_gift import RedeemGift
from .redeem_points_request import RedeemPointsRequest
from .redeem_points_request_trigger_details_type_0 import RedeemPointsRequestTriggerDetailsType0
from .redemption import Redemption
from .redemption_list import RedemptionList
from .redemption_page import RedemptionPage
from .redemption_trigger_details_type_0 import RedemptionTriggerDetailsType0
from .resend import Resend
from .review_decision import ReviewDecision
from .review_rule_list import ReviewRuleList
from .review_rule_set import ReviewRuleSet
from .review_rules import ReviewRules
from .review_state import ReviewState
from .secret_rotation import SecretRotation
from .shipment import Shipment
from .shipping_address import ShippingAddress
from .stock_adjustment import StockAdjustment
from .store_redeem_request import StoreRedeemRequest
from .store_redemption import StoreRedemption
from .store_redemption_status import StoreRedemptionStatus
from .targeting import Targeting
from .token_request import TokenRequest
from .token_response import TokenResponse
from .transaction import Transaction
from .transaction_list import TransactionList
from .variant import Variant
from .wallet_balance import WalletBalance
from .webhook_attempt import WebhookAttempt
from .webhook_attempt_list import WebhookAttemptList
from .webhook_endpoint import WebhookEndpoint
from .webhook_endpoint_changes import WebhookEndpointChanges
from .webhook_endpoint_list import WebhookEndpointList
from .webhook_endpoint_with_secret import WebhookEndpointWithSecret

__all__ = (
    "Adjustment",
    "AdminItem",
    "AdminItemFulfillmentConfigType0",
    "AdminItemList",
    "AdminUploadCodesJsonBody",
    "AdminUploadCodesJsonBodyCodeInput",
    "Balance",
    "Balances",
    "CallbackReceipt",
    "CancelRequest",
    "ClaimError",
    "ClaimFail",
    "ClaimResult",
    "ClaimSuccess",
    "CodePool",
    "CodePoolThreshold",
    "CodeReveal",
    "CodeRevealList",
    "CodeUploadResult",
    "CoinsGatewayShippingAddress",
    "CustomerInfo",
    "Event",
    "EventData",
    "EventPage",
    "FailData",
    "FailResult",
    "Failure",
    "FieldProblem",
    "FulfillmentData",
    "FulfillmentJob",
    "FulfillmentJobList",
    "FulfillmentResult",
    "FulfillmentResultDataType0",
    "GemsStoreError",
    "GemsStoreFieldError",
    "GemsStoreShippingAddress",
    "Gift",
    "GiftPage",
    "GiftRedemption",
    "Grant",
    "Health",
    "Item",
    "ItemChanges",
    "ItemChangesFulfillmentConfigType0",
    "ItemChangesFulfillmentStrategyType0",
    "ItemChangesStatusType0",
    "ItemList",
    "JobAdvance",
    "JobAdvanceOutcome",
    "JobFailure",
    "MarketplaceProblemDetails",
    "NewItem",
    "NewItemFulfillmentConfigType0",
    "NewItemFulfillmentstrategy",
    "NewItemStatus",
    "NewRedemption",
    "NewRedemptionTriggerDetailsType0",
    "NewWebhookEndpoint",
    "NotReady",
    "NotReadyChecks",
    "Offer",
    "PlayerState",
    "PlayerStatusChange",
    "PlayerStatusChangeStatus",
    "PointOption",
    "PointsLot",
    "PointsMovement",
    "PointType",
    "PointTypeDefinition",
    "PointTypeList",
    "Price",
    "Problem",
    "Quote",
    "QuoteRequest",
    "Readiness",
    "ReadinessChecks",
    "ReceiveProviderCallbackBody",
    "RedeemGift",
    "RedeemPointsRequest",
    "RedeemPointsRequestTriggerDetailsType0",
    "Redemption",
    "RedemptionList",
    "RedemptionPage",
    "RedemptionTriggerDetailsType0",
    "Resend",
    "ReviewDecision",
    "ReviewRuleList",
    "ReviewRules",
    "ReviewRuleSet",
    "ReviewState",
    "SecretRotation",
    "Shipment",
    "ShippingAddress",
    "StockAdjustment",
    "StoreRedeemRequest",
    "StoreRedemption",
    "StoreRedemptionStatus",
    "Targeting",
    "TokenRequest",
    "TokenResponse",
    "Transaction",
    "TransactionList",
    "Variant",
    "WalletBalance",
    "WebhookAttempt",
    "WebhookAttemptList",
    "WebhookEndpoint",
    "WebhookEndpointChanges",
    "WebhookEndpointList",
    "WebhookEndpointWithSecret",
)
