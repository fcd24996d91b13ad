import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from coop.core.tenancy import OrganisationField, TenantManager


class Buurt(models.Model):
    """A part of the neighbourhood. Households belong to one through their postcode."""

    name = models.CharField(_("naam"), max_length=100)
    description = models.TextField(_("omschrijving"), blank=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "name"], name="buurt_name_per_cooperative"
            ),
        ]
        verbose_name = _("buurt")
        verbose_name_plural = _("buurten")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PostcodeRange(models.Model):
    """Postcodes from `start` to `end` inclusive (both 'NNNN LL'), compared as text."""

    buurt = models.ForeignKey(Buurt, on_delete=models.CASCADE, related_name="postcode_ranges")
    start = models.CharField(_("van postcode"), max_length=7)
    end = models.CharField(_("tot en met postcode"), max_length=7)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("postcodegebied")
        verbose_name_plural = _("postcodegebieden")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lte=models.F("end")), name="range_start_before_end"
            ),
        ]
        indexes = [models.Index(fields=["start", "end"])]

    def __str__(self) -> str:
        return f"{self.start} – {self.end}"


class Household(models.Model):
    """The people living at one address. The address is structured: SEPA files need it so."""

    street = models.CharField(_("straat"), max_length=200)
    house_number = models.PositiveIntegerField(_("huisnummer"))
    house_number_addition = models.CharField(_("toevoeging"), max_length=10, blank=True)
    postcode = models.CharField(_("postcode"), max_length=7, db_index=True)
    town = models.CharField(_("plaats"), max_length=100)
    country = models.CharField(_("land"), max_length=2, default="NL")
    buurt = models.ForeignKey(
        Buurt,
        verbose_name=_("buurt"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="households",
        help_text=_("Volgt uit de postcode. Leeg: buiten het werkgebied."),
    )
    created_at = models.DateTimeField(_("aangemaakt"), auto_now_add=True)
    updated_at = models.DateTimeField(_("gewijzigd"), auto_now=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("huishouden")
        verbose_name_plural = _("huishoudens")
        ordering = ["postcode", "house_number", "house_number_addition"]
        constraints = [
            models.CheckConstraint(
                condition=Q(house_number__gte=1), name="household_number_positive"
            ),
        ]
        indexes = [
            # A house number typed without a street ('28A').
            models.Index(fields=["house_number"], name="household_house_number"),
            # PostgreSQL finds part of a street through a trigram index (migration 0005);
            # SQLite has none, but for 'contains' reads this narrow index instead of the table.
            models.Index(fields=["street"], name="household_street"),
        ]

    def __str__(self) -> str:
        return self.address_line

    @property
    def house_number_full(self) -> str:
        addition = self.house_number_addition
        if not addition:
            return str(self.house_number)
        return f"{self.house_number}{'-' if addition[0].isdigit() else ''}{addition}"

    @property
    def address_line(self) -> str:
        return f"{self.street} {self.house_number_full}, {self.postcode} {self.town}"

    @property
    def address_lines(self) -> list[str]:
        return [f"{self.street} {self.house_number_full}", f"{self.postcode}  {self.town.upper()}"]


class AddressChange(models.Model):
    """A household's address as it was before an edit: moving house keeps the history."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="address_changes"
    )
    old_address = models.CharField(_("oud adres"), max_length=300)
    new_address = models.CharField(_("nieuw adres"), max_length=300)
    changed_on = models.DateField(_("verhuisd op"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("adreswijziging")
        verbose_name_plural = _("adreswijzigingen")
        ordering = ["-changed_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"{self.old_address} → {self.new_address}"


class MemberQuerySet(models.QuerySet):
    def current(self):
        """Members who count: applied or active."""
        return self.filter(status__in=[Member.Status.APPLIED, Member.Status.ACTIVE])

    def active(self):
        return self.filter(status=Member.Status.ACTIVE)


class Member(models.Model):
    """A resident who is (or was) a member of the cooperative. Kept after the membership ends."""

    class Status(models.TextChoices):
        APPLIED = "aangemeld", _("Aangemeld")
        ACTIVE = "actief", _("Actief")
        CANCELLED = "opgezegd", _("Opgezegd")
        DECEASED = "overleden", _("Overleden")
        EXPELLED = "geroyeerd", _("Geroyeerd")

    ENDED = (Status.CANCELLED, Status.DECEASED, Status.EXPELLED)
    TRANSITIONS = {
        Status.APPLIED: (Status.ACTIVE, Status.CANCELLED),
        Status.ACTIVE: (Status.CANCELLED, Status.DECEASED, Status.EXPELLED),
        Status.CANCELLED: (Status.ACTIVE,),
        Status.DECEASED: (),
        Status.EXPELLED: (),
    }

    class ContactPreference(models.TextChoices):
        EMAIL = "email", _("Per e-mail")
        LETTER = "letter", _("Per brief")

    class Language(models.TextChoices):
        NL = "nl", _("Nederlands")
        EN = "en", _("English")

    number = models.PositiveIntegerField(_("lidnummer"), editable=False)
    household = models.ForeignKey(
        Household, verbose_name=_("huishouden"), on_delete=models.PROTECT, related_name="members"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="member",
    )
    given_name = models.CharField(_("voornaam"), max_length=100)
    tussenvoegsel = models.CharField(_("tussenvoegsel"), max_length=20, blank=True)
    family_name = models.CharField(_("achternaam"), max_length=100)
    sort_name = models.CharField(max_length=250, editable=False, db_index=True)
    search_name = models.CharField(max_length=250, editable=False)
    email = models.EmailField(_("e-mailadres"), blank=True)
    phone = models.CharField(_("telefoon"), max_length=30, blank=True)
    # The digits of `phone` in national form, for search (coop.lib.phone); set by the services.
    # Longer than `phone`: a leading "+" becomes "00".
    phone_digits = models.CharField(max_length=32, blank=True, default="", editable=False)
    date_of_birth = models.DateField(_("geboortedatum"), null=True, blank=True)
    language = models.CharField(
        _("taal"), max_length=2, choices=Language.choices, default=Language.NL
    )
    contact_preference = models.CharField(
        _("post ontvangen"),
        max_length=10,
        choices=ContactPreference.choices,
        default=ContactPreference.EMAIL,
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.APPLIED
    )
    applied_on = models.DateField(_("aangemeld op"))
    joined_on = models.DateField(_("lid sinds"), null=True, blank=True)
    ended_on = models.DateField(_("lid tot"), null=True, blank=True)
    end_reason = models.CharField(_("reden einde"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("aangemaakt"), auto_now_add=True)
    updated_at = models.DateTimeField(_("gewijzigd"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    organisation = OrganisationField()

    objects = TenantManager.from_queryset(MemberQuerySet)()

    class Meta:
        verbose_name = _("lid")
        verbose_name_plural = _("leden")
        ordering = ["sort_name", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "number"], name="member_number_per_cooperative"
            ),
            models.UniqueConstraint(
                Lower("email"), condition=~Q(email=""), name="member_email_ci_unique"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["aangemeld", "actief", "opgezegd", "overleden", "geroyeerd"]
                ),
                name="member_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["opgezegd", "overleden", "geroyeerd"], ended_on__isnull=False
                )
                | Q(status__in=["aangemeld", "actief"], ended_on__isnull=True),
                name="member_ended_has_date",
            ),
        ]
        indexes = [
            # The member list of one cooperative: counted and read in its order.
            models.Index(
                fields=["organisation", "status", "sort_name", "number"], name="member_list_order"
            ),
            # Pattern ops on PostgreSQL, so a prefix ('0555 12…') uses it too; SQLite ignores them.
            models.Index(
                fields=["phone_digits"],
                name="member_phone_digits",
                opclasses=["varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return " ".join(
            part for part in (self.given_name, self.tussenvoegsel, self.family_name) if part
        )

    @property
    def is_current(self) -> bool:
        return self.status in (self.Status.APPLIED, self.Status.ACTIVE)

    def allowed_transitions(self) -> tuple[str, ...]:
        return self.TRANSITIONS[self.Status(self.status)]


class StatusChange(models.Model):
    """One step in a membership's history. Never edited."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=Member.Status.choices, blank=True)
    to_status = models.CharField(max_length=12, choices=Member.Status.choices)
    effective_on = models.DateField(_("met ingang van"))
    reason = models.CharField(_("reden"), max_length=300, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("statuswijziging")
        verbose_name_plural = _("statuswijzigingen")
        ordering = ["-recorded_at", "-pk"]

    def __str__(self) -> str:
        return (
            f"{self.member_id}: {self.from_status or '–'} → {self.to_status} ({self.effective_on})"
        )


class Move(models.Model):
    """A member moving from one household to another."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="moves")
    from_address = models.CharField(max_length=300)
    to_household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    to_address = models.CharField(max_length=300)
    moved_on = models.DateField(_("verhuisd op"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("verhuizing")
        verbose_name_plural = _("verhuizingen")
        ordering = ["-moved_on", "-recorded_at"]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.from_address} → {self.to_address}"


class MembershipNotice(models.Model):
    """A member's notice that they want to end their membership, given online.

    The membership ends only when a coordinator confirms it (through the status change, so the
    status history records it); until then the member may take the notice back. Notices are
    kept: a confirmed or withdrawn one stays as history, and one pending per member at a time.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Wacht op bevestiging")
        CONFIRMED = "confirmed", _("Bevestigd")
        WITHDRAWN = "withdrawn", _("Ingetrokken")
        LAPSED = "lapsed", _("Vervallen")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="notices")
    given_at = models.DateTimeField(_("opgezegd op"))
    end_on = models.DateField(_("lid tot"))
    reason = models.CharField(_("reden"), max_length=300, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("afgehandeld op"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("opzegging")
        verbose_name_plural = _("opzeggingen")
        ordering = ["-given_at", "-pk"]
        constraints = [
            # Also the index the coordinator's list of waiting notices is read from.
            models.UniqueConstraint(
                fields=["member"], condition=Q(status="pending"), name="notice_one_pending"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "confirmed", "withdrawn", "lapsed"]),
                name="notice_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="notice_decided_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.end_on} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING


class ConsentText(models.Model):
    """A version of a text people agree to, e.g. the privacy statement. Versions are never edited."""

    key = models.SlugField(_("soort"), max_length=50)
    version = models.PositiveIntegerField(_("versie"))
    title = models.CharField(_("titel"), max_length=200)
    text = models.TextField(_("tekst"))
    published_on = models.DateField(_("gepubliceerd op"))
    required = models.BooleanField(_("verplicht voor lidmaatschap"), default=False)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("toestemmingstekst")
        verbose_name_plural = _("toestemmingsteksten")
        ordering = ["key", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "key", "version"], name="consent_text_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} (v{self.version})"


class Consent(models.Model):
    """That a person agreed to one version of a text, when, and how it was recorded."""

    class Via(models.TextChoices):
        ONLINE = "online", _("Online")
        PAPER = "paper", _("Op papier, ingevoerd door coördinator")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consents")
    consent_text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="consents")
    given_at = models.DateTimeField(_("gegeven op"))
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.ONLINE)
    withdrawn_at = models.DateTimeField(_("ingetrokken op"), null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("toestemming")
        verbose_name_plural = _("toestemmingen")
        ordering = ["-given_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "consent_text"],
                condition=Q(withdrawn_at__isnull=True),
                name="consent_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.consent_text_id} ({self.given_at:%Y-%m-%d})"


class MemberImport(models.Model):
    """A member file that passed every check, kept until a coordinator confirms the preview.

    The rows are stored normalised; once imported they are cleared and only the counts remain,
    so no copy of the spreadsheet lingers next to the register.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Wacht op bevestiging")
        IMPORTED = "imported", _("Geïmporteerd")

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    file_name = models.CharField(_("bestandsnaam"), max_length=255)
    columns = models.JSONField(default=dict, blank=True)
    rows = models.JSONField(default=list, blank=True)
    row_count = models.PositiveIntegerField(_("aantal leden"), default=0)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("geüpload op"), auto_now_add=True)
    imported_at = models.DateTimeField(_("geïmporteerd op"), null=True, blank=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    summary = models.JSONField(default=dict, blank=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("ledenimport")
        verbose_name_plural = _("ledenimports")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "imported"]), name="member_import_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.file_name


class SignupApplication(models.Model):
    """What a resident filled in on the sign-up page, kept until they confirm their e-mail address.

    Only then do they enter the register (a household and an applied member): an address nobody
    confirmed puts nobody in it. Applications never confirmed are deleted after a few weeks.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signup_application"
    )
    person = models.JSONField(default=dict)
    address = models.JSONField(default=dict)
    consent_texts = models.ManyToManyField(ConsentText, blank=True, related_name="+")
    created_at = models.DateTimeField(_("aangemeld op"), auto_now_add=True)

    organisation = OrganisationField()

    objects = TenantManager()

    class Meta:
        verbose_name = _("aanmelding, nog niet bevestigd")
        verbose_name_plural = _("aanmeldingen, nog niet bevestigd")
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.user_id} ({self.created_at:%Y-%m-%d})"
