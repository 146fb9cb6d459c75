"""Contacts over the REST API, as an integration would use it: import a spreadsheet's CSV into a
list, read the lists, send a personal text to a list, remove and forget."""

from __future__ import annotations

import pytest

from multisms.db import session_scope
from multisms.models import Batch
from tests.contact_helpers import LUCJA, NANDU, POLISH_EXCEL, ZAZOLC, import_file

CSV = {"Content-Type": "text/csv"}


@pytest.fixture
def settings(configure):
    return configure(DEFAULT_REGION="PL", FORGET_KEY="a long random key kept for good")


@pytest.fixture
def api(settings, client, auth):
    """`api("post", path, **kwargs)` with the token."""

    def call(method: str, path: str, **kwargs):
        headers = {**auth, **kwargs.pop("headers", {})}
        return client.open(path, method=method.upper(), headers=headers, **kwargs)

    return call


def batches(settings) -> int:
    with session_scope(settings.database_url) as session:
        return session.query(Batch).count()


def test_a_polish_excel_csv_is_previewed_then_imported_naming_the_bad_lines(api):
    preview = api("post", "/api/contacts/import?list=Kierowcy&dry_run=1", data=POLISH_EXCEL, headers=CSV)
    nothing_yet = api("get", "/api/lists")
    imported = api("post", "/api/contacts/import?list=Kierowcy", data=POLISH_EXCEL, headers=CSV)
    again = api("post", "/api/contacts/import?list=kierowcy", data=POLISH_EXCEL, headers=CSV)

    assert preview.status_code == 200, preview.json
    assert {key: preview.json[key] for key in ("list", "imported", "updated", "duplicates", "dry_run")} == {
        "list": "Kierowcy", "imported": 3, "updated": 0, "duplicates": 0, "dry_run": True}
    assert preview.json["invalid"] == [
        {"line": 4, "value": "zadzwoń później", "reason": preview.json["invalid"][0]["reason"]},
        {"line": 5, "value": "+48 600 12", "reason": preview.json["invalid"][1]["reason"]},
        {"line": 6, "value": "", "reason": "no phone number in column “Telefon”"},
    ]
    assert (preview.json["encoding"], preview.json["delimiter"], preview.json["fields"]) == (
        "Windows-1250", "semicolon", ["Imię"])
    assert nothing_yet.json == {"items": [], "count": 0}
    assert (imported.json["imported"], imported.json["dry_run"]) == (3, False)
    assert (again.json["imported"], again.json["unchanged"], again.json["list"]) == (0, 3, "Kierowcy")

    people = api("get", "/api/contacts?list=KIEROWCY").json
    assert people["total"] == 3 and people["list"] == "KIEROWCY"
    assert [(item["number"], item["name"], item["fields"], item["opted_out"]) for item in people["items"]] == [
        (LUCJA, "Łucja", {"Imię": "Łucja"}, False), (ZAZOLC, "Zażółć Gęślą", {"Imię": "Zażółć Gęślą"}, False),
        (NANDU, "Ńandu", {"Imię": "Ńandu"}, False)]
    [listed] = api("get", "/api/lists").json["items"]
    assert (listed["name"], listed["members"], listed["opted_out"]) == ("Kierowcy", 3, 0)


def test_the_panel_style_multipart_upload_is_accepted_too(api):
    response = api("post", "/api/contacts/import?list=drivers",
                   data={"file": (__import__("io").BytesIO(POLISH_EXCEL), "kierowcy.csv")},
                   content_type="multipart/form-data")

    assert response.status_code == 200 and response.json["imported"] == 3


def test_a_file_above_the_general_request_limit_imports_under_its_own_cap(api):
    rows = "".join(f"+4860{index:07d},Person {index},{'x' * 70}\n" for index in range(12_000))
    data = ("phone,name,notes\n" + rows).encode()
    assert len(data) > 1024 * 1024

    response = api("post", "/api/contacts/import?list=everyone&dry_run=true", data=data, headers=CSV)

    assert response.status_code == 200, response.json
    assert (response.json["imported"], response.json["rows_read"]) == (12_000, 12_000)


def test_a_file_over_the_import_cap_is_refused_before_it_is_read(make_client, auth):
    client = make_client(DEFAULT_REGION="PL", CONTACTS_IMPORT_MAX_BYTES=100)

    response = client.post("/api/contacts/import?list=drivers", data=POLISH_EXCEL, headers={**auth, **CSV})

    assert response.status_code == 413
    assert "CONTACTS_IMPORT_MAX_BYTES" in response.json["error"]
    assert client.get("/api/lists", headers=auth).json["count"] == 0


def test_a_file_with_no_usable_number_is_refused_naming_each_line_and_stores_nothing(api):
    response = api("post", "/api/contacts/import?list=drivers", data="phone,name\ncall me,Ann\n,Bob\n", headers=CSV)
    refused = [api("post", "/api/contacts/import?list=drivers", data=b"", headers=CSV),
               api("post", "/api/contacts/import?list=a|b", data=POLISH_EXCEL, headers=CSV),
               api("post", "/api/contacts/import", data=POLISH_EXCEL, headers=CSV),
               api("post", "/api/contacts/import?list=x", json={"phone": LUCJA})]

    assert response.status_code == 422 and response.json["error"].startswith("Nothing was imported")
    assert [(p["line"], p["value"]) for p in response.json["problems"]] == [(2, "call me"), (3, "")]
    assert [r.status_code for r in refused] == [400, 400, 400, 400]
    assert [r.json["problems"][0]["field"] for r in refused] == ["body", "list", "list", "body"]
    assert api("get", "/api/lists").json["count"] == 0


