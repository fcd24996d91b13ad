"""The Content-Security-Policy in a real browser: our pages break none of it, and the watch that
fails every browser test on a violation does see one."""

import pytest

from ..conftest import make_persona
from .conftest import assert_no_csp_violations, force_login

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

INJECT = """
() => {
  const script = document.createElement("script");
  script.textContent = "window.injected = true;";
  document.body.append(script);
  document.querySelector("h1").setAttribute("style", "color: red");
  const style = document.createElement("style");
  style.textContent = "body { background: red; }";
  document.head.append(style);
  return window.injected === true;
}
"""


def test_inline_script_and_styles_are_blocked_and_reported(page, csp_violations):
    page.goto("/accounts/login/")
    ran = page.evaluate(INJECT)
    page.wait_for_timeout(200)
    assert ran is False
    assert page.locator("h1").evaluate("h => getComputedStyle(h).color") != "rgb(255, 0, 0)"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 0, 0)"
    found = "\n".join(csp_violations)
    assert "script-src-elem blocked inline" in found
    assert "style-src-attr blocked inline" in found
    assert "style-src-elem blocked inline" in found
    assert "console: " in found
    with pytest.raises(AssertionError, match="script-src-elem"):
        assert_no_csp_violations(csp_violations)
    csp_violations.clear()


def test_an_image_from_another_host_is_blocked(page, csp_violations):
    page.goto("/accounts/login/")
    page.evaluate(
        """() => { const img = new Image(); img.src = "https://example.org/x.png";
        document.body.append(img); }"""
    )
    page.wait_for_timeout(200)
    assert any("img-src blocked https://example.org/x.png" in v for v in csp_violations)
    csp_violations.clear()


def test_admin_pages_keep_the_policy(page, live_server):
    """Django's admin with the site-wide policy: the list, a change form with the two-box
    select for groups, the add form and the filters all work without inline script or style."""
    from members.models import Buurt

    from ..factories import MemberFactory

    admin = make_persona("admin")
    buurt = Buurt.objects.create(name="Noord")
    member = MemberFactory()
    force_login(page, admin, live_server)
    for path in (
        "/admin/",
        "/admin/accounts/user/",
        f"/admin/accounts/user/{admin.pk}/change/",
        "/admin/members/buurt/",
        f"/admin/members/buurt/{buurt.pk}/change/",
        "/admin/members/member/",
        "/admin/core/organisation/add/",
    ):
        response = page.goto(path)
        assert response is not None and response.status == 200, path
    page.goto(f"/admin/accounts/user/{admin.pk}/change/")
    # The two-box select for groups is built by the admin's JavaScript: it ran.
    assert page.locator(".selector").count() > 0
    # The admin's inline "add another postcode range" row comes from JavaScript as well.
    page.goto(f"/admin/members/buurt/{buurt.pk}/change/")
    rows = page.locator(".dynamic-postcode_ranges")
    before = rows.count()
    page.locator(".add-row a").first.click()
    assert rows.count() == before + 1
    # The calendar next to a date field, and the search for a household (a pop-up window).
    page.goto(f"/admin/members/member/{member.pk}/change/")
    page.locator("#id_date_of_birth + .datetimeshortcuts a").last.click()
    assert page.locator(".calendarbox").first.is_visible()
    with page.expect_popup() as popup:
        page.locator("#lookup_id_household").click()
    popup.value.wait_for_load_state()
    assert popup.value.locator("#result_list").count() == 1


@pytest.fixture
def breaking_site(settings):
    settings.ROOT_URLCONF = "tests.test_error_pages"


@pytest.mark.parametrize(
    ("persona", "path", "status", "heading"),
    [
        ("anonymous", "/bestaat-niet/", 404, "Deze pagina bestaat niet"),
        ("member", "/leden/", 403, "Deze pagina is niet voor u"),
        ("anonymous", "/kapot/", 500, "Er ging iets mis"),
    ],
)
def test_error_pages_on_a_phone(
    phone_page, live_server, breaking_site, persona, path, status, heading
):
    from coop.core.models import Organisation

    from .test_accessibility import serious_violations

    Organisation.objects.create(name="Buurtcoöperatie Zuid", phone="055 123 45 67")
    user = make_persona(persona)
    if user is not None:
        force_login(phone_page, user, live_server)
    response = phone_page.goto(path)
    assert response is not None and response.status == status
    assert phone_page.get_by_role("heading", level=1).inner_text() == heading
    call = phone_page.get_by_role("link", name="055 123 45 67").first
    assert call.is_visible() and call.get_attribute("href") == "tel:0551234567"
    assert phone_page.get_by_role("link", name="Naar de startpagina").is_visible()
    assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert serious_violations(phone_page) == []


def test_the_qr_code_for_a_second_factor_shows(page, live_server):
    """allauth draws the QR code as a data: image, which img-src allows."""
    from .conftest import log_in

    make_persona("coordinator")
    log_in(page, "coordinator@example.org")
    page.goto("/accounts/2fa/totp/activate/")
    if "/reauthenticate/" in page.url:
        page.get_by_label("Wachtwoord").fill("wachtwoord-123")
        page.get_by_role("button", name="Bevestigen").click()
    qr = page.locator("img.qr-code")
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0")


def test_the_pay_button_may_send_the_member_on_to_mollie(page, live_server, settings):
    """Chromium holds every redirect after a form's POST to the form page's form-action: the pay
    page allows the redirect to the provider's checkout (and from there to the bank)."""
    import responses

    from ..test_payments import API, HAL, make_invoice, mollie_payment

    settings.PAYMENT_PROVIDER = "mollie"
    settings.MOLLIE_API_KEY = "test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM"
    settings.SITE_URL = live_server.url
    user = make_persona("member")
    invoice = make_invoice(user.member.household)
    created = mollie_payment("tr_WDqYK6vllg", "open", invoice=invoice)
    # A host that never resolves: the browser gets as far as asking for it, and no further.
    checkout = "https://checkout.invalid/checkout/select-issuer/ideal/WDqYK6vllg"
    created["_links"]["checkout"]["href"] = checkout
    force_login(page, user, live_server)
    with responses.RequestsMock() as mollie:
        mollie.post(API, json=created, status=201, content_type=HAL)
        page.goto(f"/mijn/facturen/{invoice.pk}/betalen/")
        with page.expect_request(checkout) as request:
            page.get_by_role("button", name="Betaal € 17,50 met iDEAL").click()
    assert request.value.redirected_from is not None
    assert request.value.redirected_from.method == "POST"
