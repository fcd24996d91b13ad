"""Uploads that cannot take the server down: XLSX zip bombs, statement size, entry and account
checks, statements read outside the transaction, and the cap on every request body."""

import datetime as dt
import io
import time
import tracemalloc
import zipfile
from decimal import Decimal
from types import SimpleNamespace

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from finance.bench_sepa import CAMT_ENTRIES, camt_document
from finance.models import BankStatement, BankTransaction, LedgerEntry
from finance.services import FinanceError, statement_files
from finance.services.statement_files import MAX_FILE_BYTES, MAX_LINES, statement_parse
from finance.services.statements import account_is_own, statement_import, statement_read
from members.imports.errors import MemberImportError
from members.imports.reading import MAX_UNPACKED_BYTES, _check_archive, parse_member_file
from members.imports.services import MAX_FILE_BYTES as MEMBER_FILE_BYTES
from members.models import MemberImport

from .sepa_support import FIXTURES

CAMT = FIXTURES / "camt"
MT940 = FIXTURES / "mt940" / "statement.sta"
OWN_IBAN = "NL91ABNA0417164300"
OTHER_IBAN = "NL20INGB0001234567"
MB = 1024 * 1024


def _measured(function, *args, **kwargs):
    """(exception raised, seconds, peak MB allocated while running)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        function(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - returned for the test to check
        raised = exc
    else:
        raised = None
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / MB
    tracemalloc.stop()
    return raised, seconds, peak


# XLSX zip bombs -------------------------------------------------------------------------------

_XLSX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
        'package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
        '"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName='
        '"/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.worksheet+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.'
        'org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
        'officeDocument/2006/relationships"><sheets><sheet name="Leden" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.'
        'openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>'
    ),
}


def _bomb(sheet_mb: int, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A valid workbook whose one sheet is `sheet_mb` MB of the same cell, packed tight."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression, compresslevel=9) as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
            )
            cells = b'<c t="inlineStr"><is><t>voornaam</t></is></c>' * 20_000
            for _ in range(sheet_mb * MB // len(cells)):
                sheet.write(cells)
            sheet.write(b"</row></sheetData></worksheet>")
    return buffer.getvalue()


def _unpacked(data: bytes) -> int:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return sum(part.file_size for part in archive.infolist())


@pytest.fixture(scope="module")
def bomb() -> bytes:
    return _bomb(300)


def test_an_xlsx_zip_bomb_is_refused_fast_and_with_little_memory(bomb):
    assert len(bomb) < 1.5 * MB and _unpacked(bomb) > 250 * MB  # ~1 MB that unpacks to 300 MB
    raised, seconds, peak = _measured(parse_member_file, name="leden.xlsx", data=bomb)
    assert isinstance(raised, MemberImportError), raised
    assert "veel meer gegevens dan een ledenlijst" in raised.message
    assert raised.details and "CSV UTF-8" in raised.details[-1]
    assert seconds < 2, seconds
    assert peak < 50, peak


def test_a_bomb_under_the_total_limit_is_refused_by_its_packing():
    data = _bomb(40)  # 40 MB unpacked: under the total, but packed ~1000:1
    assert _unpacked(data) < MAX_UNPACKED_BYTES
    raised, seconds, _peak = _measured(parse_member_file, name="leden.xlsx", data=data)
    assert isinstance(raised, MemberImportError) and "ledenlijst" in raised.message
    assert seconds < 2, seconds


def test_a_part_packed_with_bzip2_is_refused_unread():
    data = _bomb(1, compression=zipfile.ZIP_BZIP2)
    with pytest.raises(MemberImportError, match="veel meer gegevens"):
        parse_member_file(name="leden.xlsx", data=data)


def test_a_bomb_that_lies_about_its_size_is_read_no_further_than_it_claims():
    """The central directory says 1,000 bytes; the sheet really unpacks to 40 MB."""
    data = _bomb(40)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo("xl/worksheets/sheet1.xml")
    real = info.file_size.to_bytes(4, "little")
    assert data.count(real) == 2  # in the part's own header and in the central directory
    lying = bytes(data).replace(real, (1000).to_bytes(4, "little"))
    raised, seconds, peak = _measured(parse_member_file, name="leden.xlsx", data=lying)
    assert isinstance(raised, MemberImportError), raised
    assert "kan niet worden gelezen" in raised.message
    assert seconds < 2 and peak < 50, (seconds, peak)


@pytest.mark.django_db
def test_the_bomb_uploaded_gives_the_message_and_stores_nothing(coordinator_client, bomb):
    response = coordinator_client.post(
        reverse("members:member_import"), {"file": SimpleUploadedFile("leden.xlsx", bomb)}
    )
    assert response.status_code == 200
    page = " ".join(response.content.decode().split())
    assert "veel meer gegevens dan een ledenlijst" in page and "CSV UTF-8" in page
    assert not MemberImport.objects.exists()


def test_a_wide_header_of_wrong_columns_is_answered_fast_and_briefly():
    """40,000 header cells without a name over 10,000 short rows: each blank header cell made
    the reader look through every row (minutes); and 30 unknown names are listed as 20."""
    cell = '<c t="inlineStr"><is><t>{}</t></is></c>'
    header = cell.format("voornaam") + "".join(cell.format(f"x{n}") for n in range(30))
    header += cell.format(" ") * 40_000
    rows = "".join(f'<row r="{n}">{cell.format("Jan")}</row>' for n in range(2, 10_002))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _XLSX_PARTS.items():
            archive.writestr(name, text)
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
            'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            f'<row r="1">{header}</row>{rows}</sheetData></worksheet>',
        )
    started = time.perf_counter()
    with pytest.raises(MemberImportError, match="kloppen niet") as refused:
        parse_member_file(name="leden.xlsx", data=buffer.getvalue())
    seconds = time.perf_counter() - started
    raised = refused.value
    unknown = next(d for d in raised.details if d.startswith("Deze kolommen kennen we niet"))
    assert "‘x19’" in unknown and "‘x20’" not in unknown and unknown.endswith(", ….")
    assert sum(len(d) for d in raised.details) < 2_000
    assert seconds < 3, seconds


def test_a_full_size_real_workbook_passes_the_bomb_check():
    """25,000 members, every column filled: the most the import allows is no bomb."""
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(
        ["voornaam", "tussenvoegsel", "achternaam", "e-mail", "telefoon", "geboortedatum"]
        + ["straat", "huisnummer", "toevoeging", "postcode", "plaats", "status", "lid sinds"]
        + ["lidnummer", "lid tot"]
    )
    for i in range(25_000):
        sheet.append(
            ["Johanna", "van der", f"Achternaam{i}", f"lid{i}@example.nl", f"06{10**7 + i}"]
            + ["12-3-1950", f"Straat{i % 200}", i % 300 + 1, "a", "7913 AB", "Hollandscheveld"]
            + ["lid", "2020-01-01", i + 1, None]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    assert _unpacked(data) > 15 * MB
    _check_archive(data)


@pytest.mark.django_db
def test_a_normal_xlsx_still_imports(coordinator_client):
    workbook = openpyxl.Workbook()
    workbook.active.append(["voornaam", "achternaam", "straat", "huisnummer", "postcode", "plaats"])
    workbook.active.append(["Fatima", "Yilmaz", "Molenweg", 5, "7913 EF", "Hollandscheveld"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = coordinator_client.post(
        reverse("members:member_import"),
        {"file": SimpleUploadedFile("leden.xlsx", buffer.getvalue())},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert MemberImport.objects.get().row_count == 1


# Bank statements: whose account ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("identification", "own"),
    [
        (OWN_IBAN, True),
        ("NL91 ABNA 0417 1643 00", True),
        ("nl91abna0417164300", True),
        ("NL91ABNA0417164300EUR", True),  # MT940 :25: with the currency
        ("ABNANL2A/NL91ABNA0417164300", True),  # MT940 :25: with the BIC
        (OTHER_IBAN, False),
        (OTHER_IBAN + "EUR", False),
        ("ABNANL2A/" + OTHER_IBAN, False),
        (OWN_IBAN + "1", False),
        (OWN_IBAN + "EURO", False),
        (OWN_IBAN[:-1], False),
        ("", False),
    ],
)
def test_which_account_identifications_are_ours(identification, own):
    assert account_is_own(identification, "NL91 ABNA 0417 1643 00") is own


def _nothing_stored():
    assert not BankStatement.objects.exists()
    assert not BankTransaction.objects.exists()
    assert not LedgerEntry.objects.exists()


@pytest.mark.django_db
def test_a_statement_of_another_account_is_refused_and_nothing_is_stored():
    content = (CAMT / "transfer.xml").read_bytes().replace(OWN_IBAN.encode(), OTHER_IBAN.encode())
    with pytest.raises(FinanceError) as refused:
        statement_import(file_name="ing.xml", content=content, by=None)
    assert str(refused.value) == (
        f"Dit afschrift is van rekening {OTHER_IBAN}, niet van de rekening van de coöperatie "
        "(NL91 ABNA 0417 1643 00). Er is niets ingelezen."
    )
    _nothing_stored()


@pytest.mark.django_db
def test_an_mt940_of_another_account_is_refused_and_ours_with_currency_is_read():
    content = MT940.read_bytes()
    other = content.replace(f":25:{OWN_IBAN}".encode(), f":25:{OTHER_IBAN}EUR".encode())
    with pytest.raises(FinanceError, match=f"van rekening {OTHER_IBAN}EUR, niet van"):
        statement_import(file_name="ing.sta", content=other, by=None)
    _nothing_stored()
    ours = content.replace(f":25:{OWN_IBAN}".encode(), f":25:ABNANL2A/{OWN_IBAN}EUR".encode())
    result = statement_import(file_name="ours.sta", content=ours, by=None)
    assert result.lines == 3 and BankStatement.objects.count() == 1


@pytest.mark.django_db
def test_every_statement_in_the_file_must_be_ours():
    """A file of two statements: ours, then another account's."""
    content = (CAMT / "transfer.xml").read_text()
    start, end = content.index("<Stmt>"), content.index("</Stmt>") + len("</Stmt>")
    second = content[start:end].replace(OWN_IBAN, OTHER_IBAN).replace("TR-0001", "TR-0002")
    two = content[:end] + second + content[end:]
    assert two.count("<Stmt>") == 2
    with pytest.raises(FinanceError, match=f"van rekening {OTHER_IBAN}"):
        statement_import(file_name="two.xml", content=two.encode(), by=None)
    _nothing_stored()