def test_a_batch_to_a_list_previews_the_personal_texts_and_sends_each_its_own(api, settings, twilio_api, run_jobs):
    import_file(settings, "kierowcy", POLISH_EXCEL)
    request = {"body": "Cześć {imię|}, jutro o 6:00", "lists": ["kierowcy"], "numbers": LUCJA}

    dry = api("post", "/api/multi-sms/batches", json={**request, "dry_run": True}).json["validation"]
    created = api("post", "/api/multi-sms/batches", json=request)
    run_jobs()

    assert (dry["valid_count"], dry["personalized"], dry["lists"]) == (3, True, ["kierowcy"])
    assert dry["example"]["body"] == "Cześć Łucja, jutro o 6:00" and dry["example"]["number"] == "+48••••••456"
    assert (dry["longest"]["body"], dry["longest"]["characters"]) == ("Cześć Zażółć Gęślą, jutro o 6:00", 32)
    assert (dry["total_segments"], dry["cost"], dry["currency"]) == (3, 0.0249, "USD")
    assert created.status_code == 201
    assert sorted((m["to"], m["body"]) for m in twilio_api.messages) == [
        (LUCJA, "Cześć Łucja, jutro o 6:00"), (ZAZOLC, "Cześć Zażółć Gęślą, jutro o 6:00"),
        (NANDU, "Cześć Ńandu, jutro o 6:00")]


def test_an_unknown_placeholder_or_list_is_refused_and_nothing_is_stored(api, settings):
    import_file(settings, "kierowcy", POLISH_EXCEL)

    typo = api("post", "/api/multi-sms/batches", json={"body": "Cześć {imie}", "lists": ["kierowcy"]})
    unknown = api("post", "/api/multi-sms/batches", json={"body": "Hi", "lists": ["kierowca"]})

    assert typo.status_code == 422 and unknown.status_code == 422
    assert typo.json["problems"][0]["message"].startswith("Unknown field {imie}")
    assert typo.json["problems"][0]["placeholder"] == "imie"
    assert unknown.json["problems"][0] == {"field": "lists",
                                           "message": "No list named “kierowca”. Did you mean “kierowcy”?"}
    assert batches(settings) == 0


def test_lists_and_contacts_are_removed_without_touching_what_was_sent(api, settings, run_jobs, twilio_api):
    import_file(settings, "kierowcy", POLISH_EXCEL)
    import_file(settings, "day", f"phone\n{LUCJA}\n")
    api("post", "/api/multi-sms/batches", json={"body": "Hi", "lists": ["kierowcy"]})
    run_jobs()

    removed = api("delete", "/api/lists/Kierowcy")
    gone = api("delete", "/api/lists/kierowcy")
    contact = api("delete", f"/api/contacts/{LUCJA}")
    not_a_number = api("delete", "/api/contacts/call-me")

    assert removed.json["removed"]["name"] == "kierowcy" and removed.json["removed"]["members"] == 3
    assert gone.status_code == 404 and "No list named" in gone.json["error"]
    assert contact.json == {"number": LUCJA, "name": "Łucja"}
    assert api("delete", "/api/lists/day%00").status_code == 404  # no stored name has a control character
    assert api("get", "/api/contacts?list=%00").status_code == 404
    assert not_a_number.status_code == 400 and not_a_number.json["problems"][0]["field"] == "number"
    assert api("get", "/api/contacts?list=day").json["total"] == 0
    assert batches(settings) == 1


def test_a_forgotten_number_is_skipped_by_later_imports(api, settings):
    import_file(settings, "kierowcy", POLISH_EXCEL)

    forgotten = api("post", f"/api/contacts/{LUCJA}/forget")
    again = api("post", "/api/contacts/import?list=kierowcy", data=POLISH_EXCEL, headers=CSV)

    assert forgotten.status_code == 200
    assert (forgotten.json["number"], forgotten.json["contact_removed"], forgotten.json["lists_left"]) == (
        "+48••••••456", True, 1)
    assert [(row["line"], row["number"]) for row in again.json["forgotten"]] == [(2, "+48••••••456")]
    assert LUCJA not in [item["number"] for item in api("get", "/api/contacts?list=kierowcy").json["items"]]


def test_an_unforgotten_number_can_be_imported_again_and_only_a_forgotten_one_can_be_unforgotten(api, settings):
    import_file(settings, "kierowcy", POLISH_EXCEL)
    api("post", f"/api/contacts/{LUCJA}/forget")

    unforgotten = api("delete", f"/api/contacts/{LUCJA}/forget")
    again = api("delete", f"/api/contacts/{LUCJA}/forget")
    imported = api("post", "/api/contacts/import?list=kierowcy", data=POLISH_EXCEL, headers=CSV)

    assert (unforgotten.status_code, unforgotten.json) == (200, {"number": "+48••••••456"})
    assert again.status_code == 404 and "was not forgotten" in again.json["error"]
    assert imported.json["forgotten"] == []
    assert LUCJA in [item["number"] for item in api("get", "/api/contacts?list=kierowcy").json["items"]]


def test_forget_without_a_key_is_refused_and_erases_nothing(make_client, auth, settings):
    client = make_client(FORGET_KEY=None, SECRET_KEY=None)
    import_file(settings, "kierowcy", POLISH_EXCEL)

    response = client.post(f"/api/contacts/{LUCJA}/forget", headers=auth)

    assert response.status_code == 409 and "FORGET_KEY" in response.json["error"]
    assert client.get("/api/contacts?list=kierowcy", headers=auth).json["total"] == 3
