"""Real headless Chromium (Debian's package) driven by Playwright against the live server."""

import os
import shutil

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
    ):
        if candidate and shutil.which(candidate):
            return candidate
    pytest.fail("Chromium not found: install Debian's chromium or set CHROMIUM_PATH")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


# Every page reports what the Content-Security-Policy blocked, in two ways: Chromium's console
# message and the securitypolicyviolation event (the init script runs outside the page's policy).
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.__coopCspViolation(
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline"} on ${event.documentURI}` +
      (event.sample ? `: ${event.sample}` : "")
  );
});
"""


def watch_csp(context, violations: list[str]) -> None:
    """Adds every CSP violation in the context's pages to `violations`."""

    def on_console(message) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"console: {message.text}")

    context.on("console", on_console)
    context.expose_binding(
        "__coopCspViolation", lambda _source, text: violations.append(f"event: {text}")
    )
    context.add_init_script(CSP_LISTENER)


def assert_no_csp_violations(violations: list[str]) -> None:
    assert violations == [], "The Content-Security-Policy blocked something:\n" + "\n".join(
        violations
    )


@pytest.fixture
def csp_violations():
    """What the policy blocked in the test's pages; any left at the end fails the test."""
    violations: list[str] = []
    yield violations
    assert_no_csp_violations(violations)


def _new_page(browser, live_server, violations: list[str], **options):
    context = browser.new_context(base_url=live_server.url, locale="nl-NL", **options)
    watch_csp(context, violations)
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.fixture
def page(browser, live_server, csp_violations):
    page = _new_page(browser, live_server, csp_violations, viewport={"width": 1280, "height": 900})
    yield page
    page.context.close()


@pytest.fixture
def phone_page(browser, live_server, csp_violations):
    page = _new_page(
        browser,
        live_server,
        csp_violations,
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    yield page
    page.context.close()


def log_in(page, email: str, password: str = "wachtwoord-123") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mailadres").fill(email)
    page.get_by_label("Wachtwoord").fill(password)
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_load_state()


def force_login(page, user, live_server) -> None:
    """Give the browser a logged-in session without going through the login form."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie.value, "url": live_server.url}]
    )