@pytest.mark.django_db
def test_a_statement_without_an_account_is_refused():
    content = (CAMT / "transfer.xml").read_text()
    start = content.index("<Acct>")
    content = content[:start] + content[content.index("</Acct>") + len("</Acct>") :]
    with pytest.raises(FinanceError, match="niet van welke rekening"):
        statement_import(file_name="no-account.xml", content=content.encode(), by=None)
    _nothing_stored()


# Bank statements: size and number of entries --------------------------------------------------

_CAMT_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
    'camt.053.001.02"><BkToCstmrStmt><GrpHdr><MsgId>JUNK</MsgId></GrpHdr><Stmt><Id>JUNK</Id>'
    f"<Acct><Id><IBAN>{OWN_IBAN}</IBAN></Id></Acct>"
)
_CAMT_ENTRY = (
    '<Ntry><Amt Ccy="EUR">1.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts><BookgDt><Dt>'
    "2026-01-01</Dt></BookgDt><AcctSvcrRef>JUNK-{n}</AcctSvcrRef><AddtlNtryInf>Regel {n}"
    "</AddtlNtryInf></Ntry>"
)


def _junk_camt(entries: int) -> bytes:
    body = "".join(_CAMT_ENTRY.format(n=n) for n in range(entries))
    return (_CAMT_HEAD + body + "</Stmt></BkToCstmrStmt></Document>").encode()


