"""Reads, and the one place that decides which members and households a user may see."""

from django.db import connection
from django.db.models import BooleanField, F, Func, Q, QuerySet
from django.db.models.functions import Lower
from django.http import Http404

from coop.accounts.models import User
from coop.accounts.roles import Role
from coop.lib.numbers import INTEGER_MAX, is_ascii_digits, parse_id, parse_int
from coop.lib.postcode import postcode_prefix

from .models import Household, Member

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


def _postcode_starts(prefix: str, field: str = "postcode") -> Q:
    """Postcodes starting with `prefix`. PostgreSQL answers this from its pattern-ops index;
    SQLite uses an index for LIKE only on case-insensitive columns, so it also gets the same
    rows as a range (postcodes are stored normalised, and SQLite compares them byte by byte)."""
    starts = Q(**{f"{field}__startswith": prefix})
    if connection.vendor == "sqlite":
        starts &= Q(**{f"{field}__gte": prefix, f"{field}__lt": prefix + "\x7f"})
    return starts


def member_search_filter(q: str) -> Q:
    """What a coordinator typed, read as a member number, (part of) a postcode, an e-mail or a name.

    Each form has its own index on PostgreSQL: the number is unique, postcodes have a pattern-ops
    index for prefixes, and lower(e-mail) and search_name have trigram indexes for 'contains'.
    A four-digit term such as '7911' is both a possible member number and a postcode area.
    """
    q = " ".join(q.split())
    prefix = postcode_prefix(q)
    # Postcodes as a subquery, not a join: the few matching households are found by their index
    # and their members by the household key, instead of scanning every member.
    by_postcode = (
        Q(household_id__in=Household.objects.filter(_postcode_starts(prefix)).values("pk"))
        if prefix
        else None
    )
    if is_ascii_digits(q):
        number = parse_int(q, minimum=1, maximum=INTEGER_MAX)
        by_number = Q(number=number) if number is not None else Q(pk__in=[])
        return by_number | by_postcode if by_postcode is not None else by_number
    if by_postcode is not None:
        return by_postcode
    if "@" in q:
        return Q(email_lower__contains=q.lower())
    return Q(search_name__contains=q.lower())


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


def member_consents(member: Member) -> list:
    """Consents the member gave and has not withdrawn, with the text version they agreed to."""
    return list(member.consents.filter(withdrawn_at__isnull=True).select_related("consent_text"))


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
