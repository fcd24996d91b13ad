from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .tenancy import OrganisationField, TenantManager


class Organisation(models.Model):
    """The cooperative itself: shown on letters, e-mails and PDFs. There is one row."""

    name = models.CharField(_("naam"), max_length=200)
    street = models.CharField(_("straat"), max_length=200, blank=True)
    house_number = models.CharField(_("huisnummer"), max_length=20, blank=True)
    postcode = models.CharField(_("postcode"), max_length=7, blank=True)
    town = models.CharField(_("plaats"), max_length=100, blank=True)
    email = models.EmailField(_("e-mailadres"), blank=True)
    phone = models.CharField(_("telefoon"), max_length=30, blank=True)
    website = models.URLField(_("website"), blank=True)
    kvk_number = models.CharField(_("KvK-nummer"), max_length=8, blank=True)

    class Meta:
        verbose_name = _("coöperatie")
        verbose_name_plural = _("coöperatie")

    def __str__(self) -> str:
        return self.name

    @classmethod
    def current(cls) -> "Organisation":
        """The cooperative whose scope is active; else the installation's first one (an unsaved
        placeholder when there is none yet)."""
        from django_scopes import get_scope

        active = get_scope().get("organisation")
        if active is not None:
            return active
        org = cls.objects.order_by("pk").first()
        return org or cls(name="Wijkcoöperatie")

    @classmethod
    def first_or_create(cls) -> "Organisation":
        """The installation's first cooperative, created when there is none yet."""
        org = cls.objects.order_by("pk").first()
        return org or cls.objects.create(name="Wijkcoöperatie")


class NumberSequence(models.Model):
    """A counter kept in the database, for member and invoice numbers.

    `sequence_next` increments it with one UPDATE, which holds the row lock until commit, so two
    transactions can never draw the same number and a rolled-back one leaves no gap.
    """

    name = models.CharField(max_length=100, unique=True)
    last_value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(last_value__gte=0), name="sequence_nonnegative")
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.last_value}"


class OutboxMessage(models.Model):
    """A message to one person, rendered when queued and delivered once.

    The unique `key` (e.g. "members.welcome:42") makes queueing the same message twice harmless.
    Letters are not sent: they wait for a coordinator to print them. A worker claims an e-mail
    ("sending", `claimed_at`) for a lease only, so one killed mid-send does not hold it for ever;
    an e-mail that keeps failing ends "failed", where the coordinator and treasurer see it.
    """

    MAX_ATTEMPTS = 5

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        LETTER = "letter", _("Brief")

    class Status(models.TextChoices):
        PENDING = "pending", _("Wacht")
        SENDING = "sending", _("Wordt verstuurd")
        SENT = "sent", _("Verstuurd")
        PRINTED = "printed", _("Geprint")
        FAILED = "failed", _("Mislukt")

    key = models.CharField(max_length=200)
    channel = models.CharField(_("kanaal"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    template = models.CharField(max_length=200)
    recipient_ref = models.CharField(max_length=100, db_index=True, help_text="app.model:pk")
    to_name = models.CharField(_("naam"), max_length=200)
    to_email = models.EmailField(_("e-mailadres"), blank=True)
    to_address = models.TextField(_("adres"), blank=True)
    language = models.CharField(max_length=5, default="nl")
    subject = models.CharField(_("onderwerp"), max_length=250)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("aangemaakt"), auto_now_add=True)
    sent_at = models.DateTimeField(_("verstuurd"), null=True, blank=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("bericht")
        verbose_name_plural = _("berichten")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "channel"])]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "key"], name="outbox_key_per_cooperative"
            ),
            models.CheckConstraint(
                condition=~Q(channel="email") | ~Q(to_email=""), name="outbox_email_has_address"
            ),
            models.CheckConstraint(
                condition=~Q(status="sending") | Q(claimed_at__isnull=False),
                name="outbox_sending_is_claimed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.get_status_display()})"


class FormSubmission(models.Model):
    """A one-time form token that has been used (see coop.core.form_tokens).

    The unique `token` makes a second submission of the same form wait for the first and then
    find it, instead of creating the same thing again; `result_url` is where the first went.
    Rows are purged once the token itself has expired.
    """

    token = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    path = models.CharField(max_length=500)
    result_url = models.CharField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("verstuurd formulier")
        verbose_name_plural = _("verstuurde formulieren")

    def __str__(self) -> str:
        return f"{self.path} ({self.created_at:%Y-%m-%d %H:%M})"
