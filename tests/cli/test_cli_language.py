"""The CLI speaks the region's language: dates in words, states, stages, outcomes and
purposes as words, bodies by name; `--lang`, REGIE_LANG, the acting person's language and
the region's setting choose it; `--json` keeps ids and ISO times."""

from __future__ import annotations

import json
import re
import sqlite3
import string
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from regie.cli import cli
from regie.cli import words as cli_words

NOW = "2026-11-23T10:00"
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d")
TABLE = "Tafel Model passende samenwerking"
OOGO = "Regionaal bestuurlijk OOGO onderwijs en jeugd"
ENGLISH_READER = "olivia-brandsma"  # language = "en" in config/foodvalley.toml
DUTCH_CHAIR = "sandra-kooiman"  # chair of the OOGO, no language set: Dutch


def run(
    db: Path, *args: str, now: str = NOW, user: str | None = "coordinator", lang: str | None = None
) -> Result:
    env = {"REGIE_DB": None, "REGIE_DEBUG": None, "REGIE_NOW": now, "REGIE_USER": user,
           "REGIE_LANG": lang, "COLUMNS": "250"}  # fmt: skip
    # COLUMNS: wide tables, so a cell's words are not folded
    result = CliRunner().invoke(cli, ["--db", str(db), *args], env=env)
    assert result.exit_code == 0, (args, result.output)
    return result


def submit(db: Path, *extra: str, user: str = "coordinator") -> Result:
    return run(
        db,
        *extra,
        "submit",
        "--title",
        "Regionaal OZA-kader",
        "--purpose",
        "adoption",
        "--table",
        "tafel-model",
        "--party",
        "ede",
        "--party",
        "swv-vo",
        user=user,
    )


def shown(db: Path, pid: str) -> dict[str, Any]:
    return dict(json.loads(run(db, "show", pid, "--json").stdout))


def to_oogo(db: Path, pid: str) -> str:
    """Advance to the OOGO, whose agenda the chairs' meeting approves; the start of its
    meeting."""
    for _ in range(3):
        before = shown(db, pid)["meeting_starts_at"]
        run(db, "advance", pid, now=before)
    run(db, "agenda", "approve", shown(db, pid)["meeting"], now=before)
    return str(shown(db, pid)["meeting_starts_at"])


def to_awaiting_confirmation(db: Path, pid: str) -> Result:
    """Advance to the OOGO and record the outcome (with an override); the decide result."""
    at = to_oogo(db, pid)
    return run(db, "decide", pid, "--outcome", "adopted", "--text", "Vastgesteld.", "--override",
               "per mail", now=at)  # fmt: skip


def set_region_language(db: Path, lang: str) -> None:
    with closing(sqlite3.connect(db)) as conn:
        conn.execute(
            "UPDATE region_setting SET value = ? WHERE key = 'language'", (json.dumps(lang),)
        )
        assert conn.total_changes == 1
        conn.commit()


# -- Dutch by default -----------------------------------------------------------------------


def test_submit_prints_the_meeting_in_dutch_words(db_file: Path) -> None:
    r = submit(db_file)
    assert r.stdout == (
        f"P-2026-001 ingediend bij {TABLE}, op dinsdag 8 december 2026, 9.30 uur "
        "(tafel-model-2026-12-08)\n"
    )


def test_show_in_dutch(db_file: Path) -> None:
    submit(db_file)
    out = run(db_file, "show", "P-2026-001").stdout
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert lines == [
        "P-2026-001 Regionaal OZA-kader",
        "doel ter vaststelling",
        f"gestart bij {TABLE}",
        "partijen Gemeente Ede, Samenwerkingsverband passend onderwijs VO FoodValley",
        "route tafel → voorzittersoverleg → ambtelijk overleg → OOGO",
        "stand tafel",
        f"vergadering {TABLE}, dinsdag 8 december 2026, 9.30 uur (tafel-model-2026-12-08)",
        "mogelijk advance naar voorzittersoverleg, defer, withdraw, route",
    ]