@pytest.mark.django_db
def test_a_junk_camt_with_116508_entries_is_refused_fast_and_stores_nothing():
    content = _junk_camt(116_508)
    assert 20 * MB < len(content) < MAX_FILE_BYTES
    raised, seconds, peak = _measured(statement_import, file_name="j.xml", content=content, by=None)
    assert isinstance(raised, FinanceError), raised
    assert "meer dan 50.000 regels" in str(raised)
    assert seconds < 2 and peak < 50, (seconds, peak)
    _nothing_stored()


def test_a_camt_of_tiny_elements_is_refused_before_its_tree_is_built():
    """One entry of 2.5 million empty elements: lxml would need ~750 MB to hold it."""
    entry = _CAMT_ENTRY.format(n=1).replace("</Ntry>", "<NtryDtls>" + "<X/>" * 2_500_000)
    content = (_CAMT_HEAD + entry + "</NtryDtls></Ntry></Stmt></BkToCstmrStmt></Document>").encode()
    raised, seconds, peak = _measured(statement_parse, content)
    assert isinstance(raised, FinanceError) and "veel meer XML-elementen" in str(raised), raised
    assert seconds < 1 and peak < 50, (seconds, peak)
    assert statement_parse((CAMT / "debit-batch.xml").read_bytes()).lines  # real files pass


