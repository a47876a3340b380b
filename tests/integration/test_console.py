"""The call-centre console in a real browser (Playwright driving Debian's headless Chromium)
against the running platform: every service as an OS process, customer_profile serving the
console with `loyalty run customer_profile --http-port PORT`.

The story: an agent logs in with the keyboard, finds an Afrikaans-speaking customer by
account number and reads the customer's view in Afrikaans; adjusts the points and sees the
balance change once the adjustment has gone through accrual and the wallet and back; is
refused a large adjustment, which a supervisor then approves. Screenshots of every step go
to .loyalty/screenshots/console/.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import orjson
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from services.customer_profile.console.passwords import hash_password
from shared.infra.embedded import Endpoints
from tests.integration.test_customer_profile_api import QueryApiProcess
from tests.support import messages as m
from tests.support.db import eventually, fetchval
from tests.support.kafka import Bank, json_field, read_topic
from tests.support.processes import ServiceProcess

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(".loyalty") / "screenshots" / "console"
LOYALTY = [sys.executable, "-c", "from shared.cli import main; main()"]
USERS = {"agent.thandi": ("agent", "thandi-pw"), "sup.pieter": ("supervisor", "pieter-pw")}
# The services an adjustment flows through: accrual posts it, the wallet credits it,
# customer_profile (serving the console) records the new balance.
OTHERS = ("accrual", "redemption")
READY_S = 240.0  # a loaded machine starts processes slowly


def _install_chromium() -> None:
    """The test set-up installs Debian's chromium when it is missing (as `make test-tools`)."""
    if CHROMIUM.exists():
        return
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if sudo and shutil.which("sudo") is None:
        pytest.fail(f"{CHROMIUM} is missing and cannot be installed here: run `make test-tools`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(
            [*sudo, *command], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            pytest.fail(f"installing chromium failed ({' '.join(command)}): {done.stderr[-500:]}")
    if not CHROMIUM.exists():
        pytest.fail(f"apt-get installed chromium but {CHROMIUM} is still missing")


@pytest.fixture(scope="module")
def console(endpoints: Endpoints, pg_admin_url: str) -> Iterator[QueryApiProcess]:
    """accrual, the wallet, and customer_profile with its HTTP API and the console."""
    del pg_admin_url  # migrated and topics created
    others = [ServiceProcess(name, endpoints) for name in OTHERS]
    profile = QueryApiProcess(endpoints)
    for process in [*others, profile]:
        process.start(wait_ready=False)
    try:
        for process in others:
            process.wait_ready(READY_S)
        profile.wait_ready(READY_S)
        profile.wait_api(READY_S)
        yield profile
    finally:
        for process in [profile, *others]:
            process.stop()


@pytest.fixture(scope="module")
def users(
    endpoints: Endpoints, pg_admin_url: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Agents and supervisors come from a file, the way operators seed them."""
    del pg_admin_url
    lines = ["username,role,password_hash"]
    lines += [f"{name},{role},{hash_password(pw)}" for name, (role, pw) in USERS.items()]
    path = tmp_path_factory.mktemp("console") / "users.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    env = {
        **os.environ,
        "LOYALTY_KAFKA_BOOTSTRAP": endpoints.kafka_bootstrap,
        "LOYALTY_DATABASE_URL": endpoints.database_url,
        "LOYALTY_INFRA_MODE": os.environ.get("LOYALTY_INFRA_MODE", "embedded"),
    }
    done = subprocess.run(
        [*LOYALTY, "console", "users", "import", str(path)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The file is the list of users: earlier ones of this session are changed or deactivated.
    assert "console users: " in done.stdout


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    _install_chromium()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            await launched.close()


async def shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


async def log_in(page: Page, base: str, username: str) -> None:
    """With the keyboard only: the username field has the focus, Tab, Enter."""
    await page.goto(f"{base}/console/")
    await expect(page).to_have_url(f"{base}/console/login")
    await expect(page.get_by_label("Username")).to_be_focused()
    await page.keyboard.type(username)
    await page.keyboard.press("Tab")
    await page.keyboard.type(USERS[username][1])
    await page.keyboard.press("Enter")
    await expect(page.get_by_text(f"Signed in as {username}")).to_be_visible()


async def balance_becomes(page: Page, points: int) -> None:
    """Reload the customer's page until the wallet's balance has flowed back to it."""
    cell = page.get_by_test_id("balance-points")

    async def shown() -> str:
        await page.reload()
        return (await cell.inner_text()) if await cell.count() else ""

    assert await eventually(shown, lambda text: text == str(points), timeout=90, interval=1) == str(
        points
    )


async def new_afrikaans_customer(endpoints: Endpoints, url: str) -> tuple[str, str]:
    customer, account = m.customer_no(), f"40{uuid.uuid4().int % 10**8:08d}"
    created = m.customer_created(customer, language="af") | {
        "accounts": [{"account_no": account, "type": "cheque"}]
    }
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish("esb.customer.updated.v1", created, customer)
    # The wallet learns of the customer from customer_profile's profile topic.
    known = await eventually(
        lambda: fetchval(
            url, "SELECT count(*) FROM redemption.customers WHERE customer_no = $1", customer
        ),
        lambda n: n == 1,
        timeout=90,
    )
    assert known == 1
    return customer, account


async def test_an_agent_serves_an_afrikaans_customer_and_a_supervisor_approves(
    console: QueryApiProcess, users: None, browser: Browser, endpoints: Endpoints, pg_admin_url: str
) -> None:
    del users
    base = f"http://127.0.0.1:{console.api_port}"
    customer, account = await new_afrikaans_customer(endpoints, pg_admin_url)
    page = await browser.new_page()

    # No customer data without logging in.
    await page.goto(f"{base}/console/customers/{customer}")
    await expect(page).to_have_url(f"{base}/console/login")
    await shot(page, "01-login")
    await log_in(page, base, "agent.thandi")

    # Found by account number; the view speaks Afrikaans.
    await page.get_by_label("Customer number, name or account number").fill(account)
    await page.keyboard.press("Enter")
    await page.get_by_role("link", name="Annelie van der Merwe").click()
    await expect(page.get_by_role("heading", name="Profiel")).to_be_visible()
    for afrikaans in ("Vlak: Blou", "Punte", "Inwisselings", "Aktiwiteit"):
        await expect(page.get_by_role("heading", name=afrikaans, exact=True)).to_be_visible()
    await expect(page.get_by_test_id("language")).to_have_text("af")
    await shot(page, "02-afrikaans-customer")

    # An adjustment within the limit: through accrual and the wallet, back to the view.
    await page.get_by_label("Points (negative takes points back)").fill("200")
    await page.get_by_label("Reason code").select_option("goodwill")
    await page.get_by_label("Why (kept with the adjustment)").fill("Missed partner bonus")
    await page.get_by_role("button", name="Request adjustment").click()
    await expect(page.get_by_role("status")).to_contain_text("Adjustment ADJ-")
    await balance_becomes(page, 200)
    await expect(
        page.get_by_text("Aanpassing van 200 punte: goodwill: Missed partner bonus")
    ).to_be_visible()
    await shot(page, "03-balance-after-adjustment")

    # Above the limit: refused, waiting for a supervisor.
    await page.get_by_label("Points (negative takes points back)").fill("5000")
    await page.get_by_label("Reason code").select_option("complaint")
    await page.get_by_label("Why (kept with the adjustment)").fill("Long-standing complaint")
    await page.get_by_role("button", name="Request adjustment").click()
    notice = page.get_by_role("status")
    await expect(notice).to_contain_text("Refused: this adjustment is above your limit")
    approval_id = (await notice.inner_text()).split(" as ")[-1].rstrip(".")
    await shot(page, "04-large-adjustment-refused")
    await page.goto(f"{base}/console/approvals")
    await expect(page.get_by_role("alert")).to_contain_text("Only supervisors")
    await page.goto(f"{base}/console/customers/{customer}")
    assert await page.get_by_test_id("balance-points").inner_text() == "200"
    await page.get_by_role("button", name="Log out").click()
    await expect(page).to_have_url(f"{base}/console/login")

    # The supervisor approves it; the balance follows.
    await log_in(page, base, "sup.pieter")
    await page.get_by_role("link", name="Approvals").click()
    await expect(page.get_by_role("row", name=approval_id)).to_contain_text("agent.thandi")
    await shot(page, "05-approval-queue")
    await page.get_by_role("button", name=f"Approve {approval_id}").click()
    await expect(page.get_by_role("status")).to_contain_text("Adjustment ADJ-")
    await expect(page.get_by_role("row", name=approval_id)).to_have_count(0)
    await page.goto(f"{base}/console/customers/{customer}")
    await balance_becomes(page, 5200)
    approved = (
        "Aanpassing van 5000 punte: complaint: Long-standing complaint "
        f"(approved by sup.pieter, {approval_id})"
    )
    await expect(page.get_by_role("cell", name=approved, exact=True)).to_be_visible()
    await shot(page, "06-balance-after-approval")
    assert any(SCREENSHOTS.glob("*.png"))


async def test_a_reviewer_confirms_the_vendor_vendor_matching_asked_about(
    console: QueryApiProcess, users: None, browser: Browser, endpoints: Endpoints
) -> None:
    """vendor_matching's question arrives over Kafka, the answer leaves over Kafka."""
    del users
    base = f"http://127.0.0.1:{console.api_port}"
    customer, transaction_id = m.customer_no(), f"CT{uuid.uuid4().hex[:12].upper()}"
    review_id = f"review:card:{transaction_id}:posted"
    descriptor = f"CHKRS HYPER {transaction_id[-6:]} PTA ZA"
    asked = {
        "message_id": f"review-requested:{transaction_id}",
        "sent_at": m.now(),
        "review_id": review_id,
        "customer_no": customer,
        "source": "card",
        "transaction_id": transaction_id,
        "descriptor": descriptor,
        "candidates": [
            {"vendor_id": "checkers", "confidence": 72},
            {"vendor_id": "shoprite", "confidence": 41},
        ],
    }
    async with Bank(endpoints.kafka_bootstrap) as bank:
        await bank.publish("loyalty.match.review-requested.v1", asked, customer)
    page = await browser.new_page()
    await log_in(page, base, "agent.thandi")
    await page.get_by_role("link", name="Vendor reviews").click()
    review = page.get_by_role("group", name=f"Which vendor is “{descriptor}”?")

    async def queued() -> int:
        await page.reload()
        return await review.count()

    assert await eventually(queued, lambda n: n == 1, timeout=90, interval=1) == 1
    await review.get_by_label("shoprite (41% sure)").check()
    await shot(page, "07-vendor-review")
    await page.get_by_role("button", name=f"Confirm the chosen vendor for {descriptor}").click()
    await expect(page.get_by_role("status")).to_contain_text("vendor confirmed")
    await expect(review).to_have_count(0)
    [record] = await read_topic(
        endpoints.kafka_bootstrap,
        "loyalty.match.review-decided.v1",
        json_field("review_id", review_id),
    )
    decided = orjson.loads(record.value or b"{}")
    assert (decided["decision"], decided["vendor_id"], decided["actor"]) == (
        "confirm",
        "shoprite",
        "agent.thandi",
    )
