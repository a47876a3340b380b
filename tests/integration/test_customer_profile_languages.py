"""Languages are data: importing Zulu texts makes a Zulu customer's view and history Zulu,
with no code change; what is not translated yet falls back to English."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.customer_profile import cli, handlers
from services.customer_profile.views import single_customer_view
from shared.db.engine import create_engine, runtime_url
from shared.settings import PlatformSettings, service_settings
from tests.integration.test_customer_profile_handlers import _decided, _enriched, apply
from tests.integration.test_customer_profile_tiers import new_customer, post, tier_points
from tests.support.db import fetch

pytestmark = pytest.mark.integration

SERVICE = "customer_profile"
EARNED = datetime(2026, 2, 10, 12, 0, tzinfo=UTC)

ZULU = """\
text_key,language,text
activity.earned,zu,Uzuze {points} {unit}
unit.points,zu,amaphuzu
unit.tier_points,zu,amaphuzu ezinga
activity.transaction.purchase,zu,"Ukuthenga e-{vendor}: {currency} {amount}"
tier.silver,zu,Isiliva
tier.gold,zu,Igolide
activity.tier_upgraded,zu,"Wamukelekile ku-{tier}: uzuze {points} {unit} \
ezinyangeni ezingu-{window_months}"
activity.redeemed,zu,Usebenzise {amaphuzu} e-{vendor}
"""  # the last line names a placeholder the English text does not fill: rejected


@pytest.fixture(scope="module")
async def engine(pg_admin_url: str) -> AsyncIterator[AsyncEngine]:
    runtime = create_engine(
        runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
    )
    yield runtime
    await runtime.dispose()


@pytest.fixture
def loyalty(pg_admin_url: str, endpoints: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> Any:
    """Run a `loyalty` command of this service; returns (exit status, printed output)."""
    monkeypatch.setenv("LOYALTY_KAFKA_BOOTSTRAP", endpoints.kafka_bootstrap)
    monkeypatch.setenv("LOYALTY_DATABASE_URL", pg_admin_url)
    monkeypatch.setenv("LOYALTY_INFRA_MODE", "embedded")  # the runtime role's dev password
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))

    def run(*argv: str) -> tuple[int, str]:
        args = parser.parse_args(list(argv))
        status = args.func(args)
        return status, capsys.readouterr().out

    return run


def test_importing_zulu_texts_makes_a_zulu_customers_view_zulu(
    loyalty: Any, tmp_path: Path, pg_admin_url: str
) -> None:
    texts = tmp_path / "zu.csv"
    texts.write_text(ZULU, encoding="utf-8")

    status, out = loyalty("translations", "import", str(texts))
    assert status == 1  # a row was rejected; the good ones are in
    assert f"{texts}:9: rejected: placeholder(s) amaphuzu not in the English text" in out
    assert "translations: 7 created, 0 changed, 0 unchanged, 1 rejected" in out
    status, out = loyalty("translations", "import", str(texts))
    assert "0 created, 0 changed, 7 unchanged, 1 rejected" in out  # idempotent

    async def story() -> dict[str, Any]:
        runtime = create_engine(
            runtime_url(SERVICE, pg_admin_url, PlatformSettings(), service_settings(SERVICE))
        )
        try:
            customer = await new_customer(runtime, language="zu")
            tx = _enriched(customer)
            await apply(runtime, handlers.record_transactions, handlers.ENRICHED_TOPIC, [tx])
            await post(runtime, tier_points(customer, 25, EARNED, currency="points"))
            await post(runtime, tier_points(customer, 1200, EARNED + timedelta(minutes=1)))
            redeemed = _decided(customer, vendor_id="takealot", language="zu")
            await apply(runtime, handlers.record_decisions, handlers.DECIDED_TOPIC, [redeemed])
            async with runtime.connect() as conn:
                return await single_customer_view(conn, customer, as_of=EARNED + timedelta(days=1))
        finally:
            await runtime.dispose()

    view = asyncio.run(story())

    assert view["language"] == "zu"
    assert (view["tier"]["name"], view["tier"]["next_tier_name"]) == ("Isiliva", "Igolide")
    assert [a["description"] for a in view["activity"]] == [
        "You redeemed 10 points at takealot",  # not translated yet: English
        "Ukuthenga e-Woolworths: ZAR 250.50",  # no zu decimal mark imported: English's
        "Wamukelekile ku-Isiliva: uzuze 1200 amaphuzu ezinga ezinyangeni ezingu-12",
        "Uzuze 1200 amaphuzu ezinga",
        "Uzuze 25 amaphuzu",
    ]


def test_a_yaml_file_changes_a_text_and_the_old_one_is_audited(
    loyalty: Any, tmp_path: Path, pg_admin_url: str
) -> None:
    first = tmp_path / "texts.yaml"
    first.write_text("tier.platinum:\n  zu: Iplatinamu\n", encoding="utf-8")
    assert loyalty("translations", "import", str(first))[0] == 0
    second = tmp_path / "texts.yml"
    second.write_text(
        "- {text_key: tier.platinum, language: zu, text: Iplathinamu}\n", encoding="utf-8"
    )

    status, out = loyalty("translations", "import", str(second))

    assert status == 0
    assert "0 created, 1 changed, 0 unchanged, 0 rejected" in out
    audited = asyncio.run(
        fetch(
            pg_admin_url,
            "SELECT old_row FROM customer_profile.audit WHERE table_name = 'translations' "
            "AND old_row ->> 'text_key' = 'tier.platinum' AND old_row ->> 'language' = 'zu'",
        )
    )
    assert [orjson.loads(a["old_row"])["text"] for a in audited] == ["Iplatinamu"]


def test_a_file_that_is_not_a_translation_file_imports_nothing(
    loyalty: Any, tmp_path: Path
) -> None:
    wrong = tmp_path / "vendors.csv"
    wrong.write_text("vendor_id,name\nwoolworths,Woolworths\n", encoding="utf-8")
    status, out = loyalty("translations", "import", str(wrong))
    assert status == 2
    assert "header must be text_key,language,text" in out
    assert loyalty("translations", "import", str(tmp_path / "missing.csv"))[0] == 2
