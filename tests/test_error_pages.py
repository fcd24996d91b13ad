"""Error pages with DEBUG off: the site's layout, plain Dutch, the way back and the phone number;
the 500 page also when the database is down; a production start without static files stops."""

import sys
from unittest import mock

import pytest
from django.db import OperationalError, connections
from django.test import Client
from django.urls import path, reverse

from coop.accounts.access import public
from coop.core.context_processors import last_seen
from coop.core.models import Organisation
from coop.lib.startup import static_files_ready
from coop.urls import handler400, handler403, handler404, handler500
from coop.urls import urlpatterns as site_urls

from .conftest import make_persona
from .test_settings import PRODUCTION, run


@public
def broken_view(request):
    raise RuntimeError("a bug")


# This module is also the URLconf of the tests below that need a page that breaks.
urlpatterns = [*site_urls, path("kapot/", broken_view)]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]

PHONE = "055 123 45 67"


@pytest.fixture(autouse=True)
def production_errors(settings, db):
    settings.DEBUG = False
    settings.ROOT_URLCONF = __name__
    return Organisation.objects.create(name="Buurtcoöperatie Zuid", phone=PHONE)


@pytest.fixture
def browser_client():
    """A client that gets the 500 page, as a browser would, instead of the exception."""
    return Client(raise_request_exception=False)


def page(response) -> str:
    return response.content.decode()


def assert_in_layout_with_phone(html: str) -> None:
    assert 'class="site-header"' in html and 'class="site-footer"' in html
    assert "Buurtcoöperatie Zuid" in html
    assert f'<a href="tel:0551234567">{PHONE}</a>' in html
    assert "Naar de startpagina" in html
    assert 'lang="nl"' in html


def test_404_page(client):
    response = client.get("/bestaat-niet/")
    assert response.status_code == 404
    html = page(response)
    assert "Deze pagina bestaat niet" in html
    assert "typefout in het adres" in html
    assert_in_layout_with_phone(html)
    assert "Content-Security-Policy" in response


def test_404_of_an_unknown_record_for_a_logged_in_coordinator(client):
    client.force_login(make_persona("coordinator"))
    response = client.get(reverse("members:member_detail", args=[999999]))
    assert response.status_code == 404
    html = page(response)
    assert "Deze pagina bestaat niet" in html
    assert "Uitloggen" in html  # the coordinator's own menu
    assert_in_layout_with_phone(html)


def test_403_page_of_a_role_check_says_who_is_logged_in(client):
    client.force_login(make_persona("member"))
    response = client.get(reverse("members:member_list"))
    assert response.status_code == 403
    html = page(response)
    assert "Deze pagina is niet voor u" in html
    assert "U bent ingelogd als member@example.org" in html
    assert_in_layout_with_phone(html)


def test_back_link_only_to_our_own_pages(client):
    client.force_login(make_persona("member"))
    url = reverse("members:member_list")
    ours = client.get(url, HTTP_REFERER="http://testserver/mijn/")
    assert 'href="http://testserver/mijn/">Terug naar de vorige pagina' in page(ours)
    theirs = client.get(url, HTTP_REFERER="https://elders.example/pagina")
    assert "Terug naar de vorige pagina" not in page(theirs)
    assert "elders.example" not in page(theirs)


def test_400_page_for_a_request_we_cannot_read(client):
    response = client.get("/", HTTP_HOST="kwaad.example")
    assert response.status_code == 400
    html = page(response)
    assert "Dat begrijpen wij niet" in html
    assert_in_layout_with_phone(html)


def test_csrf_failure_page_sends_back_to_the_form():
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        reverse("set_language"),
        {"language": "en", "next": "/"},
        HTTP_REFERER="http://testserver/accounts/login/",
    )
    assert response.status_code == 403
    html = page(response)
    assert "Het formulier is verlopen" in html
    assert "laad de pagina opnieuw" in html
    assert 'href="http://testserver/accounts/login/">Terug naar de vorige pagina' in html
    assert_in_layout_with_phone(html)


def test_500_page_of_a_view_that_breaks(browser_client):
    response = browser_client.get("/kapot/")
    assert response.status_code == 500
    html = page(response)
    assert "Er ging iets mis" in html
    assert "Het ligt niet aan u" in html
    assert_in_layout_with_phone(html)
    assert "a bug" not in html and "Traceback" not in html
    assert "Content-Security-Policy" in response


def database_down():
    return mock.patch.object(
        connections["default"],
        "cursor",
        side_effect=OperationalError("could not connect to server: Connection refused"),
    )


@pytest.mark.parametrize("persona", ["anonymous", "member"])
def test_500_page_when_the_database_is_down(browser_client, persona):
    user = make_persona(persona)
    if user is not None:
        browser_client.force_login(user)
    # A page served while the database was up: the error page remembers whom to call.
    last_seen.clear()
    assert browser_client.get("/", follow=True).status_code == 200
    with database_down():
        response = browser_client.get("/")
    assert response.status_code == 500
    html = page(response)
    assert html.startswith("<!DOCTYPE html>")
    assert 'class="site-nav"' not in html  # the small page, without the layout
    assert '<span class="brand">Buurtcoöperatie Zuid</span>' in html
    assert "Er ging iets mis" in html
    assert "Het ligt niet aan u" in html
    assert f'<a href="tel:0551234567">{PHONE}</a>' in html
    assert 'href="/">Naar de startpagina' in html
    assert "/static/css/coop.css" in html
    # No inline style or script: the policy holds on this page too.
    assert "style=" not in html and "<script" not in html
    assert "Content-Security-Policy" in response


def test_404_page_when_the_database_is_down_keeps_its_status(browser_client):
    with database_down():
        response = browser_client.get("/bestaat-niet/")
    assert response.status_code == 404
    assert "Deze pagina bestaat niet" in page(response)


# Start-up without collected static files -----------------------------------------------------

START = "import coop.wsgi, coop.asgi; print('started')"


def test_production_start_without_static_files_says_what_to_do(tmp_path):
    env = {**PRODUCTION, "STATIC_ROOT": str(tmp_path / "static")}
    for server in ("coop.wsgi", "coop.asgi"):
        refused = run(env, sys.executable, "-c", f"import {server}")
        assert refused.returncode != 0, server
        assert "The static files have not been collected" in refused.stderr
        assert "manage.py collectstatic" in refused.stderr

    collected = run(env, sys.executable, "manage.py", "collectstatic", "--no-input", "-v", "0")
    assert collected.returncode == 0, collected.stderr
    started = run(env, sys.executable, "-c", START)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "started"


def test_with_debug_on_static_files_come_from_the_source_folders(settings, tmp_path):
    settings.DEBUG = True
    settings.STATIC_ROOT = tmp_path
    assert static_files_ready()


def test_without_a_manifest_in_static_root_the_start_is_refused(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    assert not static_files_ready()
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    assert static_files_ready()
