"""Dues, invoices, the ledger, online payments, SEPA direct debit and bank statements.

Money is Decimal(12, 2). What is booked is never edited or deleted: an invoice's balance is its
total minus the sum of its ledger entries, corrected with reversing entries and credit notes.
"""

from decimal import Decimal
from typing import TypedDict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from coop.core.tenancy import OrganisationField, TenantManager
from members.models import Household, Member


class _Money(TypedDict):
    max_digits: int
    decimal_places: int


MONEY: _Money = {"max_digits": 12, "decimal_places": 2}


class ContributionScheme(models.Model):
    """The contribution for one year, set by the treasurer. Locked once a dues run used it."""

    class MidYear(models.TextChoices):
        FULL = "full", _("Volledig bedrag")
        NONE = "none", _("Niets dat jaar")
        PER_MONTH = "per_month", _("Naar rato, per resterende maand")

    class BelowMinimum(models.TextChoices):
        SKIP = "skip", _("Geen factuur sturen")
        CHARGE = "charge", _("Het minimumbedrag rekenen")

    year = models.PositiveIntegerField(_("jaar"))
    first_member_amount = models.DecimalField(_("eerste lid van een huishouden"), **MONEY)
    further_member_amount = models.DecimalField(_("elk volgend lid"), **MONEY)
    reduced_amount = models.DecimalField(
        _("verlaagd tarief per lid"), **MONEY, help_text=_("Bijvoorbeeld voor minima.")
    )
    mid_year = models.CharField(
        _("wie halverwege het jaar lid wordt betaalt"),
        max_length=10,
        choices=MidYear.choices,
        default=MidYear.FULL,
    )
    due_days = models.PositiveSmallIntegerField(_("betaaltermijn in dagen"), default=30)
    description = models.CharField(
        _("omschrijving op de factuur"), max_length=140, default="Contributie"
    )
    minimum_invoice_amount = models.DecimalField(
        _("minimumbedrag per factuur"),
        **MONEY,
        default=Decimal("0.00"),
        help_text=_("0,00 is geen minimum."),
    )
    below_minimum = models.CharField(
        _("als het totaal van een huishouden lager is"),
        max_length=10,
        choices=BelowMinimum.choices,
        default=BelowMinimum.SKIP,
    )
    locked_at = models.DateTimeField(_("vastgezet op"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("contributieregeling")
        verbose_name_plural = _("contributieregelingen")
        ordering = ["-year"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "year"], name="scheme_year_per_cooperative"
            ),
            models.CheckConstraint(
                condition=Q(
                    first_member_amount__gte=0, further_member_amount__gte=0, reduced_amount__gte=0
                ),
                name="scheme_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(minimum_invoice_amount__gte=0),
                name="scheme_minimum_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(year__gte=2000, year__lte=2100), name="scheme_year_sane"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} {self.year}"


class MemberRate(models.Model):
    """How a member is charged when it is not the standard rate."""

    class Rate(models.TextChoices):
        STANDARD = "standard", _("Standaard")
        REDUCED = "reduced", _("Verlaagd tarief")
        FREE = "free", _("Gratis (erelid)")

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="dues_rate")
    rate = models.CharField(_("tarief"), max_length=10, choices=Rate.choices, default=Rate.STANDARD)
    reason = models.CharField(_("reden"), max_length=200, blank=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("tarief van een lid")
        verbose_name_plural = _("tarieven van leden")

    def __str__(self) -> str:
        return f"{self.member_id}: {self.rate}"


class Invoice(models.Model):
    """An invoice (or credit note) to a household. Numbers are gap-free per year.

    Names, address and amounts are copied onto the invoice when it is issued, so a later move
    or rename does not change last year's invoice.
    """

    class Kind(models.TextChoices):
        INVOICE = "invoice", _("Factuur")
        CREDIT_NOTE = "credit", _("Creditnota")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        PARTLY_PAID = "partly_paid", _("Deels betaald")
        PAID = "paid", _("Betaald")
        WRITTEN_OFF = "written_off", _("Afgeboekt")
        CREDITED = "credited", _("Gecrediteerd")

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.INVOICE)
    year = models.PositiveIntegerField(_("jaar"))
    sequence = models.PositiveIntegerField()
    number = models.CharField(_("factuurnummer"), max_length=20)
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="invoices")
    scheme = models.ForeignKey(
        ContributionScheme, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    dues_year = models.PositiveIntegerField(
        null=True, blank=True, help_text="Set on contribution invoices: one per household and year."
    )
    credited_invoice = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="credit_notes"
    )
    recipient_name = models.CharField(_("naam"), max_length=300)
    recipient_email = models.EmailField(_("e-mailadres"), blank=True)
    street = models.CharField(max_length=200)
    house_number = models.CharField(max_length=20)
    postcode = models.CharField(max_length=7)
    town = models.CharField(max_length=100)
    country = models.CharField(max_length=2, default="NL")
    language = models.CharField(max_length=5, default="nl")
    issued_on = models.DateField(_("datum"))
    due_on = models.DateField(_("te betalen voor"))
    total = models.DecimalField(_("bedrag"), **MONEY)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    reminder_level = models.PositiveSmallIntegerField(default=0)
    last_reminded_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("factuur")
        verbose_name_plural = _("facturen")
        ordering = ["-year", "-sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "year", "sequence"], name="invoice_number_per_year"
            ),
            models.UniqueConstraint(
                fields=["organisation", "number"], name="invoice_number_per_cooperative"
            ),
            models.UniqueConstraint(
                fields=["household", "dues_year"],
                condition=Q(kind="invoice", dues_year__isnull=False),
                name="one_dues_invoice_per_household_year",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice", total__gte=0) | Q(kind="credit", total__lte=0),
                name="invoice_total_sign",
            ),
            models.CheckConstraint(
                condition=Q(kind="invoice") | Q(credited_invoice__isnull=False),
                name="credit_note_has_invoice",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "year"]),
            models.Index(fields=["household", "year"]),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def address_lines(self) -> list[str]:
        return [f"{self.street} {self.house_number}", f"{self.postcode}  {self.town.upper()}"]


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="lines")
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    description = models.CharField(max_length=200)
    amount = models.DecimalField(**MONEY)
    position = models.PositiveSmallIntegerField(default=0)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        ordering = ["invoice", "position", "pk"]

    def __str__(self) -> str:
        return f"{self.description}: {self.amount}"


class ImmutableQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValidationError("Ledger entries are never changed; book a reversing entry.")

    def delete(self):
        raise ValidationError("Ledger entries are never deleted; book a reversing entry.")


class LedgerEntry(models.Model):
    """Money booked against an invoice. Positive lowers what is owed; a reversal is negative.

    (source, external_id) is unique, so a webhook or statement line seen twice books once.
    """

    class Kind(models.TextChoices):
        PAYMENT = "payment", _("Betaling")
        REVERSAL = "reversal", _("Storno / terugboeking")
        REFUND = "refund", _("Terugbetaling")
        WRITE_OFF = "write_off", _("Afboeking")
        CREDIT = "credit", _("Creditnota")
        # Money moved between a household's invoices: out of an overpaid one into its credit,
        # out of the credit into the next invoice. The household's credit is minus their sum.
        SETTLEMENT = "settlement", _("Verrekening met tegoed")

    class Source(models.TextChoices):
        IDEAL = "ideal", _("iDEAL")
        SEPA = "sepa", _("Incasso")
        TRANSFER = "transfer", _("Overboeking")
        MANUAL = "manual", _("Handmatig")
        CREDIT_NOTE = "credit_note", _("Creditnota")
        BALANCE = "balance", _("Tegoed")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    source = models.CharField(max_length=12, choices=Source.choices)
    external_id = models.CharField(max_length=200)
    amount = models.DecimalField(**MONEY)
    booked_on = models.DateField(_("boekdatum"))
    note = models.CharField(max_length=300, blank=True)
    reverses = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversals"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    organisation = OrganisationField()

    objects = TenantManager.from_queryset(ImmutableQuerySet)()

    class Meta:
        verbose_name = _("boeking")
        verbose_name_plural = _("boekingen")
        ordering = ["booked_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "source", "external_id"], name="ledger_entry_once"
            ),
            models.CheckConstraint(
                condition=~Q(amount=Decimal("0")), name="ledger_amount_not_zero"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} ({self.external_id})"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Ledger entries are never changed; book a reversing entry.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries are never deleted; book a reversing entry.")


class Payment(models.Model):
    """An online payment attempt at a provider (Mollie, or the demo provider offline)."""

    class Status(models.TextChoices):
        OPEN = "open", _("Gestart")
        PENDING = "pending", _("In behandeling")
        PAID = "paid", _("Betaald")
        FAILED = "failed", _("Mislukt")
        CANCELED = "canceled", _("Geannuleerd")
        EXPIRED = "expired", _("Verlopen")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payments")
    provider = models.CharField(max_length=20)
    provider_id = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(**MONEY)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    checkout_url = models.URLField(max_length=500, blank=True)
    amount_refunded = models.DecimalField(**MONEY, default=Decimal("0.00"))
    amount_charged_back = models.DecimalField(**MONEY, default=Decimal("0.00"))
    needs_attention = models.CharField(
        max_length=200, blank=True, help_text="Why the treasurer should look at this payment."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("online betaling")
        verbose_name_plural = _("online betalingen")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "provider_id"],
                condition=~Q(provider_id=""),
                name="payment_provider_id_unique",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.provider_id or self.pk}: {self.amount} ({self.status})"


