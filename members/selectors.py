"""Reads, and the one place that decides which members and households a user may see."""

import re
from dataclasses import dataclass

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.http import Http404

from coop.accounts.models import User
from coop.accounts.roles import Role
from coop.lib.numbers import INTEGER_MAX, is_ascii_digits, parse_id, parse_int
from coop.lib.phone import phone_digits
from coop.lib.postcode import postcode_prefix

from .models import Consent, ConsentText, Household, Member, MembershipNotice

REGISTER_ROLES = (Role.COORDINATOR, Role.TREASURER)


def member_for_user(user: User, pk: int) -> Member:
    """A member the user may see: coordinators and the treasurer see all, a member their household."""
    members = Member.objects.select_related("household", "household__buurt", "user")
    if not user.has_role(*REGISTER_ROLES):
        own = own_member(user)
        if own is None:
            raise Http404
        members = members.filter(household_id=own.household_id)
    try:
        return members.get(pk=pk)
    except Member.DoesNotExist:
        raise Http404 from None


def household_for_user(user: User, pk: int) -> Household:
    households = Household.objects.select_related("buurt")
    if not user.has_role(*REGISTER_ROLES):
        own = own_member(user)
        if own is None:
            raise Http404
        households = households.filter(pk=own.household_id)
    try:
        return households.get(pk=pk)
    except Household.DoesNotExist:
        raise Http404 from None


def own_member(user: User) -> Member | None:
    if not user.is_authenticated:
        return None
    return Member.objects.select_related("household", "household__buurt").filter(user=user).first()


# The coordinator's member list ---------------------------------------------------------------

LIST_STATUS_CURRENT = "huidig"
LIST_STATUS_ALL = "alle"
LIST_BUURT_OUTSIDE = "buiten"
MEMBER_LIST_ORDER = {
    "name": ("sort_name", "number"),
    "-name": ("-sort_name", "-number"),
    "number": ("number",),
    "-number": ("-number",),
    "postcode": (
        "household__postcode",
        "household__house_number",
        "household__house_number_addition",
        "sort_name",
    ),
    "joined": (F("joined_on").asc(nulls_last=True), "number"),
}


class _MostRows(Func):
    """A condition most rows meet. SQLite keeps no planner statistics unless ANALYZE is run, and
    would fetch 90% of the table through the status index and sort it; likelihood() makes it
    page along the sort_name index instead (and still count on the status index). Other
    databases get the bare condition."""

    output_field = BooleanField()

    def as_sql(self, compiler, connection, **extra_context):
        return compiler.compile(self.get_source_expressions()[0])

    def as_sqlite(self, compiler, connection, **extra_context):
        sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"likelihood({sql}, 0.9)", params


def _starts_with(prefix: str, field: str) -> Q:
    """Values of `field` starting with `prefix`. PostgreSQL answers this from a pattern-ops
    index; SQLite uses an index for LIKE only on case-insensitive columns, so it also gets the
    same rows as a range (postcodes and phone digits are stored normalised, and SQLite compares
    them byte by byte)."""
    starts = Q(**{f"{field}__startswith": prefix})
    if connection.vendor == "sqlite":
        starts &= Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + "\x7f"})
    return starts


# Digits and what people put between them: '0555-120936', '+31 (0)6 1234 5678', '055.120.936'.
_PHONE_TYPED = re.compile(r"^\+?\(?[0-9][0-9 ()./-]*$")
PHONE_MIN_DIGITS = 6
# A house number at the end, maybe with an addition, maybe after a street (or a postcode):
# 'Lindeplein 28', 'lindeplein 28-a', 'Lindeplein 28 A', '28A', '7911AB 1'. The street ends
# in a letter (or 'Burg.'), so 'Lindeplein 28A' is number 28 with 'A', not 2 with '8A', and
# 'Lindeplein 28-1' is 28 with '1'.
_ADDRESS = re.compile(
    r"^(?:(?P<street>.*[^\W\d_]\.?)\s*)?"
    r"(?P<number>[0-9]{1,5})(?:\s*[-/]?\s*(?P<addition>[^\W_]{1,4}))?$"
)


def _households(households: QuerySet[Household]) -> Q:
    """Members of these households, as a subquery rather than a join: the few matching
    households are found by their own index and their members by the household key, instead of
    scanning every member."""
    return Q(household_id__in=households.values("pk"))


