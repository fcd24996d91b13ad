"""The roles people have in the cooperative. Each role is a Django group of the same name."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    MEMBER = "member", _("Lid")
    VOLUNTEER = "volunteer", _("Vrijwilliger")
    BUURTASSISTENT = "buurtassistent", _("Buurtassistent")
    COORDINATOR = "coordinator", _("Coördinator")
    TREASURER = "treasurer", _("Penningmeester")
    ADMIN = "admin", _("Beheerder")


# Roles that see other people's data; they must use a second factor in production.
STAFF_ROLES = frozenset({Role.COORDINATOR, Role.TREASURER, Role.ADMIN})
