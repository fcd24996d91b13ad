"""The English translation: complete, compiled, and what English speakers actually see.

The source strings are Dutch; `locale/en/LC_MESSAGES/django.po` holds the English, and the compiled
`django.mo` is kept in the repository so a machine without gettext still shows English.
"""

import ast
import datetime as dt
import gettext
import html
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from coop.lib.emails import render_email
from members.models import Member

from .factories import BuurtFactory, HouseholdFactory, MemberFactory, PostcodeRangeFactory

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"


# --- Reading the .po file -------------------------------------------------------------------------


def _po_string(lines: list[str]) -> str:
    """The value of a (possibly multi-line) quoted PO string."""
    return "".join(ast.literal_eval(line) for line in lines)


def read_po(path: Path) -> list[dict]:
    """Entries of a PO file as dicts: msgctxt, msgid, msgid_plural, msgstr (list), flags, obsolete.

    Small on purpose: it reads what `makemessages`/`msgmerge` write, nothing more.
    """
    entries: list[dict] = []
    entry: dict = {}
    field = None
    buffers: dict[str, list[str]] = {}

    def finish():
        nonlocal entry, buffers, field
        if buffers:
            entry["msgctxt"] = _po_string(buffers["msgctxt"]) if "msgctxt" in buffers else None
            entry["msgid"] = _po_string(buffers.get("msgid", []))
            entry["msgid_plural"] = (
                _po_string(buffers["msgid_plural"]) if "msgid_plural" in buffers else None
            )
            strs = sorted(k for k in buffers if k.startswith("msgstr"))
            entry["msgstr"] = [_po_string(buffers[k]) for k in strs]
            entry.setdefault("flags", set())
            entry.setdefault("obsolete", False)
            entries.append(entry)
        entry, buffers, field = {}, {}, None

    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            finish()
            continue
        if line.startswith("#~|"):
            continue
        if line.startswith("#~"):
            if "msgstr" in "".join(buffers) and line[2:].strip().startswith(("msgid", "msgctxt")):
                finish()
            entry["obsolete"] = True
            line = line[2:].strip()
        if line.startswith("#,"):
            if buffers:
                finish()
            entry.setdefault("flags", set()).update(f.strip() for f in line[2:].split(","))
            continue
        elif line.startswith("#"):
            if buffers:
                finish()
            continue
        match = re.match(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(\".*\")$", line)
        if match:
            if match.group(1) in ("msgctxt", "msgid") and "msgstr" in "".join(buffers):
                finish()
            field = match.group(1)
            buffers[field] = [match.group(2)]
        elif line.startswith('"') and field:
            buffers[field].append(line)
        else:
            raise AssertionError(f"unexpected line in {path.name}: {raw!r}")
    finish()
    return entries


@pytest.fixture(scope="module")
def po_entries():
    entries = read_po(PO_FILE)
    header = [e for e in entries if e["msgid"] == ""]
    assert len(header) == 1, "the .po file should have exactly one header entry"
    return [e for e in entries if e["msgid"] != "" and not e["obsolete"]]


PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|<[^>]+>")


def test_po_reader_reads_what_msgfmt_reads(tmp_path):
    """The reader behind the checks below: plural, context, fuzzy and multi-line entries."""
    sample = tmp_path / "sample.po"
    sample.write_text(
        'msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n\n'
        '#: a.py:1\nmsgid "Ja"\nmsgstr "Yes"\n\n'
        '#, fuzzy\nmsgid "Nee"\nmsgstr "Nah"\n\n'
        'msgctxt "aantal"\nmsgid "lid"\nmsgid_plural "leden"\nmsgstr[0] "member"\nmsgstr[1] ""\n\n'
        'msgid ""\n"Twee "\n"regels"\nmsgstr ""\n\n'
        '#~ msgid "Oud"\n#~ msgstr "Old"\n',
        encoding="utf-8",
    )
    entries = [e for e in read_po(sample) if e["msgid"]]
    assert [e["msgid"] for e in entries] == ["Ja", "Nee", "lid", "Twee regels", "Oud"]
    ja, nee, lid, twee, oud = entries
    assert ja["msgstr"] == ["Yes"] and not ja["flags"]
    assert "fuzzy" in nee["flags"]
    assert lid["msgctxt"] == "aantal" and lid["msgid_plural"] == "leden"
    assert lid["msgstr"] == ["member", ""]
    assert twee["msgstr"] == [""]
    assert oud["obsolete"] is True


# --- (b) the catalogue is complete ----------------------------------------------------------------


def test_po_has_no_untranslated_or_fuzzy_entries(po_entries):
    assert len(po_entries) > 500, "the English catalogue looks far too small"
    untranslated = [e["msgid"] for e in po_entries if not all(s.strip() for s in e["msgstr"])]
    fuzzy = [e["msgid"] for e in po_entries if "fuzzy" in e["flags"]]
    assert untranslated == [], f"untranslated: {untranslated[:10]}"
    assert fuzzy == [], f"fuzzy: {fuzzy[:10]}"


def test_po_plurals_and_placeholders_match(po_entries):
    problems = []
    for e in po_entries:
        if e["msgid_plural"] is not None and len(e["msgstr"]) != 2:
            problems.append(("plural forms", e["msgid"]))
        sources = [e["msgid"]] + ([e["msgid_plural"]] if e["msgid_plural"] else [])
        for i, msgstr in enumerate(e["msgstr"]):
            source = sources[min(i, len(sources) - 1)]
            if sorted(PLACEHOLDER.findall(msgstr)) != sorted(PLACEHOLDER.findall(source)):
                problems.append(("placeholders", e["msgid"], msgstr))
    assert problems == []


# --- (c) the committed .mo matches the .po --------------------------------------------------------


def _catalog(path: Path) -> dict:
    with path.open("rb") as f:
        return gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]