def test_a_decision_awaits_confirmation_in_dutch(db_file: Path) -> None:
    pid = submit(db_file).stdout.split()[0]
    r = to_awaiting_confirmation(db_file, pid)
    assert r.stdout == (
        f"{pid} besluit vastgelegd: vastgesteld, in {OOGO} op donderdag 28 januari 2027 "
        "(oogo-2027-01-28); wacht op bevestiging (versie 1); geen gemandateerde stem voor "
        "Gemeente Ede, "
        "Samenwerkingsverband passend onderwijs VO FoodValley, toch vastgelegd: per mail\n"
    )
    show = run(db_file, "show", pid).stdout
    assert re.search(r"^  stand +wacht op bevestiging \(OOGO\)$", show, re.M), show
    assert re.search(
        r"^  besluit v1 +vastgesteld – Vastgesteld. – wacht op bevestiging$", show, re.M
    ), show
    listed = run(db_file, "list").stdout
    assert "wacht op" in listed and "awaiting" not in listed
    r = run(db_file, "confirm", pid, "--version", "1", user=DUTCH_CHAIR, now="2027-01-29T09:00")
    assert r.stdout == f"{pid} besluit bevestigd: vastgesteld, versie 1\n"
    r = run(db_file, "news", "oogo-2027-01-28", now="2027-01-29T10:00")
    assert re.fullmatch(
        f"Nieuws uit {OOGO} van donderdag 28 januari 2027 \\(oogo-2027-01-28\\): 1 besluit voor "
        "de leden van [0-9]+ overleggen; de mails gaan uit met 'regie send'\n",
        r.stdout,
    ), r.stdout


def test_prior_position_in_dutch(db_file: Path) -> None:
    pid = submit(db_file).stdout.split()[0]
    to_oogo(db_file, pid)
    r = run(db_file, "attend", "oogo-2027-01-28", "ingrid-schouten", "--prior-position", pid,
            "--stance", "agree", "--position", "akkoord", now="2027-01-27T10:00")  # fmt: skip
    assert r.stdout == (
        f"Standpunt vooraf van Gemeente Ede over {pid} vastgelegd (stemt in), voor {OOGO} op "
        "donderdag 28 januari 2027 (oogo-2027-01-28)\n"
    )


def test_a_late_placement_says_so(db_file: Path) -> None:
    r = run(db_file, "submit", "--title", "Laat", "--purpose", "adoption", "--table",
            "tafel-model", "--party", "ede", "--meeting", "tafel-model-2026-12-08",
            now="2026-12-07T10:00")  # fmt: skip
    assert r.stdout.endswith(
        "(tafel-model-2026-12-08); de termijn voor de stukken was al verstreken, met de hand "
        "gekozen\n"
    )


def test_moves_and_attendance_in_dutch(db_file: Path) -> None:
    pid = submit(db_file).stdout.split()[0]
    at = shown(db_file, pid)["meeting_starts_at"]
    r = run(db_file, "defer", pid, "--reason", "geen tijd", now=at)
    assert r.stdout == (
        f"{pid} uitgesteld naar {TABLE}, op dinsdag 12 januari 2027, 9.30 uur "
        "(tafel-model-2027-01-12)\n"
    )
    # after the deferral: the clock never runs backwards
    r = run(db_file, "attend", "tafel-model-2027-01-12", "esther-mulder", "--absent",
            now="2026-12-09T10:00")  # fmt: skip
    assert r.stdout == (
        f"Esther Mulder (Gemeente Nijkerk) afwezig bij {TABLE} op dinsdag 12 januari 2027 "
        "(tafel-model-2027-01-12)\n"
    )
    r = run(db_file, "--lang", "en", "attend", "tafel-model-2027-01-12", "esther-mulder",
            "--present", now="2027-01-12T09:30")  # fmt: skip
    assert r.stdout == (
        f"Esther Mulder (Gemeente Nijkerk) present at {TABLE} on Tuesday 12 January 2027 "
        "(tafel-model-2027-01-12)\n"
    )
    r = run(db_file, "withdraw", pid, "--reason", "achterhaald", now="2027-01-12T12:00")
    assert r.stdout == f"{pid} ingetrokken\n"


