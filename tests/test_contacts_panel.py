"""The web panel's Contacts tab and list picker, through Flask's test client as a logged-in browser."""

from __future__ import annotations

import html
import io
import re

import pytest

from tests.contact_helpers import LUCJA, NANDU, POLISH_EXCEL, ZAZOLC, import_file, members
from tests.test_panel import PASSWORD, Panel, stored, summary

_DRAFT = re.compile(r'name="draft" value="(\d+)"')


@pytest.fixture
def settings(configure):
    return configure(DEFAULT_REGION="PL", PANEL_PASSWORD=PASSWORD)


@pytest.fixture
def panel(settings, make_client) -> Panel:
    user = Panel(make_client())
    assert user.login().status_code == 302
    return user


def upload(panel: Panel, list_name: str, data: bytes, filename: str = "kierowcy.csv"):
    return panel.client.post("/panel/contacts/preview", content_type="multipart/form-data", data={
        "csrf_token": panel.token(), "list": list_name, "file": (io.BytesIO(data), filename)})


def text(page) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.text)).split())


def test_a_csv_is_previewed_with_its_bad_lines_then_imported_on_confirm(panel, settings):
    preview = upload(panel, "Kierowcy", POLISH_EXCEL)

    assert preview.status_code == 200
    shown = summary(preview.text)
    assert (shown["New contacts"], shown["Updated"], shown["Bad rows (skipped)"]) == ("3", "0", "3")
    assert "4 zadzwoń później" in text(preview) and "5 +48 600 12" in text(preview)
    assert "Windows-1250, semicolon-separated" in text(preview) and "{Imię}" in text(preview)
    assert "Kierowcy" not in text(panel.client.get("/panel/contacts")).split("Lists", 1)[1]  # nothing stored

    draft = _DRAFT.search(preview.text).group(1)
    done = panel.post("/panel/contacts/import", draft=draft)
    twice = panel.post("/panel/contacts/import", draft=draft)

    page = panel.client.get("/panel/contacts")
    assert done.status_code == 302 and "Imported into “Kierowcy”: 3 added, 0 updated, 0 unchanged. 3 bad rows " \
                                          "skipped." in text(page)
    assert set(members(settings, "kierowcy")) == {LUCJA, ZAZOLC, NANDU}
    assert re.search(r"<th scope=\"row\">Kierowcy</th><td class=\"num\">3</td>", page.text)
    assert twice.status_code == 302 and "expired or was already imported" in text(page)  # both flashes shown


def test_a_file_that_cannot_be_imported_names_its_lines_and_offers_no_confirm(panel):
    refused = upload(panel, "drivers", b"phone,name\ncall me,Ann\n")
    no_file = panel.post("/panel/contacts/preview", list="drivers")

    assert refused.status_code == 422 and "Nothing can be imported" in text(refused) and "2 call me" in text(refused)
    assert not _DRAFT.search(refused.text)
    assert no_file.status_code == 400 and "Choose a CSV file" in text(no_file)


def test_a_file_over_the_import_cap_gets_a_page_that_says_the_limit(configure, make_client):
    configure(DEFAULT_REGION="PL", PANEL_PASSWORD=PASSWORD, CONTACTS_IMPORT_MAX_BYTES=100)
    panel = Panel(make_client())
    panel.login()

    response = upload(panel, "drivers", POLISH_EXCEL * 3)

    assert response.status_code == 413 and "the most this form takes" in text(response)


def test_a_file_between_the_general_limit_and_the_import_cap_is_previewed(panel):
    rows = "".join(f"+4860{index:07d},Person {index},{'x' * 70}\n" for index in range(12_000))

    response = upload(panel, "everyone", ("phone,name,notes\n" + rows).encode())

    assert response.status_code == 200 and summary(response.text)["New contacts"] == "12000"


def test_a_list_is_deleted_and_its_people_stay_contacts(panel, settings):
    import_file(settings, "kierowcy", POLISH_EXCEL)
    import_file(settings, "day", f"phone\n{LUCJA}\n")

    panel.post("/panel/contacts/lists/kierowcy/delete")

    page = text(panel.client.get("/panel/contacts"))
    assert "Removed the list “kierowcy” (3 members)" in page
    assert list(members(settings, "day")) == [LUCJA]


def test_the_multi_sms_form_picks_lists_and_previews_a_personal_text(panel, settings, twilio_api, run_jobs):
    import_file(settings, "kierowcy", POLISH_EXCEL)

    form = panel.client.get("/panel/")
    preview = panel.preview("", "Cześć {imię}", lists="kierowcy")
    confirmed = panel.confirm("", "Cześć {imię}", lists="kierowcy")
    run_jobs()

    assert '<option value="kierowcy">kierowcy (3)</option>' in form.text
    assert summary(preview.text)["From lists"] == "kierowcy" and summary(preview.text)["Will be sent to"] == "3 numbers"
    assert "Example, to +48••••••456 Cześć Łucja" in text(preview)
    assert "Longest, to +48••••••457 : 18 characters, 1 segment Cześć Zażółć Gęślą" in text(preview)
    assert confirmed.status_code == 302 and len(stored(settings)) == 1
    assert sorted(m["body"] for m in twilio_api.messages) == ["Cześć Zażółć Gęślą", "Cześć Łucja", "Cześć Ńandu"]


def test_an_unknown_placeholder_is_refused_in_the_panel_preview(panel, settings):
    import_file(settings, "kierowcy", POLISH_EXCEL)

    preview = panel.preview("", "Cześć {imie}", lists="kierowcy")

    assert "Unknown field {imie}" in text(preview) and "Did you mean {Imię}?" in text(preview)
    assert 'name="nonce"' not in preview.text
