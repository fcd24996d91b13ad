from .roles import Role


def roles(request):
    user = getattr(request, "user", None)
    held = user.roles if user is not None and user.is_authenticated else frozenset()
    return {"coop_roles": held, "Role": Role}