def test_route_in_words(db_file: Path) -> None:
    r = run(db_file, "submit", "--title", "Dashboard", "--purpose", "information", "--table",
            "tafel-model", "--party", "ede")  # fmt: skip
    pid = r.stdout.split()[0]
    table_meeting = shown(db_file, pid)["meeting_starts_at"]
    run(db_file, "advance", pid, now=table_meeting)
    at = shown(db_file, pid)["meeting_starts_at"]
    chairs = "Regionaal voorzittersoverleg"
    r = run(db_file, "route", pid, "table", "chairs", "oogo", now=table_meeting)
    assert r.stdout == (
        f"{pid} route voorgesteld: tafel → voorzittersoverleg → OOGO; {chairs} beslist erover "
        "op donderdag 17 december 2026, 9.30 uur (voorzitters-2026-12-17)\n"
    )
    r = run(db_file, "route", pid, "table", "chairs", "oogo", now=at)
    assert r.stdout == (
        f"{pid} route vastgesteld namens {chairs} op donderdag 17 december 2026 "
        "(voorzitters-2026-12-17): tafel → voorzittersoverleg → OOGO\n"
    )
    r = run(db_file, "route", pid, "table", "chairs", "oogo", now=at, lang="en")
    assert r.stdout == (
        f"{pid} route set on behalf of {chairs} on Thursday 17 December 2026 "
        "(voorzitters-2026-12-17): table → chairs' meeting → OOGO\n"
    )


def test_read_tables_in_dutch(db_file: Path) -> None:
    pid = submit(db_file).stdout.split()[0]
    meetings = run(db_file, "meetings", "--limit", "2").stdout
    assert meetings.startswith("Vergaderingen") and "gepland" in meetings
    assert "scheduled" not in meetings
    agenda = run(db_file, "agenda", "tafel-model-2026-12-08").stdout
    assert agenda.startswith(f"Agenda van {TABLE}, dinsdag 8 december 2026, 9.30 uur ")
    assert "ter vaststelling" in agenda and "adoption" not in agenda
    people = run(db_file, "people").stdout
    assert all(word in people for word in ("naam", "partij", "taal", "Nederlands", "Engels"))
    audit = run(db_file, "audit", "show", pid).stdout
    assert audit.startswith(f"Logboek van {pid}")
    assert "ingediend" in audit and "submitted" not in audit
    assert "23 november 2026" in " ".join(audit.replace("│", " ").split())


@pytest.mark.parametrize("lang", ["nl", "en"])
def test_no_iso_times_in_human_output(db_file: Path, lang: str) -> None:
    pid = submit(db_file).stdout.split()[0]
    reads = [["show", pid], ["list"], ["meetings"], ["agenda", "tafel-model-2026-12-08"],
             ["people"], ["audit", "show", pid]]  # fmt: skip
    for args in reads:
        out = run(db_file, "--lang", lang, *args).stdout
        assert out.strip() and not ISO_TIME.search(out), (args, out)
        if args != ["people"]:
            assert ISO_TIME.search(run(db_file, *args, "--json").stdout), args


# -- choosing the language ---------------------------------------------------------------------


def test_lang_en(db_file: Path) -> None:
    r = submit(db_file, "--lang", "en")
    assert r.stdout == (
        f"P-2026-001 submitted to {TABLE}, on Tuesday 8 December 2026, 09:30 "
        "(tafel-model-2026-12-08)\n"
    )
    out = run(db_file, "--lang", "en", "show", "P-2026-001").stdout
    assert "for adoption" in out and "table → chairs' meeting → civil servants' meeting" in out
    assert "Tuesday 8 December 2026, 09:30" in out and "dinsdag" not in out


def test_the_acting_persons_language(db_file: Path) -> None:
    submit(db_file)
    assert run(db_file, "--lang", "nl", "list", user=ENGLISH_READER).stdout.startswith(
        "Voorstellen"
    )
    assert run(db_file, "list", user=ENGLISH_READER).stdout.startswith("Proposals")
    assert run(db_file, "list", user="coordinator").stdout.startswith("Voorstellen")
    assert run(db_file, "list", user=None).stdout.startswith("Voorstellen")