class _OrInHouseholds(Func):
    """Members of these households, as one side of an OR. PostgreSQL checks `IN (SELECT …)`
    there row by row, over every member; `= ANY(ARRAY(SELECT …))` is computed once and read
    from the household key's index, so the OR becomes a BitmapOr of two index scans. SQLite
    gets the plain IN."""

    output_field = BooleanField()

    def __init__(self, households: QuerySet[Household]):
        super().__init__(F("household_id"), Subquery(households.order_by().values("pk")))

    def as_sql(self, compiler, connection, template="%s IN %s", **extra_context):
        column, households = self.get_source_expressions()
        column_sql, column_params = compiler.compile(column)
        households_sql, households_params = compiler.compile(households)
        return template % (column_sql, households_sql), (*column_params, *households_params)

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="%s = ANY(ARRAY%s)")


def _street_contains(text: str) -> QuerySet[Household]:
    """Households whose street contains `text`, in any case. PostgreSQL reads this from the
    trigram index on lower(street). SQLite's LIKE already ignores (ASCII) case, and its lower()
    knows no other letters either, so it gets the bare column: lowering every street first
    made it four times slower."""
    if connection.vendor == "sqlite":
        return Household.objects.filter(street__contains=text)
    return Household.objects.alias(street_lower=Lower("street")).filter(
        street_lower__contains=text.lower()
    )


def _address_filter(street: str, number: int, addition: str) -> Q:
    """'Lindeplein 28' is every address at number 28 (28, 28A, 28-1); '28A' on every street."""
    postcode = postcode_prefix(street) if street else None
    if postcode and len(postcode) == 7:
        households = Household.objects.filter(postcode=postcode)
    elif street:
        households = _street_contains(street)
    else:
        households = Household.objects.all()
    households = households.filter(house_number=number)
    if addition:
        # Stored as typed by whoever entered it: 'A', 'a' or '-1'.
        households = households.filter(
            Q(house_number_addition__iexact=addition)
            | Q(house_number_addition__iexact=f"-{addition}")
        )
    return _households(households)


def member_search_filter(q: str) -> Q:
    """What a coordinator typed, read as a member number, (part of) a postcode, an e-mail, a
    phone number, an address (street and house number, or a house number with addition), or a
    name or street.

    Each form has its own index on PostgreSQL: the number is unique, postcodes have a pattern-ops
    index for prefixes, and lower(e-mail) and search_name have trigram indexes for 'contains'.
    Phone numbers are searched, as a prefix, in their digits in national form (phone_digits, a
    pattern-ops index), so '0555-120936', '0555 120 936' and '+31555120936' find the same
    person. Streets have a trigram index on lower(street) and house numbers a btree index.
    A four-digit term such as '7911' is both a possible member number and a postcode area; a
    long run of digits is both a member number and a phone number; a word is both (part of) a
    name and (part of) a street.
    """
    q = " ".join(q.split())
    prefix = postcode_prefix(q)
    by_postcode = (
        _households(Household.objects.filter(_starts_with(prefix, "postcode"))) if prefix else None
    )
    digits = phone_digits(q) if _PHONE_TYPED.match(q) else ""
    by_phone = _starts_with(digits, "phone_digits") if len(digits) >= PHONE_MIN_DIGITS else None
    if is_ascii_digits(q):
        number = parse_int(q, minimum=1, maximum=INTEGER_MAX)
        found = Q(number=number) if number is not None else Q(pk__in=[])
        for other in (by_postcode, by_phone):
            if other is not None:
                found |= other
        return found
    if by_postcode is not None:
        return by_postcode
    if "@" in q:
        return Q(email_lower__contains=q.lower())
    if by_phone is not None:
        return by_phone
    if address := _ADDRESS.match(q):
        return _address_filter(
            address["street"] or "", int(address["number"]), address["addition"] or ""
        )
    return Q(search_name__contains=q.lower()) | Q(_OrInHouseholds(_street_contains(q)))


def member_list(
    *, q: str = "", status: str = LIST_STATUS_CURRENT, buurt: str = "", sort: str = "name"
) -> QuerySet[Member]:
    """Members for the coordinator's list and its exports.

    `status`: 'huidig' (applied and active), 'alle', or one status. `buurt`: a buurt's pk,
    'buiten' (outside every buurt) or '' for all. `sort`: a key of MEMBER_LIST_ORDER.
    """
    members = Member.objects.select_related("household", "household__buurt")
    if status == LIST_STATUS_CURRENT:
        current = Q(status__in=[Member.Status.APPLIED, Member.Status.ACTIVE])
        members = members.filter(_MostRows(current))
    elif status in Member.Status.values:
        members = members.filter(status=status)
    if buurt == LIST_BUURT_OUTSIDE:
        members = members.filter(household__buurt__isnull=True)
    elif (buurt_id := parse_id(buurt)) is not None:
        members = members.filter(household__buurt_id=buurt_id)
    q = q.strip()
    if q:
        if "@" in q:
            members = members.alias(email_lower=Lower("email"))
        members = members.filter(member_search_filter(q))
    return members.order_by(*MEMBER_LIST_ORDER.get(sort, MEMBER_LIST_ORDER["name"]))