def _key(e: dict) -> str:
    return f"{e['msgctxt']}\x04{e['msgid']}" if e["msgctxt"] is not None else e["msgid"]


def test_mo_holds_every_translation_of_the_po(po_entries):
    """The committed .mo is what Django reads; it must say what the .po says, entry for entry."""
    assert MO_FILE.exists(), "run `manage.py compilemessages --ignore=.venv` and keep the .mo"
    catalog = _catalog(MO_FILE)
    stale = []
    for e in po_entries:
        if e["msgid_plural"] is None:
            if catalog.get(_key(e)) != e["msgstr"][0]:
                stale.append(e["msgid"])
        else:
            if [catalog.get((_key(e), i)) for i in range(len(e["msgstr"]))] != e["msgstr"]:
                stale.append(e["msgid"])
    assert stale == [], f"the .mo is out of date; run compilemessages. First: {stale[:5]}"
    keys = {k if isinstance(k, str) else k[0] for k in catalog} - {""}
    extra = keys - {_key(e) for e in po_entries}
    assert extra == set(), f"the .mo has entries the .po no longer has: {sorted(extra)[:5]}"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext (msgfmt) is not installed")
def test_po_compiles_to_the_committed_mo(tmp_path):
    """msgfmt accepts the .po (format strings checked) and compiles it to the same catalogue."""
    out = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(out), str(PO_FILE)], check=True)
    assert _catalog(out) == _catalog(MO_FILE)


# --- (a) the pages in English and in Dutch --------------------------------------------------------