def test_as_chooses_the_language_of_a_write(db_file: Path) -> None:
    r = run(db_file, "submit", "--title", "Dashboard", "--purpose", "information", "--table",
            "tafel-monitor", "--party", "wageningen", "--as", ENGLISH_READER)  # fmt: skip
    assert r.stdout.startswith("P-2026-001 submitted to Tafel Monitor Jeugd & Onderwijs, on ")


def test_regie_lang(db_file: Path) -> None:
    submit(db_file)
    assert run(db_file, "list", lang="en").stdout.startswith("Proposals")
    assert run(db_file, "list", lang="nl", user=ENGLISH_READER).stdout.startswith("Voorstellen")
    assert run(db_file, "--lang", "en", "list", lang="nl").stdout.startswith("Proposals")


def test_the_regions_language(db_file: Path) -> None:
    """When nobody acts (or an unknown id does): the region's `language` setting."""
    submit(db_file)
    assert run(db_file, "list", user=None).stdout.startswith("Voorstellen")
    set_region_language(db_file, "en")
    assert run(db_file, "list", user=None).stdout.startswith("Proposals")
    assert run(db_file, "list", user="nobody-here").stdout.startswith("Proposals")
    assert run(db_file, "list", user="coordinator").stdout.startswith("Voorstellen")
    assert run(db_file, "list", user=None, lang="nl").stdout.startswith("Voorstellen")


# -- --json keeps ids and ISO times ------------------------------------------------------------


def _without_labels(value: Any) -> Any:
    """Everything but the words: fields ending in ``_label``/``_labels``."""
    if isinstance(value, dict):
        return {
            k: _without_labels(v) for k, v in value.items() if not k.endswith(("_label", "_labels"))
        }
    if isinstance(value, list):
        return [_without_labels(v) for v in value]
    return value


def test_json_keeps_ids_and_iso_times(db_file: Path) -> None:
    pid = submit(db_file).stdout.split()[0]
    to_awaiting_confirmation(db_file, pid)
    reads = [["show", pid], ["list"], ["meetings"], ["agenda", "oogo-2027-01-28"], ["people"],
             ["audit", "show", pid]]  # fmt: skip
    for args in reads:
        nl = json.loads(run(db_file, "--lang", "nl", *args, "--json").stdout)
        en = json.loads(run(db_file, "--lang", "en", *args, "--json").stdout)
        assert _without_labels(nl) == _without_labels(en), args
    p = json.loads(run(db_file, "show", pid, "--json").stdout)
    assert (p["state"], p["stage"], p["purpose"]) == ("awaiting_confirmation", "oogo", "adoption")
    assert p["state_label"] == "wacht op bevestiging"
    assert p["meeting_starts_at"] == "2027-01-28T19:30+01:00"
    assert p["route"] == ["table", "chairs", "ao", "oogo"]
    assert p["decisions"][0]["outcome"] == "adopted"
    listed = json.loads(run(db_file, "list", "--json", lang="en").stdout)
    assert [(r["state"], r["state_label"]) for r in listed] == [
        ("awaiting_confirmation", "awaiting confirmation")
    ]
    events = json.loads(run(db_file, "audit", "show", pid, "--json").stdout)
    assert [e["action"] for e in events][:2] == ["submitted", "advanced"]
    assert ISO_TIME.fullmatch(events[0]["at"][:16]), events[0]["at"]
    assert events[1]["payload"]["to"] == "chairs"


# -- the templates ------------------------------------------------------------------------------


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("table", ["LINES", "COUNTS", "TABLES", "DETAIL_KEYS"])
def test_both_languages_have_every_template_with_the_same_fields(table: str) -> None:
    nl, en = getattr(cli_words, table)["nl"], getattr(cli_words, table)["en"]
    assert nl.keys() == en.keys()
    for key in nl:
        parts_nl = nl[key] if isinstance(nl[key], tuple) else (nl[key],)
        parts_en = en[key] if isinstance(en[key], tuple) else (en[key],)
        assert len(parts_nl) == len(parts_en), key
        for a, b in zip(parts_nl, parts_en, strict=True):
            assert _fields(a) == _fields(b), (key, a, b)
