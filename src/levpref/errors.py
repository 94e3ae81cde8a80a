"""The one table of error codes, and the exception tree.

Rules:
- Every refusal the server can give is a class here; the class carries its wire code as class data.
- Nothing here knows HTTP. A class's **shape** (its place in the tree below) says how the edge renders it:
  ``KrakenError`` as Kraken's shape A (HTTP 200, ``{"result":"error","error":code}``), ``BusinessError`` as shape B
  (HTTP 500, ``{"status":"INTERNAL_SERVER_ERROR","errors":[{"code":n,"message":m}]}``), ``AdminError`` as the admin
  API's ``{"error","detail"}``. The edge has one renderer per shape and finds it by walking the class's MRO.
- A Kraken refusal's **category** (a second base) says what of the refused request commits (SPEC §2.2, §2.3):
  ``GateRefusal`` — the request was not let in: only what the gate charged commits (a failed authentication's
  buckets; a nonce that passed the window); ``EndpointRefusal`` — the endpoint refused a request that was let in:
  its rate charge and its nonce commit, nothing else. Every class raised by a Kraken use case has exactly one.
- ``tests/unit/test_errors.py`` checks that the tree and the category lists drawn here are the classes' real bases.

The shapes (each line: a class, then its subclasses indented under it)::

    LevprefError
        KrakenError
            AuthenticationError
            AccountInactive
            ApiLimitExceeded
                FailedAuthLimitExceeded
            NonceBelowThreshold
            NonceDuplicate
            InvalidArgument
                LeverageAboveCap
            RequiredArgumentMissing
            MarketUnavailable
            NotFound
            ServerError
        BusinessError
            ContractDoesNotExist
            ContractNotMultiCollateral
            WouldCauseLiquidation
            InsufficientMargin
            CurrencyDoesNotExist
            CurrencyNotEnabledForMultiCollateral
        AdminError
            AdminBadRequest
                InvalidInput
            AdminUnauthorized
            AdminNotFound
            AdminRateLimited

The categories (each class listed is a direct subclass)::

    GateRefusal: AuthenticationError, AccountInactive, ApiLimitExceeded, NonceBelowThreshold, NonceDuplicate
    EndpointRefusal: InvalidArgument, RequiredArgumentMissing, MarketUnavailable, NotFound, BusinessError
"""

from __future__ import annotations

from typing import ClassVar


class LevprefError(Exception):
    """Base of every error levpref raises on purpose."""


class GateRefusal(LevprefError):
    """Category: the request was not let in (authentication, nonce, rate budget, inactive account). What the gate
    charged on the way commits; nothing else does."""


class EndpointRefusal(LevprefError):
    """Category: the endpoint refused a request the gate let in. Its rate charge and nonce commit; the endpoint
    decides before it writes, so nothing else is written."""


class KrakenError(LevprefError):
    """A generic Kraken error string (shape A)."""

    code: ClassVar[str] = "unknownError"


class AuthenticationError(KrakenError, GateRefusal):
    code = "authenticationError"


class AccountInactive(KrakenError, GateRefusal):
    code = "accountInactive"


class ApiLimitExceeded(KrakenError, GateRefusal):
    code = "apiLimitExceeded"


class FailedAuthLimitExceeded(ApiLimitExceeded):
    """Too many failed authentications from one client IP or against one key (answered as apiLimitExceeded)."""


class InvalidArgument(KrakenError, EndpointRefusal):
    code = "invalidArgument"


class LeverageAboveCap(InvalidArgument):
    """A ``maxLeverage`` above the cap of the contract's margin schedule at the current notional (SPEC §3.3)."""


class RequiredArgumentMissing(KrakenError, EndpointRefusal):
    code = "requiredArgumentMissing"


class MarketUnavailable(KrakenError, EndpointRefusal):
    code = "marketUnavailable"


class NonceBelowThreshold(KrakenError, GateRefusal):
    code = "nonceBelowThreshold"


class NonceDuplicate(KrakenError, GateRefusal):
    code = "nonceDuplicate"


class NotFound(KrakenError, EndpointRefusal):
    code = "notFound"


class ServerError(KrakenError):
    code = "Server Error"


class BusinessError(EndpointRefusal):
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