class Mandate(models.Model):
    """A SEPA direct debit mandate (machtiging) for a household's contribution."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Actief")
        REVOKED = "revoked", _("Ingetrokken")
        EXPIRED = "expired", _("Verlopen (36 maanden niet gebruikt)")

    class Via(models.TextChoices):
        PORTAL = "portal", _("Online getekend")
        PAPER = "paper", _("Papieren machtiging")
        FIRST_PAYMENT = "first_payment", _("Via eerste iDEAL-betaling")

    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="mandates")
    signed_by = models.ForeignKey(
        Member, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reference = models.CharField(_("kenmerk machtiging"), max_length=35)
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    account_holder = models.CharField(_("naam rekeninghouder"), max_length=70)
    signed_on = models.DateField(_("getekend op"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    via = models.CharField(max_length=15, choices=Via.choices, default=Via.PORTAL)
    last_used_on = models.DateField(_("laatst gebruikt"), null=True, blank=True)
    revoked_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("machtiging")
        verbose_name_plural = _("machtigingen")
        ordering = ["-signed_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "reference"], name="mandate_reference_per_cooperative"
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(status="active"),
                name="one_active_mandate_per_household",
            ),
        ]

    def __str__(self) -> str:
        return self.reference


class CollectionBatch(models.Model):
    """A direct debit run: open invoices with an active mandate, collected on one date."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Concept")
        EXPORTED = "exported", _("Geëxporteerd")
        COLLECTED = "collected", _("Geïncasseerd")

    collection_date = models.DateField(_("incassodatum"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    message_id = models.CharField(max_length=35)
    schema_version = models.CharField(max_length=20)
    xml = models.TextField(blank=True)
    total = models.DecimalField(**MONEY, default=Decimal("0.00"))
    count = models.PositiveIntegerField(default=0)
    exported_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "message_id"], name="batch_message_id_per_cooperative"
            ),
        ]
        verbose_name = _("incassobatch")
        verbose_name_plural = _("incassobatches")
        ordering = ["-collection_date", "-pk"]

    def __str__(self) -> str:
        return f"{self.message_id} ({self.collection_date})"


class CollectionItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("In incasso")
        COLLECTED = "collected", _("Geïncasseerd")
        RETURNED = "returned", _("Gestorneerd")
        WITHDRAWN = "withdrawn", _("Ingetrokken bij de bank")

    batch = models.ForeignKey(CollectionBatch, on_delete=models.PROTECT, related_name="items")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="collection_items")
    mandate = models.ForeignKey(Mandate, on_delete=models.PROTECT, related_name="collection_items")
    amount = models.DecimalField(**MONEY)
    end_to_end_id = models.CharField(max_length=35)
    sequence_type = models.CharField(max_length=4, default="RCUR")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    return_reason = models.CharField(max_length=4, blank=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "end_to_end_id"], name="debit_end_to_end_id_per_cooperative"
            ),
            models.UniqueConstraint(
                fields=["invoice"], condition=Q(status="pending"), name="invoice_in_one_open_batch"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="collection_amount_positive"),
        ]

    def __str__(self) -> str:
        return self.end_to_end_id


class BankStatement(models.Model):
    """An imported bank statement file. The same file (by content hash) is imported once."""

    class Format(models.TextChoices):
        CAMT053 = "camt053", "CAMT.053"
        MT940 = "mt940", "MT940"

    file_name = models.CharField(max_length=200)
    file_hash = models.CharField(max_length=64)
    format = models.CharField(max_length=10, choices=Format.choices)
    statement_id = models.CharField(max_length=100, blank=True)
    account_iban = models.CharField(max_length=34, blank=True)
    imported_at = models.DateTimeField(auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "file_hash"], name="statement_file_once_per_cooperative"
            ),
        ]
        verbose_name = _("bankafschrift")
        verbose_name_plural = _("bankafschriften")
        ordering = ["-imported_at"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.imported_at:%Y-%m-%d})"


class BankTransaction(models.Model):
    """One entry on a statement. `entry_key` identifies it across files, so overlap books once."""

    class Status(models.TextChoices):
        MATCHED = "matched", _("Gekoppeld")
        UNMATCHED = "unmatched", _("Nog niet gekoppeld")
        RESOLVED = "resolved", _("Met de hand gekoppeld")
        IGNORED = "ignored", _("Genegeerd")

    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, related_name="transactions"
    )
    entry_key = models.CharField(max_length=200)
    booking_date = models.DateField()
    amount = models.DecimalField(**MONEY, help_text="Positive: money in. Negative: money out.")
    counterparty_name = models.CharField(max_length=140, blank=True)
    counterparty_iban = models.CharField(max_length=34, blank=True)
    remittance = models.CharField(max_length=500, blank=True)
    end_to_end_id = models.CharField(max_length=35, blank=True, db_index=True)
    mandate_reference = models.CharField(max_length=35, blank=True)
    return_reason = models.CharField(max_length=4, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNMATCHED)
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "entry_key"], name="bank_transaction_once_per_cooperative"
            ),
        ]
        verbose_name = _("banktransactie")
        verbose_name_plural = _("banktransacties")
        ordering = ["booking_date", "pk"]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.booking_date} {self.amount} {self.counterparty_name}"