def test_lines_inside_one_batch_entry_are_counted_too(monkeypatch):
    """debit-batch.xml is one entry of three debits: the quick count of entries lets it pass, the
    count of lines while reading does not."""
    monkeypatch.setattr(statement_files, "MAX_LINES", 2)
    with pytest.raises(FinanceError, match="meer dan 2 regels"):
        statement_parse((CAMT / "debit-batch.xml").read_bytes())
    monkeypatch.setattr(statement_files, "MAX_LINES", 3)
    assert len(statement_parse((CAMT / "debit-batch.xml").read_bytes()).lines) == 3


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("a file over the limit was parsed")

    monkeypatch.setattr(statement_files, "_Camt", never)
    content = _junk_camt(1) + b" " * MAX_FILE_BYTES
    with pytest.raises(FinanceError, match="te groot \\(meer dan 25 MB\\)"):
        statement_parse(content)


def _mt940(entries: int, statements: int = 1) -> bytes:
    line = ":61:2612151215C1,00NTRFNONREF//R{n}\n:86:/NAME/J BAKKER/REMI/Regel {n}\n"
    body = "".join(line.format(n=n) for n in range(entries))
    one = f":20:X\n:25:{OWN_IBAN}\n:28C:1/1\n:60F:C261214EUR0,00\n"
    extra = "".join(one + ":62F:C261214EUR0,00\n" for _ in range(statements - 1))
    return (extra + one + body + f":62F:C261218EUR{entries},00\n-\n").encode()


@pytest.mark.parametrize(
    ("entries", "statements", "message"),
    [(MAX_LINES + 1, 1, "meer dan 50.000 regels"), (1, 1001, "meer dan 1.000 afschriften")],
)
def test_an_mt940_with_too_many_entries_or_statements_is_refused_before_parsing(
    monkeypatch, entries, statements, message
):
    def never(*args, **kwargs):
        raise AssertionError("the MT940 was parsed")

    content = _mt940(entries, statements)
    monkeypatch.setattr(statement_files.mt940, "parse_statements", never)
    raised, seconds, _peak = _measured(statement_parse, content)
    assert isinstance(raised, FinanceError) and message in str(raised), raised
    assert seconds < 1, seconds


def test_an_mt940_at_the_entry_limit_is_read():
    assert len(statement_parse(_mt940(MAX_LINES)).lines) == MAX_LINES


def test_the_benchmark_statement_fits_the_limits():
    """`manage.py bench dues` imports 30,000 lines (a big cooperative's year) as one CAMT."""
    mandate = SimpleNamespace(account_holder="Johanna van den Berg-Jansen", iban=OTHER_IBAN)
    debits = [
        SimpleNamespace(end_to_end_id=f"2026-{n:06d}-B1", amount=Decimal("17.50"), mandate=mandate)
        for n in range(20_000)
    ]
    invoices = [
        SimpleNamespace(total=Decimal("17.50"), recipient_name="J. Bakker", number=f"2026-{n:06d}")
        for n in range(8_000)
    ]
    content = camt_document(
        debits=debits,
        returns=debits[:500],
        transfers=invoices,
        unmatched=1_500,
        day=dt.date(2026, 12, 15),
    )
    assert len(content) < MAX_FILE_BYTES / 2
    assert len(statement_read(content).lines) == CAMT_ENTRIES