# The member's own pages ---------------------------------------------------------------------


def household_housemates(member: Member) -> list[Member]:
    """The other people of the member's household: current members first, then ended ones."""
    housemates = Member.objects.filter(household_id=member.household_id).exclude(pk=member.pk)
    current = [m for m in housemates if m.is_current]
    ended = [m for m in housemates if not m.is_current]
    return current + ended


@dataclass(frozen=True)
class ConsentState:
    """One kind of text as the member stands with it: `text` is its newest version, `history`
    the member's consents to any version of it, newest first."""

    text: ConsentText
    history: tuple[Consent, ...]

    @property
    def current(self) -> Consent | None:
        """The consent in force (not withdrawn), to the newest version it was given for."""
        return next((c for c in self.history if c.withdrawn_at is None), None)

    @property
    def state(self) -> str:
        """'given' (to the newest version), 'older' (to an earlier version only), 'withdrawn'
        (the last one was taken back) or 'never'."""
        current = self.current
        if current is not None:
            return "given" if current.consent_text_id == self.text.pk else "older"
        return "withdrawn" if self.history else "never"

    @property
    def last_withdrawn_at(self):
        return next((c.withdrawn_at for c in self.history if c.withdrawn_at), None)


def member_consent_states(member: Member) -> list[ConsentState]:
    """Every text in use (its newest version) with what the member did with it: two queries."""
    newest: dict[str, ConsentText] = {}
    for text in ConsentText.objects.order_by("key", "-version"):
        newest.setdefault(text.key, text)
    history: dict[str, list[Consent]] = {}
    for consent in member.consents.select_related("consent_text").order_by("-given_at", "-pk"):
        history.setdefault(consent.consent_text.key, []).append(consent)
    return [
        ConsentState(text=text, history=tuple(history.get(key, ()))) for key, text in newest.items()
    ]


def member_notices(member: Member) -> list[MembershipNotice]:
    """The member's notices, newest first; at most one of them is pending."""
    return list(MembershipNotice.objects.filter(member=member).select_related("decided_by"))


def notices_pending() -> QuerySet[MembershipNotice]:
    """Notices waiting for a coordinator, the oldest first (read from the pending-only index)."""
    return (
        MembershipNotice.objects.filter(status=MembershipNotice.Status.PENDING)
        .select_related("member", "member__household")
        .order_by("given_at", "pk")
    )


def notices_pending_count() -> int:
    return MembershipNotice.objects.filter(status=MembershipNotice.Status.PENDING).count()


# The coordinator's household and buurt pages ------------------------------------------------


def household_search(
    *, postcode: str, house_number: int | None = None, limit: int = 20
) -> list[Household]:
    """Known addresses at a postcode (and house number), with the people who live there now."""
    from django.db.models import Prefetch

    households = Household.objects.filter(postcode=postcode).select_related("buurt")
    if house_number is not None:
        households = households.filter(house_number=house_number)
    current = Member.objects.current().order_by("sort_name")
    members = Prefetch("members", queryset=current, to_attr="current_members")
    return list(households.prefetch_related(members)[:limit])


def buurten_with_counts():
    """Every buurt with its postcode ranges and its current members and their households."""
    from django.db.models import Count

    from .models import Buurt

    current = Q(households__members__status__in=[Member.Status.APPLIED, Member.Status.ACTIVE])
    return (
        Buurt.objects.annotate(
            members_count=Count("households__members", filter=current, distinct=True),
            households_count=Count("households", filter=current, distinct=True),
        )
        .prefetch_related("postcode_ranges")
        .order_by("name")
    )


def members_outside_area_count() -> int:
    """Current members whose address lies outside every buurt."""
    return Member.objects.current().filter(household__buurt__isnull=True).count()


# The key of the privacy statement among the consent texts: the public page shows its newest version.
PRIVACY_KEY = "privacy"


def consent_text_current(key: str) -> ConsentText | None:
    """The newest version of one kind of consent text; None when there is none yet."""
    return ConsentText.objects.filter(key=key).order_by("-version").first()
