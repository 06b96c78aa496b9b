"""The apprise channel, through Apprise's own json:// plugin to a real webhook on 127.0.0.1."""

from __future__ import annotations

import builtins
import json
import re
import sys
import tomllib
from typing import Any

import pytest

from monitor.cli import build_notifiers
from monitor.config import parse_config
from monitor.errors import ConfigError, DeliveryError
from monitor.models import Change
from monitor.notify.apprise import AppriseNotifier, AppriseNotifyConfig, masked, url_id
from monitor.notify.digest import make_test_digest
from monitor.notify.outbox import Outbox
from monitor.store import NewSnapshot, Store

from .conftest import ROOT
from .servers import Webhook, webhook_server

NOW = "2026-11-26T20:03:14Z"
WITHDRAWN = Change(
    "status", "overallStatus", "critical", "A", "WITHDRAWN", "Overall status: A → WITHDRAWN"
)


def queue_one_run(store: Store, outbox: Outbox) -> None:
    run_id = store.start_run(NOW, "files")
    snap = NewSnapshot("NCT06009107", NOW, "files", "h", None, "{}", "A trial", None, [WITHDRAWN])
    store.save_snapshot(snap, None, run_id)
    outbox.enqueue(run_id, NOW)


def test_failing_once_then_accepting_delivers_once(store: Store) -> None:
    hook = Webhook(fail_first=1)
    with webhook_server(hook) as port:
        url = f"json://127.0.0.1:{port}/trialmon/hook"
        outbox = Outbox(store, [AppriseNotifier(AppriseNotifyConfig(True, (url,)))])
        queue_one_run(store, outbox)
        assert outbox.deliver(NOW) == (0, 1)
        assert outbox.deliver(NOW) == (1, 0)
        assert outbox.deliver(NOW) == (0, 0)
    assert len(hook.requests) == 2 and len(hook.accepted) == 1
    assert hook.requests[0][0] == "/trialmon/hook"
    body = json.loads(hook.accepted[0])
    assert body["title"] == "[trialmon] 1 change in 1 study (1 critical)"
    assert "Overall status: A → WITHDRAWN" in body["message"]
    [row] = store.db.table("deliveries").rows
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert url not in row["payload"] and str(port) not in row["payload"]


def test_each_url_is_delivered_on_its_own(store: Store) -> None:
    good, flaky = Webhook(), Webhook(fail_first=1)
    with webhook_server(good) as p1, webhook_server(flaky) as p2:
        urls = (f"json://127.0.0.1:{p1}/a", f"json://127.0.0.1:{p2}/b")
        outbox = Outbox(store, [AppriseNotifier(AppriseNotifyConfig(True, urls))])
        queue_one_run(store, outbox)
        assert outbox.deliver(NOW) == (1, 1)
        assert outbox.deliver(NOW) == (1, 0)
    assert len(good.accepted) == 1 and len(flaky.accepted) == 1


def test_a_refused_post_is_a_delivery_error_naming_no_secret() -> None:
    hook = Webhook(fail_first=99)
    with webhook_server(hook) as port:
        url = f"json://user:tok3n@127.0.0.1:{port}/x"
        notifier = AppriseNotifier(AppriseNotifyConfig(True, (url,)))
        [part] = notifier.split(make_test_digest(NOW))
        with pytest.raises(DeliveryError) as info:
            notifier.send(part)
    assert "json://… did not accept" in str(info.value)
    assert "tok3n" not in str(info.value)


def test_an_unknown_url_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"urls\[0\]: 'nosuch://…' is not a URL Apprise"):
        AppriseNotifier(AppriseNotifyConfig(True, ("nosuch://secret-token",)))


def test_without_apprise_installed_the_error_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_import = builtins.__import__

    def no_apprise(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "apprise":
            raise ImportError("No module named 'apprise'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_apprise)
    with pytest.raises(ConfigError) as info:
        AppriseNotifier(AppriseNotifyConfig(True, ("json://127.0.0.1/x",)))
    assert f"install it with: {sys.executable} -m pip install 'apprise>=1.9'" in str(info.value)
    assert "pipx inject trialmon apprise" in str(info.value)


def test_url_ids_and_masks_hide_the_secret_part() -> None:
    url = "slack://TokenA/TokenB/TokenC/#general"
    assert url_id(url).startswith("slack:") and "Token" not in url_id(url)
    assert masked(url) == "slack://…"


def test_the_documented_configuration_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The TOML examples of the README's Notifications section load, URLs understood."""
    readme = (ROOT / "README.md").read_text()
    text = readme.split("\n## Notifications\n")[1].split("\n## ")[0]
    data = tomllib.loads("\n".join(re.findall(r"```toml\n(.*?)```", text, re.S)))
    monkeypatch.setenv("TRIALMON_SMTP_PASSWORD", "x")
    channels = [n.channel for n in build_notifiers(parse_config(data))]
    assert channels == ["log", "email", "apprise"]


@pytest.mark.parametrize(
    ("url", "secrets", "kept"),
    [
        ("slack://T000/B000/XXXXsecretXXXX/#alerts", {"XXXXsecretXXXX"}, {"T000", "alerts"}),
        (
            "tgram://123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/-4001",
            {"123456789", "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"},
            {"-4001"},
        ),
        (
            "json://user:pw-1234@hooks.example.org/services/x?sig=Zm9vYmFy",
            {"pw-1234", "Zm9vYmFy"},
            {"user", "hooks.example.org", "services", "sig"},
        ),
        (
            "https://prod-00.westus.logic.azure.com:443/workflows/abc123def/triggers?sp=%2Fa%2Fb",
            {"abc123def", "%2Fa%2Fb"},
            {"prod-00.westus.logic.azure.com", "443", "workflows", "triggers"},
        ),
    ],
)
def test_url_secrets_are_the_parts_that_may_be_tokens(
    url: str, secrets: set[str], kept: set[str]
) -> None:
    """Tokens (mixed, long, in any part) are secret; host names, ports, plain words are not."""
    from monitor.redact import url_secrets

    found = url_secrets(url)
    assert secrets <= found
    assert not kept & found
