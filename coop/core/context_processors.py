from .models import Organisation

# The name and phone number the last page showed, for the error page when the database is down.
last_seen: dict[str, str] = {}


def organisation(request):
    org = Organisation.current()
    last_seen.update(name=org.name, phone=org.phone)
    return {"organisation": org}
