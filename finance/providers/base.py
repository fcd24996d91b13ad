"""What the finance app needs from a payment provider, and nothing more.

A provider creates a payment and sends the member to its checkout page; afterwards we only ever
trust what `get_payment` returns (a webhook says no more than "look again at payment X").
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from coop.lib.money import ZERO

# The statuses a provider reports (Mollie's words). "authorized" only exists for pay-later methods;
# we treat it as pending.
OPEN, PENDING, AUTHORIZED, PAID = "open", "pending", "authorized", "paid"
FAILED, CANCELED, EXPIRED = "failed", "canceled", "expired"
STATUSES = frozenset({OPEN, PENDING, AUTHORIZED, PAID, FAILED, CANCELED, EXPIRED})


@dataclass(frozen=True)
class ProviderPayment:
    id: str
    status: str
    checkout_url: str
    amount: Decimal
    amount_refunded: Decimal = ZERO
    amount_charged_back: Decimal = ZERO
    metadata: dict[str, Any] = field(default_factory=dict)
    expires_at: dt.datetime | None = None


class ProviderError(Exception):
    """The provider could not do what we asked. `temporary`: worth trying again later."""

    def __init__(self, message: str, *, temporary: bool = True):
        super().__init__(message)
        self.temporary = temporary


class ProviderUnavailable(ProviderError):
    """This provider may not be used here (the demo provider on a production install)."""

    def __init__(self, message: str):
        super().__init__(message, temporary=False)


class PaymentProvider(ABC):
    name: str = ""

    @abstractmethod
    def create_payment(
        self,
        *,
        amount: Decimal,
        description: str,
        redirect_url: str,
        webhook_url: str,
        metadata: dict[str, Any],
    ) -> ProviderPayment:
        """Start a payment; the member pays at `checkout_url`. `webhook_url` may be empty."""

    @abstractmethod
    def get_payment(self, id: str) -> ProviderPayment:
        """The payment as the provider knows it now."""

    @abstractmethod
    def create_refund(
        self, *, payment_id: str, amount: Decimal, description: str, idempotency_key: str
    ) -> None:
        """Pay `amount` of a paid payment back to the account it came from."""
