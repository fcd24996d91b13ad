"""Mollie (iDEAL), through mollie-api-python v4. Amounts go over the wire as "10.00" strings."""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from mollie.api.client import Client
from mollie.api.error import Error as MollieError
from mollie.api.error import RequestError, ResponseError
from mollie.api.objects.payment import Payment as MolliePayment

from coop.lib.money import ZERO, round_money

from .base import PENDING, STATUSES, PaymentProvider, ProviderError, ProviderPayment

logger = logging.getLogger(__name__)


def mollie_amount(amount: Decimal) -> dict[str, str]:
    return {"currency": "EUR", "value": f"{round_money(amount):.2f}"}


def _money(value: Any) -> Decimal:
    if not value:
        return ZERO
    if value.get("currency", "EUR") != "EUR":
        raise ProviderError(
            f"Mollie reported an amount in {value.get('currency')}", temporary=False
        )
    try:
        return round_money(Decimal(str(value["value"])))
    except (KeyError, InvalidOperation):
        raise ProviderError(
            f"Mollie reported an unreadable amount: {value!r}", temporary=False
        ) from None


def _when(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _error(exc: MollieError) -> ProviderError:
    # Our mistakes and Mollie's refusals (4xx) do not get better by trying again; network trouble
    # and Mollie's own errors (5xx, unreadable answers) may.
    status = getattr(exc, "status", None)
    temporary = isinstance(exc, RequestError) or not (
        isinstance(exc, ResponseError) and status is not None and 400 <= int(status) < 500
    )
    return ProviderError(f"Mollie: {exc}", temporary=temporary)


class MollieProvider(PaymentProvider):
    name = "mollie"

    def __init__(self, api_key: str | None = None):
        key = api_key or settings.MOLLIE_API_KEY
        if not key:
            raise ProviderError("MOLLIE_API_KEY is not set", temporary=False)
        self.client = Client()
        try:
            self.client.set_api_key(key)
        except MollieError as exc:
            raise ProviderError(f"Mollie: {exc}", temporary=False) from None

    def _read(self, payment: MolliePayment) -> ProviderPayment:
        status = payment.status
        if status not in STATUSES:
            logger.warning("Mollie payment %s has unknown status %r", payment.id, status)
            status = PENDING
        return ProviderPayment(
            id=payment.id,
            status=status,
            checkout_url=payment.checkout_url or "",
            amount=_money(payment.amount),
            amount_refunded=_money(payment.amount_refunded),
            amount_charged_back=_money(payment.amount_chargedback),
            metadata=payment.metadata or {},
            expires_at=_when(payment.expires_at),
        )

    def create_payment(
        self,
        *,
        amount: Decimal,
        description: str,
        redirect_url: str,
        webhook_url: str,
        metadata: dict[str, Any],
    ) -> ProviderPayment:
        data: dict[str, Any] = {
            "amount": mollie_amount(amount),
            "description": description[:255],
            "redirectUrl": redirect_url,
            "method": "ideal",
            "locale": "nl_NL",
            "metadata": metadata,
        }
        if webhook_url:
            data["webhookUrl"] = webhook_url
        try:
            return self._read(self.client.payments.create(data))
        except MollieError as exc:
            raise _error(exc) from exc

    def get_payment(self, id: str) -> ProviderPayment:
        try:
            return self._read(self.client.payments.get(id))
        except MollieError as exc:
            raise _error(exc) from exc

    def create_refund(
        self, *, payment_id: str, amount: Decimal, description: str, idempotency_key: str
    ) -> None:
        payment = MolliePayment({"id": payment_id}, self.client)
        try:
            payment.refunds.create(
                {"amount": mollie_amount(amount), "description": description[:140]},
                idempotency_key=idempotency_key,
            )
        except MollieError as exc:
            raise _error(exc) from exc
