"""The optional [mail] and [notifications] tables of the region config."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from regie.errors import ConfigError
from regie.notifications import config, kinds, smtp_host
from regie.notifications.config import NOTICE_KINDS, NotificationRules, default_rules
from regie.region import parse_region

CONFIG = Path(__file__).resolve().parents[2] / "config" / "foodvalley.toml"


def _without_mail(text: str) -> str:
    """The example config without its [mail] table (the tests write their own)."""
    start = text.index("\n[mail]\n")
    end = text.find("\n[", start + 1)
    return text[:start] + (text[end:] if end != -1 else "\n")


def parse(extra: str) -> object:
    base = _without_mail(CONFIG.read_text(encoding="utf-8"))
    return parse_region(base + "\n" + extra, "f.toml")


def test_defaults_when_the_tables_are_absent() -> None:
    region = parse("")
    assert region.mail.model_dump(exclude_none=True) == {  # type: ignore[attr-defined]
        "tls": False,
        "allow_plaintext_auth": False,
    }
    assert region.notifications.model_dump() == default_rules()  # type: ignore[attr-defined]
    assert set(NotificationRules.model_fields) == set(NOTICE_KINDS)


def test_mail_and_notifications_are_read() -> None:
    region = parse(
        '[mail]\nfrom_address = "regie@foodvalley.example.org"\nhost = "smtp.example.org"\n'
        'port = 587\nstarttls = true\nuser = "regie"\nconnections = 3\n'
        '[notifications]\nsubmitted = []\ndecision_final = ["body_members", "leads", "leads"]\n'
    )
    mail = region.mail  # type: ignore[attr-defined]
    assert (mail.host, mail.port, mail.starttls, mail.tls, mail.user, mail.connections) == (
        "smtp.example.org",
        587,
        True,
        False,
        "regie",
        3,
    )
    rules = region.notifications  # type: ignore[attr-defined]
    assert rules.submitted == [] and rules.decision_final == ["body_members", "leads"]
    assert rules.agenda == ["body_members"]  # untouched kinds keep their default


@pytest.mark.parametrize(
    ("extra", "key", "words"),
    [
        ('[mail]\npassword = "geheim"\n', "mail", "REGIE_SMTP_PASSWORD"),
        ("[mail]\ntls = true\nstarttls = true\n", "mail", "not both"),
        ("[mail]\nport = 70000\n", "mail.port", "not a TCP port"),
        ('[mail]\nfrom_address = "regie"\n', "mail.from_address", "not a valid e-mail"),
        ('[mail]\nhost = "smtp example"\n', "mail.host", "not a host name"),
        ('[mail]\nhost = "smtp..example.org"\n', "mail.host", "empty part between dots"),
        ('[mail]\nhost = "-smtp.example.org"\n', "mail.host", "is not valid"),
        ('[mail]\nuser = "regie"\nstarttls = false\n', "mail", "allow_plaintext_auth = true"),
        ("[mail]\nconnections = 0\n", "mail.connections", "1 to 20"),
        ('[mail]\nsmtp = "x"\n', "mail.smtp", "unknown key"),
        ('[notifications]\nsubmitted = ["leeds"]\n', "notifications.submitted", "'leads'"),
        ('[notifications]\nsubmited = ["leads"]\n', "notifications.submited", "'submitted'"),
        ('[notifications]\nagenda = "body_members"\n', "notifications.agenda", "must be a list"),
    ],
)
def test_mistakes_are_reported_with_file_key_and_problem(extra: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(extra)
    assert info.value.file == "f.toml"
    assert info.value.key == key
    assert words in info.value.problem
    assert "geheim" not in str(info.value)


@pytest.mark.parametrize(
    "host", ["smtp.example.org", "localhost", "127.0.0.1", "::1", "mail_1.example.org", "bücher.de"]
)
def test_good_host_names_pass(host: str) -> None:
    assert parse(f'[mail]\nhost = "{host}"\n').mail.host == host  # type: ignore[attr-defined]


def test_a_login_without_tls_only_when_allowed() -> None:
    text = '[mail]\nuser = "regie"\nstarttls = false\nallow_plaintext_auth = true\n'
    mail = parse(text).mail  # type: ignore[attr-defined]
    assert (mail.user, mail.starttls, mail.allow_plaintext_auth) == ("regie", False, True)


def test_the_runtime_kinds_load_without_pydantic_and_config_re_exports_them() -> None:
    code = (
        "import sys, regie.notifications.kinds, regie.notifications.smtp_host; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydantic'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert config.NOTICE_KINDS is kinds.NOTICE_KINDS
    assert config.EVENT_KINDS is kinds.EVENT_KINDS
    assert config.rules_from_setting is kinds.rules_from_setting
    assert config.host_problem is smtp_host.host_problem
    stored = '{"submitted": ["chairs_members"], "digest": []}'
    rules = kinds.rules_from_setting(stored)
    assert rules["submitted"] == ("routing_members",)  # an earlier group name, resolved
    assert rules["placed"] == NOTICE_KINDS["placed"].groups  # not stored: the default