# Bank statements: read outside the transaction ------------------------------------------------


@pytest.fixture
def parsed_in_transaction(monkeypatch):
    """Whether the database connection was inside a transaction each time a file was parsed."""
    seen: list[bool] = []
    real = statement_parse

    def spy(content):
        seen.append(connection.in_atomic_block)
        return real(content)

    monkeypatch.setattr("finance.services.statements.statement_parse", spy)
    return seen


@pytest.mark.django_db(transaction=True)
def test_the_import_service_parses_before_its_transaction(parsed_in_transaction):
    statement_import(file_name="t.xml", content=(CAMT / "transfer.xml").read_bytes(), by=None)
    assert parsed_in_transaction == [False]
    assert BankStatement.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_upload_page_parses_before_any_transaction(client, treasurer, parsed_in_transaction):
    client.force_login(treasurer)
    with open(CAMT / "transfer.xml", "rb") as upload:
        response = client.post(reverse("finance:statement_import"), {"file": upload})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert parsed_in_transaction == [False]
    assert BankStatement.objects.count() == 1


@pytest.mark.django_db
def test_the_upload_page_refuses_another_account_and_a_large_file(client, treasurer):
    client.force_login(treasurer)
    url = reverse("finance:statement_import")
    other = (CAMT / "transfer.xml").read_bytes().replace(OWN_IBAN.encode(), OTHER_IBAN.encode())
    response = client.post(url, {"file": SimpleUploadedFile("ing.xml", other)})
    assert response.status_code == 200
    assert "niet van de rekening van de coöperatie" in response.content.decode()
    big = SimpleUploadedFile("big.xml", _junk_camt(1) + b" " * MAX_FILE_BYTES)
    response = client.post(url, {"file": big})
    assert response.status_code == 200
    assert "te groot (meer dan 25 MB)" in response.content.decode()
    _nothing_stored()


@pytest.mark.django_db(transaction=True)
def test_the_member_import_page_reads_the_file_before_any_transaction(
    monkeypatch, client, coordinator
):
    seen: list[bool] = []
    real = parse_member_file

    def spy(**kwargs):
        seen.append(connection.in_atomic_block)
        return real(**kwargs)

    monkeypatch.setattr("members.imports.services.parse_member_file", spy)
    client.force_login(coordinator)
    content = "voornaam;achternaam;straat;huisnummer;postcode;plaats\r\n"
    content += "Fatima;Yilmaz;Molenweg;5;7913 EF;Hollandscheveld\r\n"
    response = client.post(
        reverse("members:member_import"),
        {"file": SimpleUploadedFile("leden.csv", content.encode())},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert seen == [False]
    assert MemberImport.objects.get().row_count == 1


# Every request body ---------------------------------------------------------------------------


class _Unreadable:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body of a too large request was read")

    readline = read


def test_the_body_cap_leaves_room_for_the_largest_upload(settings):
    assert settings.COOP_MAX_REQUEST_BYTES >= MAX_FILE_BYTES + MB
    assert settings.COOP_MAX_REQUEST_BYTES >= MEMBER_FILE_BYTES + MB


@pytest.mark.django_db
@pytest.mark.parametrize("declared", ["cap+1", "99999999999999999999999999"])
def test_a_request_body_over_the_cap_is_refused_unread(client, settings, declared):
    length = settings.COOP_MAX_REQUEST_BYTES + 1 if declared == "cap+1" else declared
    response = client.generic(
        "POST",
        reverse("account_login"),
        CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(length),
        **{"wsgi.input": _Unreadable()},
    )
    assert response.status_code == 413
    assert "hoogstens 30 MB" in response.content.decode()


@pytest.mark.django_db
def test_a_request_body_under_the_cap_is_read(client, settings):
    settings.COOP_MAX_REQUEST_BYTES = 10_000
    response = client.post(reverse("account_login"), {"login": "a@example.org", "password": "x"})
    assert response.status_code == 200
    response = client.post(reverse("account_login"), {"login": "a" * 20_000, "password": "x"})
    assert response.status_code == 413
