"""One-time form tokens: a form that creates something is safe to submit twice.

Each such form carries `{% form_token %}` (coop_forms): a signed random token, bound to the
user, valid for a day. `once_per_form` wraps the view: it records the token in the same
transaction as whatever the view creates, so a second submission of the same page (a double
click, a reload, a browser sending the form again) creates nothing and is sent to where the
first one went. Two submissions at the same moment meet at the token's unique index: the second
waits for the first to commit, then finds it.

The view must answer success with a redirect (post/redirect/get). Any other answer, such as the
page shown again with form errors, leaves the token unused, so the corrected form can be sent.
A view that answers a refused action with a redirect uses its token up; the page it leads to
has a fresh one.
"""

import secrets
from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from .models import FormSubmission

FORM_TOKEN_FIELD = "form_token"  # noqa: S105 - a field name, not a secret
FORM_TOKEN_MAX_AGE = 24 * 60 * 60
_SALT = "coop.core.form_token"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


def _owner(user_id: int | None) -> str:
    return "" if user_id is None else str(user_id)


def form_token_new(*, user_id: int | None) -> str:
    """A fresh token for one rendering of a form, for this user (None: not logged in)."""
    nonce = secrets.token_urlsafe(24)
    return signing.TimestampSigner(salt=_SALT).sign(f"{_owner(user_id)}:{nonce}")


def form_token_nonce(request: HttpRequest) -> str | None:
    """The random part of the request's token; None when it is missing, altered, older than a
    day, or made for someone else."""
    value = request.POST.get(FORM_TOKEN_FIELD, "")
    try:
        payload = signing.TimestampSigner(salt=_SALT).unsign(value, max_age=FORM_TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    owner, _sep, nonce = payload.partition(":")
    user_id = request.user.pk if request.user.is_authenticated else None
    if owner != _owner(user_id) or not nonce:
        return None
    return nonce


def _claim(*, nonce: str, request: HttpRequest) -> FormSubmission | None:
    """Record the token; None when it was used before (or is being used right now: the insert
    waits for that transaction and fails when it commits)."""
    try:
        with transaction.atomic():
            return FormSubmission.objects.create(
                token=nonce,
                user=request.user if request.user.is_authenticated else None,
                path=request.path[:500],
            )
    except IntegrityError:
        return None


def _form_page(request: HttpRequest) -> str:
    """The page the form was on: the referring page of this site, else the URL itself."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return request.get_full_path()


def once_per_form(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let each rendering of the view's form create something once. GET passes through."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method != "POST":
            return view(request, *args, **kwargs)
        nonce = form_token_nonce(request)
        if nonce is None:
            messages.error(
                request,
                _(
                    "Dit formulier stond te lang open of was niet compleet. Er is niets opgeslagen. "
                    "Vul het opnieuw in en verstuur het nog eens."
                ),
            )
            return redirect(_form_page(request))
        with transaction.atomic():
            submission = _claim(nonce=nonce, request=request)
            if submission is None:
                first = FormSubmission.objects.filter(token=nonce).first()
                messages.info(
                    request,
                    _("Dit formulier was al verstuurd. Er is niets dubbel opgeslagen."),
                )
                return redirect(
                    first.result_url if first and first.result_url else _form_page(request)
                )
            response = view(request, *args, **kwargs)
            if response.status_code in _REDIRECTS:
                submission.result_url = response["Location"][:2000]
                submission.save(update_fields=["result_url"])
            else:
                submission.delete()
        return response

    wrapped.once_per_form = True  # type: ignore[attr-defined]
    return wrapped
