"""Payment providers: Mollie for real money, the demo provider offline. See base.py."""

from __future__ import annotations

from django.conf import settings

from .base import (
    PaymentProvider,
    ProviderError,
    ProviderPayment,
    ProviderUnavailable,
)

__all__ = [
    "PaymentProvider",
    "ProviderError",
    "ProviderPayment",
    "ProviderUnavailable",
    "provider_get",
]


def provider_get(name: str | None = None) -> PaymentProvider:
    """The provider by name; the one settings.PAYMENT_PROVIDER names when no name is given."""
    name = name or settings.PAYMENT_PROVIDER
    if name == "mollie":
        from .mollie import MollieProvider

        return MollieProvider()
    if name == "demo":
        from .demo import DemoProvider

        return DemoProvider()
    raise ProviderUnavailable(f"unknown payment provider {name!r}")
