from django.db.models import Count, Q
from django.utils import timezone

from members.models import Buurt, Household, Member


def member_overview() -> dict:
    """Figures for the coordinator's dashboard, in a fixed handful of queries."""
    today = timezone.localdate()
    month_start = today.replace(day=1)
    counts = Member.objects.aggregate(
        active=Count("pk", filter=Q(status=Member.Status.ACTIVE)),
        applied=Count("pk", filter=Q(status=Member.Status.APPLIED)),
        new_this_month=Count(
            "pk", filter=Q(status=Member.Status.ACTIVE, joined_on__gte=month_start)
        ),
        ended_this_month=Count("pk", filter=Q(ended_on__gte=month_start)),
    )
    households = Household.objects.filter(members__status=Member.Status.ACTIVE).distinct().count()
    per_buurt = list(
        Buurt.objects.annotate(
            members=Count(
                "households__members", filter=Q(households__members__status=Member.Status.ACTIVE)
            ),
            households_count=Count(
                "households",
                filter=Q(households__members__status=Member.Status.ACTIVE),
                distinct=True,
            ),
        ).order_by("name")
    )
    outside = Member.objects.current().filter(household__buurt__isnull=True).count()
    recent_applications = list(
        Member.objects.filter(status=Member.Status.APPLIED)
        .select_related("household")
        .order_by("-applied_on", "-pk")[:10]
    )
    return {
        "counts": counts,
        "households": households,
        "per_buurt": per_buurt,
        "outside_area": outside,
        "recent_applications": recent_applications,
        "month_start": month_start,
    }
