"""The one table of error codes, and the exception tree.

Rules:
- Every refusal the server can give is a class here; the class carries its wire code as class data.
- Nothing here knows HTTP. ``KrakenError`` subclasses render as Kraken's shape A (HTTP 200,
  ``{"result":"error","error":code}``); ``BusinessError`` subclasses as shape B (HTTP 500,
  ``{"status":"INTERNAL_SERVER_ERROR","errors":[{"code":n,"message":m}]}``). The HTTP edge owns that mapping.

::

    LevprefError
    ├── KrakenError                  shape A, one per Kraken error string
    │   ├── AuthenticationError, AccountInactive, ApiLimitExceeded (FailedAuthLimitExceeded),
    │   ├── InvalidArgument (LeverageAboveCap),
    │   ├── RequiredArgumentMissing, MarketUnavailable, NonceBelowThreshold, NonceDuplicate,
    │   └── NotFound, ServerError
    ├── BusinessError                shape B, numbered
    │   ├── ContractDoesNotExist 87, ContractNotMultiCollateral 88, WouldCauseLiquidation 41,
    │   └── InsufficientMargin 92, CurrencyDoesNotExist 89, CurrencyNotEnabledForMultiCollateral 90
    └── AdminError                   the admin API's JSON errors: AdminBadRequest (InvalidInput), AdminUnauthorized,
                                     AdminNotFound, AdminRateLimited
        └── AdminBadRequest
            └── InvalidInput "invalid"   input that does not decode into its typed value (``ScenarioError``)
"""

from __future__ import annotations

from typing import ClassVar


class LevprefError(Exception):
    """Base of every error levpref raises on purpose."""


class KrakenError(LevprefError):
    """A generic Kraken error string (shape A)."""

    code: ClassVar[str] = "unknownError"


class AuthenticationError(KrakenError):
    code = "authenticationError"


class AccountInactive(KrakenError):
    code = "accountInactive"


class ApiLimitExceeded(KrakenError):
    code = "apiLimitExceeded"


class FailedAuthLimitExceeded(ApiLimitExceeded):
    """Too many failed authentications from one client IP or against one key (answered as apiLimitExceeded)."""


class InvalidArgument(KrakenError):
    code = "invalidArgument"


class LeverageAboveCap(InvalidArgument):
    """A ``maxLeverage`` above the cap of the contract's margin schedule at the current notional (SPEC §3.3)."""


class RequiredArgumentMissing(KrakenError):
    code = "requiredArgumentMissing"


class MarketUnavailable(KrakenError):
    code = "marketUnavailable"


class NonceBelowThreshold(KrakenError):
    code = "nonceBelowThreshold"


class NonceDuplicate(KrakenError):
    code = "nonceDuplicate"


class NotFound(KrakenError):
    code = "notFound"


class ServerError(KrakenError):
    code = "Server Error"


class BusinessError(LevprefError):
    """A numbered refusal of the preference endpoints (shape B)."""

    number: ClassVar[int] = 0
    message: ClassVar[str] = ""


class ContractDoesNotExist(BusinessError):
    number = 87
    message = "CONTRACT_DOES_NOT_EXIST"


class ContractNotMultiCollateral(BusinessError):
    number = 88
    message = "CONTRACT_NOT_MULTI_COLLATERAL"


class WouldCauseLiquidation(BusinessError):
    number = 41
    message = "WOULD_CAUSE_LIQUIDATION"


class InsufficientMargin(BusinessError):
    number = 92
    message = "INSUFFICIENT_MARGIN"


class CurrencyDoesNotExist(BusinessError):
    number = 89
    message = "CURRENCY_DOES_NOT_EXIST"


class CurrencyNotEnabledForMultiCollateral(BusinessError):
    number = 90
    message = "CURRENCY_NOT_ENABLED_FOR_MULTI_COLLATERAL"


class AdminError(LevprefError):
    """An admin API refusal: ``status`` is a hint for the edge, ``detail`` a fixed, non-secret explanation."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "AdminError"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class AdminBadRequest(AdminError):
    status = 400
    code = "AdminBadRequest"


class AdminUnauthorized(AdminError):
    status = 401
    code = "AdminUnauthorized"


class AdminNotFound(AdminError):
    status = 404
    code = "AdminNotFound"


class AdminRateLimited(AdminError):
    """Too many failed admin authentications from one client address (SPEC §4)."""

    status = 429
    code = "AdminRateLimited"


class InvalidInput(AdminBadRequest):
    """Input refused by the strict input rules (SPEC §4): ``detail`` is ``field.path: what was expected``."""

    code = "invalid"


ScenarioError = InvalidInput  # its former name: a scenario that cannot be loaded, nothing of it applied