class Refund(models.Model):
    """Money to pay back by bank transfer to whoever paid an invoice too much.

    Booked when the treasurer decides (a refund entry brings the invoice back to zero), paid out
    later by a payout batch; until then it is "to pay".
    """

    class Status(models.TextChoices):
        TO_PAY = "to_pay", _("Nog uit te betalen")
        PAID = "paid", _("Uitbetaald")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("bedrag"), **MONEY)
    iban = models.CharField(_("IBAN"), max_length=34)
    account_holder = models.CharField(_("naam rekeninghouder"), max_length=70)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.TO_PAY
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    paid_at = models.DateTimeField(null=True, blank=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("terugbetaling")
        verbose_name_plural = _("terugbetalingen")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]
        indexes = [models.Index(fields=["status"])]

    def __str__(self) -> str:
        return f"{self.amount} → {self.account_holder}"


class CallNote(models.Model):
    """What came of a call about an invoice on the call list, noted by whoever rang.

    Notes are added, never changed; the newest decides where the invoice stands on the list
    (finance/services/calls.py). `follow_up_on` is set when someone promised to pay: until that
    day the invoice waits under the agreements instead of among the people still to call.
    """

    class Outcome(models.TextChoices):
        WILL_PAY = "will_pay", _("Gesproken: gaat betalen")
        PAYMENT_PLAN = "payment_plan", _("Gesproken: wil in delen betalen")
        CANNOT_PAY = "cannot_pay", _("Gesproken: kan niet betalen")
        NOT_REACHED = "not_reached", _("Niet bereikt")
        WRONG_NUMBER = "wrong_number", _("Verkeerd nummer")
        OTHER = "other", _("Anders")

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="call_notes")
    called_at = models.DateTimeField(_("gebeld op"))
    called_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(_("uitkomst"), max_length=20, choices=Outcome.choices)
    note = models.TextField(_("notitie"), blank=True)
    promised_on = models.DateField(_("betaalt uiterlijk op"), null=True, blank=True)
    follow_up_on = models.DateField(null=True, blank=True, editable=False)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("belnotitie")
        verbose_name_plural = _("belnotities")
        ordering = ["-called_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(promised_on__isnull=True, follow_up_on__isnull=True)
                | Q(outcome__in=["will_pay", "payment_plan"], follow_up_on__isnull=False),
                name="call_note_date_only_for_a_promise",
            ),
        ]
        indexes = [models.Index(fields=["invoice", "-called_at"], name="call_note_latest")]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.outcome}"


class FinanceSettings(models.Model):
    """What the treasurer sets for reminders. There is one row."""

    first_reminder_days = models.PositiveSmallIntegerField(
        _("eerste herinnering na (dagen na vervaldatum)"), default=14
    )
    second_reminder_days = models.PositiveSmallIntegerField(
        _("tweede herinnering na (dagen na de eerste)"), default=14
    )
    call_list_days = models.PositiveSmallIntegerField(
        _("op de bellijst na (dagen na de tweede)"), default=14
    )

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("instellingen penningmeester")
        verbose_name_plural = _("instellingen penningmeester")

    def __str__(self) -> str:
        return f"{self.first_reminder_days}/{self.second_reminder_days}/{self.call_list_days}"

    @classmethod
    def current(cls) -> "FinanceSettings":
        return cls.objects.order_by("pk").first() or cls.objects.create()


class DemoPayment(models.Model):
    """A payment at the demo provider: the offline stand-in for Mollie, kept in our own database.

    The id is unguessable, like a provider's checkout link. Only the demo provider writes here.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Gestart")
        PAID = "paid", _("Betaald")
        FAILED = "failed", _("Mislukt")
        CANCELED = "canceled", _("Geannuleerd")
        EXPIRED = "expired", _("Verlopen")

    id = models.CharField(primary_key=True, max_length=60, editable=False)
    amount = models.DecimalField(**MONEY)
    description = models.CharField(max_length=255)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    redirect_url = models.URLField(max_length=500)
    webhook_url = models.URLField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    amount_refunded = models.DecimalField(**MONEY, default=Decimal("0.00"))
    amount_charged_back = models.DecimalField(**MONEY, default=Decimal("0.00"))
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        verbose_name = _("demobetaling")
        verbose_name_plural = _("demobetalingen")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="demo_payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(amount_refunded__gte=0, amount_charged_back__gte=0),
                name="demo_payment_reversed_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.pk
