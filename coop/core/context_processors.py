from .models import Organisation


def organisation(request):
    return {"organisation": Organisation.current()}
