"""The demo provider: pays without money, for the offline demo and development.

Its payments live in our database (DemoPayment) and it has its own checkout page with the
buttons Betaald / Mislukt / Geannuleerd; the page then calls the same webhook code as Mollie does.
It refuses to work unless DEBUG or COOP_DEMO is on, so an install without a Mollie key takes no
fake payments.
"""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from coop.lib.money import round_money

from ..models import DemoPayment
from .base import PAID, PaymentProvider, ProviderError, ProviderPayment, ProviderUnavailable

EXPIRES_AFTER = dt.timedelta(minutes=15)


def demo_allowed() -> bool:
    return bool(settings.DEBUG or getattr(settings, "COOP_DEMO", False))


def demo_checkout_path(demo_id: str) -> str:
    return reverse("finance:demo_checkout", args=[demo_id])


def _origin(url: str) -> str:
    """The checkout page lives on the site the member came from (the redirect URL's host)."""
    parts = urlsplit(url)
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return settings.SITE_URL


class DemoProvider(PaymentProvider):
    name = "demo"

    def __init__(self) -> None:
        if not demo_allowed():
            raise ProviderUnavailable(
                "The demo payment provider only works with DEBUG or COOP_DEMO on; "
                "set MOLLIE_API_KEY to take real payments."
            )

    @staticmethod
    def _read(row: DemoPayment) -> ProviderPayment:
        if row.status == DemoPayment.Status.OPEN and row.expires_at <= timezone.now():
            row.status = DemoPayment.Status.EXPIRED
            DemoPayment.objects.filter(pk=row.pk, status=DemoPayment.Status.OPEN).update(
                status=DemoPayment.Status.EXPIRED
            )
        open_ = row.status == DemoPayment.Status.OPEN
        return ProviderPayment(
            id=row.pk,
            status=row.status,
            checkout_url=_origin(row.redirect_url) + demo_checkout_path(row.pk) if open_ else "",
            amount=row.amount,
            amount_refunded=row.amount_refunded,
            amount_charged_back=row.amount_charged_back,
            metadata=row.metadata,
            expires_at=row.expires_at,
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
        row = DemoPayment.objects.create(
            id=f"demo_{secrets.token_urlsafe(18)}",
            amount=round_money(amount),
            description=description[:255],
            redirect_url=redirect_url,
            webhook_url=webhook_url,
            metadata=metadata,
            expires_at=timezone.now() + EXPIRES_AFTER,
        )
        return self._read(row)

    def get_payment(self, id: str) -> ProviderPayment:
        row = DemoPayment.objects.filter(pk=id).first()
        if row is None:
            raise ProviderError(f"demo payment {id} does not exist", temporary=False)
        return self._read(row)

    def create_refund(
        self, *, payment_id: str, amount: Decimal, description: str, idempotency_key: str
    ) -> None:
        with transaction.atomic():
            row = DemoPayment.objects.select_for_update().filter(pk=payment_id).first()
            if row is None or row.status != PAID:
                raise ProviderError("only a paid demo payment can be refunded", temporary=False)
            if row.amount_refunded + row.amount_charged_back + amount > row.amount:
                raise ProviderError(
                    "refund is more than what is left of the payment", temporary=False
                )
            row.amount_refunded += round_money(amount)
            row.save(update_fields=["amount_refunded"])

    # The checkout page -------------------------------------------------------------------------

    OUTCOMES = {
        PAID: DemoPayment.Status.PAID,
        "failed": DemoPayment.Status.FAILED,
        "canceled": DemoPayment.Status.CANCELED,
    }

    def checkout(self, *, id: str, outcome: str) -> DemoPayment:
        """What the member chose on the checkout page. A finished payment stays as it is."""
        status = self.OUTCOMES.get(outcome)
        if status is None:
            raise ProviderError(f"unknown demo outcome {outcome!r}", temporary=False)
        with transaction.atomic():
            row = DemoPayment.objects.select_for_update().filter(pk=id).first()
            if row is None:
                raise ProviderError(f"demo payment {id} does not exist", temporary=False)
            self._read(row)
            if row.status == DemoPayment.Status.OPEN:
                row.status = status
                row.save(update_fields=["status"])
        return row
