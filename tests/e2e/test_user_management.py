"""An administrator suspends, reactivates and re-roles a user in place, then finds it all in the audit log."""

import csv
import re

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from portal.accounts.demo import DEMO_PASSWORD
from portal.accounts.models import User, UserStatus

from .helpers import open_from_navigation, sign_in

pytestmark = pytest.mark.e2e

SUBJECT_EMAIL = "agent2@amparo.demo"
SUBJECT_NAME = "Andrés Agente López"
SUSPEND_REASON = "Laptop stolen; access paused until the device is replaced"
REACTIVATE_NOTE = "New laptop issued"
ROLE_NOTE = "Moved to the finance back office"


def mark_document(page: Page):
    """Tag the loaded document; a full reload would lose the tag, an HTMX swap keeps it."""
    page.evaluate("window.__amparoNoReload = 'same document'")


def assert_same_document(page: Page):
    assert page.evaluate("window.__amparoNoReload") == "same document", "the page was reloaded"


def open_user_from_the_users_list(page: Page, full_name: str):
    open_from_navigation(page, "accounts:user_list")
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    page.get_by_role("link", name=full_name).click()
    expect(page.get_by_test_id("user-panel").get_by_role("heading", name=full_name)).to_be_visible()


def read_csv_download(page: Page):
    with page.expect_download() as download_info:
        page.get_by_test_id("export-csv").click()
    download = download_info.value
    assert re.fullmatch(r"amparo-audit-\d{8}-\d{4}\.csv", download.suggested_filename)
    with open(download.path(), encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_an_admin_suspends_reactivates_and_changes_the_role_of_a_user_in_place(page, demo, live_server):
    subject = User.objects.get(email_primary=SUBJECT_EMAIL)
    page.on("dialog", lambda dialog: dialog.accept())
    sign_in(page, "admin@amparo.demo", DEMO_PASSWORD)
    open_user_from_the_users_list(page, SUBJECT_NAME)
    expect(page).to_have_url(f"{live_server.url}/users/{subject.pk}/")
    status = page.get_by_test_id("subject-status")
    role = page.get_by_test_id("subject-role")
    expect(status).to_have_text("Active")
    expect(role).to_have_text("Agent")
    mark_document(page)

    # Suspend, with a reason, after confirming.
    suspend = page.get_by_test_id("suspend-form")
    suspend.get_by_label("Reason").fill(SUSPEND_REASON)
    suspend.get_by_role("button", name="Suspend").click()

    expect(status).to_have_text("Suspended")
    expect(page.get_by_test_id("flash")).to_contain_text("User suspended. They can no longer sign in.")
    expect(page.get_by_test_id("suspend-form")).to_have_count(0)
    assert_same_document(page)
    assert User.objects.get(pk=subject.pk).status == UserStatus.SUSPENDED

    # Reactivate.
    reactivate = page.get_by_test_id("reactivate-form")
    # By name: the page gives this field the same id as the role form's note (see the label test below).
    reactivate.locator("[name=note]").fill(REACTIVATE_NOTE)
    reactivate.get_by_role("button", name="Reactivate").click()

    expect(status).to_have_text("Active")
    expect(page.get_by_test_id("flash")).to_contain_text("User reactivated.")
    expect(page.get_by_test_id("suspend-form")).to_be_visible()
    assert_same_document(page)

    # Change the agent's role to Finance (who belongs to no team).
    role_form = page.get_by_test_id("role-form")
    role_form.get_by_label("Role").select_option("FINANCE")
    role_form.get_by_label("Team").select_option("")
    role_form.locator("[name=note]").fill(ROLE_NOTE)
    role_form.get_by_role("button", name="Save role").click()

    expect(role).to_have_text("Finance")
    expect(page.get_by_test_id("flash")).to_contain_text("Role updated.")
    expect(page.get_by_test_id("user-panel")).to_contain_text("Team: —")
    assert_same_document(page)
    subject.refresh_from_db()
    assert (subject.role, subject.team, subject.status) == ("FINANCE", None, UserStatus.ACTIVE)

    # The audit log shows the three events.
    open_from_navigation(page, "audit:log")
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    rows = page.locator("#results tbody tr")
    about_subject = rows.filter(has_text=SUBJECT_EMAIL)
    expect(about_subject.filter(has_text="User suspended")).to_have_count(1)
    expect(about_subject.filter(has_text="User reactivated")).to_have_count(1)
    expect(about_subject.filter(has_text="Role changed")).to_have_count(1)
    expect(about_subject.filter(has_text="User suspended")).to_contain_text(SUSPEND_REASON)

    # Filtering by action narrows the table in place and keeps the filter in the address.
    mark_document(page)
    page.get_by_test_id("filter-form").get_by_label("Action").select_option(label="User suspended")
    expect(page).to_have_url(re.compile(r"[?&]action=user\.suspended(&|$)"))
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("User suspended")
    expect(rows.first).to_contain_text(SUBJECT_EMAIL)
    expect(page.locator("#results")).not_to_contain_text("User reactivated")
    expect(page.locator("#results")).not_to_contain_text("Role changed")
    assert_same_document(page)

    # Export CSV downloads what the filter shows...
    filtered = read_csv_download(page)
    assert [row["action"] for row in filtered] == ["user.suspended"]
    assert filtered[0]["target_id"] == str(subject.pk)
    assert filtered[0]["actor"] == "admin@amparo.demo"
    assert SUSPEND_REASON in filtered[0]["details"]

    # ...and, with the filters cleared, every event, ours included.
    page.get_by_test_id("filter-form").get_by_role("link", name="Clear").click()
    expect(page).to_have_url(f"{live_server.url}/audit/")
    everything = read_csv_download(page)
    ours = [row["action"] for row in everything if row["target_id"] == str(subject.pk)]
    assert {"user.suspended", "user.reactivated", "user.role_changed"} <= set(ours)
    role_change = next(row for row in everything if row["action"] == "user.role_changed")
    assert ROLE_NOTE in role_change["details"]
    assert {"auth.sign_in", "user.created", "team.created"} <= {row["action"] for row in everything}


def confirmation_asked(page: Page, button, action):
    """Click `button`, answer "Cancel" to the confirmation it must raise, and return its question."""
    try:
        with page.expect_event("dialog", timeout=3_000) as dialog_info:
            button.click()
    except PlaywrightTimeoutError:
        pytest.fail(f"{action}: the request went out without asking for confirmation first", pytrace=False)
    return dialog_info.value.message


def test_suspending_a_user_or_changing_their_role_asks_first_and_cancelling_changes_nothing(page, demo):
    subject = User.objects.get(email_primary=SUBJECT_EMAIL)
    page.on("dialog", lambda dialog: dialog.dismiss())
    sign_in(page, "admin@amparo.demo", DEMO_PASSWORD)
    open_user_from_the_users_list(page, SUBJECT_NAME)

    suspend = page.get_by_test_id("suspend-form")
    suspend.get_by_label("Reason").fill(SUSPEND_REASON)
    question = confirmation_asked(page, suspend.get_by_role("button", name="Suspend"), "Suspend")
    assert question == "Suspend this user? They are signed out and cannot sign in until reactivated."

    role_form = page.get_by_test_id("role-form")
    role_form.get_by_label("Role").select_option("FINANCE")
    role_form.get_by_label("Team").select_option("")
    question = confirmation_asked(page, role_form.get_by_role("button", name="Save role"), "Save role")
    assert question == "Change this user's role? Their access changes immediately."

    page.reload()
    expect(page.get_by_test_id("subject-status")).to_have_text("Active")
    expect(page.get_by_test_id("subject-role")).to_have_text("Agent")
    subject.refresh_from_db()
    assert (subject.status, subject.role) == (UserStatus.ACTIVE, "AGENT")


def test_a_suspended_user_is_signed_out_of_their_open_session_and_cannot_sign_in_again(new_page, demo):
    admin_page, agent_page = new_page(), new_page()
    sign_in(agent_page, SUBJECT_EMAIL, DEMO_PASSWORD)
    expect(agent_page.get_by_test_id("dashboard-title")).to_contain_text("Agent dashboard")

    admin_page.on("dialog", lambda dialog: dialog.accept())
    sign_in(admin_page, "admin@amparo.demo", DEMO_PASSWORD)
    open_user_from_the_users_list(admin_page, SUBJECT_NAME)
    suspend = admin_page.get_by_test_id("suspend-form")
    suspend.get_by_label("Reason").fill(SUSPEND_REASON)
    suspend.get_by_role("button", name="Suspend").click()
    expect(admin_page.get_by_test_id("subject-status")).to_have_text("Suspended")

    agent_page.reload()
    expect(agent_page).to_have_url(re.compile(r"/accounts/login/\?next=/dashboard/$"))
    expect(agent_page.get_by_test_id("user-menu")).to_have_count(0)
    sign_in(agent_page, SUBJECT_EMAIL, DEMO_PASSWORD)
    expect(agent_page).to_have_url(re.compile(r"/accounts/inactive/$"))
    expect(agent_page.get_by_test_id("account-inactive")).to_contain_text("This account is suspended")
    expect(agent_page.get_by_test_id("dashboard-title")).to_have_count(0)
    expect(agent_page.get_by_test_id("user-menu")).to_have_count(0)


@pytest.mark.parametrize(
    ("status", "form", "label", "field"),
    [
        (UserStatus.ACTIVE, "suspend-form", "Reason", "reason"),
        (UserStatus.SUSPENDED, "reactivate-form", "Note", "note"),
    ],
    ids=["active user", "suspended user"],
)
def test_every_label_on_a_users_page_belongs_to_a_field_of_its_own_form(page, demo, status, form, label, field):
    """Clicking a label (or a screen reader announcing it) must reach that form's field, not another form's."""
    subject = User.objects.get(email_primary=SUBJECT_EMAIL)
    subject.totpdevice_set.create(name="Authenticator app", confirmed=True)  # shows the reset-2FA form too
    User.objects.filter(pk=subject.pk).update(status=status)
    sign_in(page, "admin@amparo.demo", DEMO_PASSWORD)
    open_user_from_the_users_list(page, SUBJECT_NAME)
    expect(page.get_by_test_id("reset-2fa-form")).to_be_visible()
    expect(page.get_by_test_id(form)).to_be_visible()

    duplicate_ids = page.evaluate(
        """() => {
            const seen = {};
            document.querySelectorAll("[id]").forEach((el) => { seen[el.id] = (seen[el.id] || 0) + 1; });
            return Object.keys(seen).filter((id) => seen[id] > 1).sort();
        }"""
    )
    misdirected = page.evaluate(
        """() => Array.from(document.querySelectorAll("#user-panel form label[for]"))
            .filter((label) => {
                const field = document.getElementById(label.htmlFor);
                return !field || field.form !== label.closest("form");
            })
            .map((label) => label.closest("form").dataset.testid + ": " + label.textContent.trim())"""
    )

    assert (duplicate_ids, misdirected) == ([], [])
    # What a person does: click the label in the Access card and type.
    page.get_by_test_id(form).locator("label", has_text=label).click()
    page.keyboard.type("typed after clicking the label")
    expect(page.get_by_test_id(form).locator(f"[name={field}]")).to_have_value("typed after clicking the label")