class _VisibleText(HTMLParser):
    """Text a person sees or hears: text nodes and the attributes screen readers read out."""

    SPOKEN = {"aria-label", "title", "alt", "placeholder", "data-label", "value"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if name in self.SPOKEN and value and not (tag == "input" and name == "value"):
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(response) -> str:
    assert response.status_code == 200, response.status_code
    parser = _VisibleText()
    parser.feed(response.content.decode())
    return " ".join(" ".join(parser.parts).split())


def dutch_sources(po_entries) -> list[str]:
    """Dutch source strings that read differently in English, long enough to be telling."""
    sources = []
    for e in po_entries:
        for source, target in zip(
            [e["msgid"], e["msgid_plural"] or e["msgid"]], e["msgstr"] + e["msgstr"], strict=False
        ):
            text = html.unescape(re.sub(r"<[^>]+>", "", source))
            if PLACEHOLDER.search(source) or source == target or len(text.split()) < 2:
                continue
            sources.append(" ".join(text.split()))
    return sources


# Dutch words that must not be left on an English page (whole words, case-sensitive).
DUTCH_WORDS = [
    "Inloggen",
    "Uitloggen",
    "Wachtwoord",
    "Welkom",
    "Leden",
    "leden",
    "Lidmaatschap",
    "Huishoudens",
    "huishouden",
    "Buurten",
    "Uw",
    "uw",
    "gegevens",
    "Taal",
    "Kies",
    "Naar de inhoud",
    "Word lid",
    "Bel ons",
    "coördinator",
    "Mijn",
    "Zoeken",
    "aanmeldingen",
    "wijzigen",
    "Versturen",
    "Opslaan",
    "Annuleren",
]


@pytest.fixture
def cooperative(db):
    """A neighbourhood with an active member and an applicant, and a member outside it."""
    buurt = BuurtFactory(name="Centrum")
    PostcodeRangeFactory(buurt=buurt, start="7911 AA", end="7911 ZZ")
    home = HouseholdFactory(postcode="7911 AB", buurt=buurt)
    MemberFactory(household=home)
    MemberFactory(household=home, status=Member.Status.APPLIED, joined_on=None)
    MemberFactory(household=HouseholdFactory(postcode="9999 ZZ", buurt=None))
    return buurt


# page -> (persona to log in as, or None; URL name): the pages an English speaker meets first.
PAGES = {
    "home": (None, "dashboard:home"),
    "login": (None, "account_login"),
    "signup": (None, "account_signup"),
    "portal": ("member", "members:portal"),
    "dashboard": ("coordinator", "dashboard:coordinator"),
}


# English phrases each page must show in English, and their Dutch sources in Dutch.
EXPECTED = {
    "home": (["Welcome to", "Become a member", "Log in", "Language"], ["Welkom bij", "Word lid"]),
    "login": (
        ["Log in", "Send me a login code", "Rather without a password?"],
        ["Stuur mij een inlogcode", "Liever zonder wachtwoord?"],
    ),
    "signup": (
        ["Become a member", "About you", "Your address", "First name", "Postcode"],
        ["Word lid", "Over u", "Uw adres", "Voornaam"],
    ),
    "portal": (
        ["Your membership", "Change my details", "Your housemates", "Download your details"],
        ["Uw lidmaatschap", "Mijn gegevens wijzigen", "Uw huisgenoten"],
    ),
    "dashboard": (
        ["active members", "Per neighbourhood", "Register a member", "New applications"],
        ["actieve leden", "Per buurt", "Lid inschrijven", "Nieuwe aanmeldingen"],
    ),
}


@pytest.fixture
def visit(client, persona):
    """visit(page, cookie=None, **headers) -> the visible text, seen as the page's persona."""
    users = {}

    def visit(page, cookie=None, **headers):
        who, url_name = PAGES[page]
        client.logout()  # also clears the cookies
        if who:
            if who not in users:
                users[who] = persona(who)
            client.force_login(users[who])
        if cookie:
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = cookie
        return visible_text(client.get(reverse(url_name), **headers))

    return visit


@pytest.mark.parametrize("page", list(EXPECTED))
def test_pages_in_english_with_accept_language(visit, cooperative, po_entries, page):
    text = visit(page, HTTP_ACCEPT_LANGUAGE="en")
    english, _dutch = EXPECTED[page]
    for phrase in english:
        assert phrase in text, f"{page}: {phrase!r} missing in English"
    leftover = [s for s in dutch_sources(po_entries) if s in text]
    assert leftover == [], f"{page}: Dutch source strings on the English page: {leftover}"
    words = [w for w in DUTCH_WORDS if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", text)]
    assert words == [], f"{page}: Dutch words on the English page: {words}\n{text}"


@pytest.mark.parametrize("page", list(EXPECTED))
def test_pages_follow_the_language_cookie(visit, cooperative, page):
    """The language chosen in the footer (a cookie) wins over the browser's Accept-Language."""
    english, dutch = EXPECTED[page]
    text = visit(page, cookie="en", HTTP_ACCEPT_LANGUAGE="nl")
    assert all(phrase in text for phrase in english), f"{page}: not English with the en cookie"
    assert not any(phrase in text for phrase in dutch), f"{page}: Dutch with the en cookie"

    text = visit(page, cookie="nl", HTTP_ACCEPT_LANGUAGE="en")
    assert all(phrase in text for phrase in dutch), f"{page}: not Dutch with the nl cookie"
    assert english[0] not in text, f"{page}: English with the nl cookie"


@pytest.mark.parametrize("page", list(EXPECTED))
def test_pages_are_dutch_by_default(visit, cooperative, page):
    text = visit(page)
    english, dutch = EXPECTED[page]
    for phrase in dutch:
        assert phrase in text, f"{page}: {phrase!r} missing in Dutch"
    assert not any(phrase in text for phrase in english[:2])


def test_setting_the_language_switches_the_page(client, cooperative):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert "Welcome to" in visible_text(client.get("/"))
    client.post(reverse("set_language"), {"language": "nl", "next": "/"})
    assert "Welkom bij" in visible_text(client.get("/"))


# --- Messages in the member's language ------------------------------------------------------------


def test_welcome_email_in_english(cooperative):
    member = MemberFactory(
        given_name="Ann",
        tussenvoegsel="",
        family_name="Smith",
        language="en",
        email="ann@example.org",
    )
    context = {"member": member, "household": member.household}
    with translation.override(member.language):
        english = render_email("members/email/welcome", context)
    with translation.override("nl"):
        dutch = render_email("members/email/welcome", context)

    assert english.subject.startswith("Welcome to")
    assert "Dear Ann," in english.text
    assert f"Your member number: {member.number}" in english.text
    assert "What we do for you" in english.text
    assert "Kind regards," in english.text
    assert "Welcome!" in english.html or "Welcome to" in english.html
    for dutch_word in ("Welkom", "Beste", "lidnummer", "Hartelijke groet", "buurt"):
        assert dutch_word not in english.subject + english.text, dutch_word
    assert "Welkom" in dutch.subject and "Beste Ann," in dutch.text


def test_english_dates_are_day_first():
    """Django's own English dates are American (01/15/2024); ours read and parse day-first."""
    from django import forms
    from django.utils.formats import date_format

    day = dt.date(2026, 3, 5)
    with translation.override("en"):
        assert date_format(day) == "5 March 2026"
        assert date_format(day, "SHORT_DATE_FORMAT") == "05-03-2026"
        assert forms.DateField().clean("31-12-2024") == dt.date(2024, 12, 31)
        assert forms.DateField().clean("05/03/2026") == day
    with translation.override("nl"):
        assert date_format(day) == "5 maart 2026"
        assert date_format(day, "SHORT_DATE_FORMAT") == "5-3-2026"
