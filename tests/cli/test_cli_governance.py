"""`regie route`, `regie agenda approve`, `regie agenda MEETING` and `regie parties` through
click's CliRunner, in Dutch and English, for FoodValley and for a second region
(Heuvelland: werkgroep -> stuurgroep -> BO) with its own roles."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from regie.cli import cli

DATA = Path(__file__).resolve().parents[1] / "data" / "region-heuvelland"
NOW = "2026-11-23T10:00"
CHAIRS = "Regionaal voorzittersoverleg"
OOGO = "Regionaal bestuurlijk OOGO onderwijs en jeugd"
CLEAN = {"REGIE_DB": None, "REGIE_DEBUG": None, "REGIE_LANG": None, "COLUMNS": "250"}


def run(db: Path, *args: str, now: str = NOW, user: str | None = "coordinator") -> Result:
    env = {**CLEAN, "REGIE_NOW": now, "REGIE_USER": user}
    result = CliRunner().invoke(cli, ["--db", str(db), *args], env=env)
    assert "Traceback" not in result.output + result.stderr
    return result


def ok(db: Path, *args: str, **kwargs: Any) -> str:
    result = run(db, *args, **kwargs)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def error(db: Path, *args: str, code: int, **kwargs: Any) -> str:
    result = run(db, *args, **kwargs)
    assert result.exit_code == code, (args, result.output)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("regie: error: "), result.stderr
    return lines[0]


def read(db: Path, *args: str, now: str = NOW) -> Any:
    return json.loads(ok(db, *args, "--json", now=now))


def submit(db: Path, purpose: str = "information", *parties: str) -> str:
    party_args = [a for p in (parties or ("ede", "swv-vo")) for a in ("--party", p)]
    out = ok(db, "submit", "--title", "Dashboard monitor", "--purpose", purpose,
             "--table", "tafel-model", *party_args)  # fmt: skip
    return out.split()[0]


def starts(db: Path, pid: str) -> str:
    return str(read(db, "show", pid)["meeting_starts_at"])


# -- rule 1: route proposed before the chairs' meeting, set from its start on --------------


def test_route_is_proposed_then_set_in_both_languages(db_file: Path) -> None:
    pid = submit(db_file)
    assert ok(db_file, "route", pid, "table", "chairs", "oogo") == (
        f"{pid} route voorgesteld: tafel → voorzittersoverleg → OOGO; {CHAIRS} beslist erover "
        "zodra het voorstel op de agenda staat\n"
    )
    assert ok(db_file, "--lang", "en", "route", pid, "table", "chairs", "oogo") == (
        f"{pid} route proposed: table → chairs' meeting → OOGO; {CHAIRS} decides on it once "
        "the proposal is on its agenda\n"
    )
    table_meeting = starts(db_file, pid)
    ok(db_file, "advance", pid, now=table_meeting)
    shown_lines = [" ".join(line.split()) for line in ok(db_file, "show", pid).splitlines()]
    assert shown_lines[4:6] == [
        "route tafel → voorzittersoverleg → ambtelijk overleg → OOGO",
        "voorgestelde route tafel → voorzittersoverleg → OOGO",
    ]
    agenda = ok(db_file, "agenda", "voorzitters-2026-12-17", now=table_meeting)
    assert f"{pid}: voorgestelde route tafel → voorzittersoverleg → OOGO\n" in agenda
    assert ok(db_file, "agenda", "show", "voorzitters-2026-12-17", now=table_meeting) == agenda
    assert "proposed route table → chairs' meeting → OOGO" in ok(
        db_file, "--lang", "en", "agenda", "voorzitters-2026-12-17"
    )

    at = starts(db_file, pid)
    assert ok(db_file, "route", pid, "table", "chairs", "oogo", now=at) == (
        f"{pid} route vastgesteld namens {CHAIRS} op donderdag 17 december 2026 "
        "(voorzitters-2026-12-17): tafel → voorzittersoverleg → OOGO\n"
    )
    shown = read(db_file, "show", pid)
    assert (shown["route"], shown["proposed_route"]) == (["table", "chairs", "oogo"], None)
    assert "voorgestelde route" not in ok(db_file, "agenda", "voorzitters-2026-12-17", now=at)
    events = read(db_file, "audit", "show", pid)
    assert [e["action"] for e in events] == [
        "submitted", "route_proposed", "route_proposed", "advanced", "route_set",
    ]  # fmt: skip
    assert events[-1]["meeting"] == "voorzitters-2026-12-17"
    assert "route voorgesteld" in ok(db_file, "audit", "show", pid)
    assert "route proposed" in ok(db_file, "--lang", "en", "audit", "show", pid)


def test_route_refusals_are_one_line(db_file: Path) -> None:
    pid = submit(db_file)
    line = error(db_file, "route", pid, "table", "chairs", "oogo", code=1,
                 user="marloes-kamphuis")  # fmt: skip
    assert "only the chair of 'voorzitters' or the network coordinator may" in line
    line = error(db_file, "route", pid, "table", "ao", code=2)
    assert "is not allowed for information proposals" in line


# -- rule 2: the chairs' meeting approves the OOGO agenda -----------------------------------


def to_oogo(db: Path, pid: str) -> str:
    """Advance to the OOGO; the start of the AO meeting it came from."""
    for _ in range(3):
        at = starts(db, pid)
        ok(db, "advance", pid, now=at)
    return at


def test_agenda_approve_and_publish_in_both_languages(db_file: Path) -> None:
    pid, late = submit(db_file, "adoption"), submit(db_file, "adoption")
    for _ in range(2):
        for p in (pid, late):
            ok(db_file, "advance", p, now=starts(db_file, p))
    at = starts(db_file, pid)
    ok(db_file, "advance", pid, now=at)
    meeting = "oogo-2027-01-28"

    line = error(db_file, "publish", meeting, now=at, code=2)
    assert f"approve it first: regie agenda approve {meeting}" in line
    agenda = ok(db_file, "agenda", meeting, now=at)
    assert "wacht op akkoord" in agenda
    assert f"Nog niet goedgekeurd door {CHAIRS}: regie agenda approve {meeting}\n" in agenda

    assert ok(db_file, "agenda", "approve", meeting, now=at) == (
        f"Agenda van {OOGO} op donderdag 28 januari 2027, 19.30 uur ({meeting}) goedgekeurd "
        f"namens {CHAIRS} van donderdag 17 december 2026 (voorzitters-2026-12-17): "
        "1 agendapunt\n"
    )
    ok(db_file, "publish", meeting, now=at)
    ok(db_file, "advance", late, now=at)
    agenda = ok(db_file, "agenda", meeting, now=at)
    assert "Goedgekeurd namens Regionaal voorzittersoverleg van donderdag 17 december 2026" in (
        agenda
    )
    assert f"1 agendapunt wacht op akkoord van {CHAIRS}: regie agenda approve {meeting}" in agenda
    shown = read(db_file, "agenda", meeting, now=at)
    assert [(i["proposal"], i["awaiting_approval"]) for i in shown["items"]] == [
        (pid, False),
        (late, True),
    ]
    published = ok(db_file, "--lang", "en", "publish", meeting, now=at)
    assert published.endswith(
        f"; left out: 1 item awaits approval by {CHAIRS} (regie agenda approve {meeting})\n"
    )
    assert ok(db_file, "publish", meeting, now=at).endswith(
        f"; niet meegestuurd: 1 agendapunt wacht nog op akkoord van {CHAIRS} (regie agenda "
        f"approve {meeting})\n"
    )
    again = ok(db_file, "--lang", "en", "agenda", "approve", meeting, now=at)
    assert again == (
        f"Agenda of {OOGO} on Thursday 28 January 2027, 19:30 ({meeting}) approved on behalf "
        f"of {CHAIRS} of Thursday 17 December 2026 (voorzitters-2026-12-17): 2 items; the "
        "changed agenda was published again to the members, as a calendar update; the mails "
        "go out with 'regie send'\n"
    )
    assert "wacht op akkoord" not in ok(db_file, "agenda", meeting, now=at)
    assert read(db_file, "check")["problems"] == []


def test_agenda_approve_refusals_are_one_line(db_file: Path) -> None:
    pid = submit(db_file, "adoption")
    at = to_oogo(db_file, pid)
    line = error(db_file, "agenda", "approve", "ao-2027-02-04", now=at, code=2)
    assert "is not a meeting of the top body" in line
    line = error(db_file, "agenda", "approve", "oogo-2027-01-28", "--at", "ao-2027-01-07",
                 now=at, code=2)  # fmt: skip
    assert "--at ao-2027-01-07 is a meeting of 'ao'" in line
    line = error(db_file, "agenda", "approve", "oogo-2027-01-28", now=at, code=1,
                 user="sandra-kooiman")  # fmt: skip
    assert "may not approve the agenda of oogo-2027-01-28" in line
    out = ok(db_file, "agenda", "approve", "oogo-2027-01-28", "--at", "voorzitters-2026-12-17",
             now=at)  # fmt: skip
    assert "van donderdag 17 december 2026 (voorzitters-2026-12-17): 1 agendapunt" in out


def test_agenda_group_keeps_the_short_read(db_file: Path) -> None:
    assert ok(db_file, "agenda", "--help").startswith("Usage: ")
    assert "approve" in ok(db_file, "agenda", "--help")
    plain = ok(db_file, "agenda", "ao-2026-12-10")
    assert plain == ok(db_file, "agenda", "show", "ao-2026-12-10")
    assert read(db_file, "agenda", "ao-2026-12-10")["needs_approval"] is False
    assert "goedgekeurd" not in plain.lower()
    as_json = json.loads(ok(db_file, "agenda", "--json", "oogo-2026-12-16"))
    assert (as_json["needs_approval"], as_json["approval"]) == (True, None)
    assert "regie: error: meeting 'nowhere'" in error(db_file, "agenda", "nowhere", code=1)


# -- rule 8: concerned parties corrected -----------------------------------------------------


def test_parties_corrected_in_both_languages(db_file: Path) -> None:
    pid = submit(db_file, "adoption")
    assert ok(db_file, "parties", pid, "--add", "rhenen", "--remove", "swv-vo", "--reason",
              "Rhenen doet mee") == (  # fmt: skip
        f"{pid} betrokken partijen gecorrigeerd, nu: Gemeente Ede, Gemeente Rhenen (erbij: "
        "Gemeente Rhenen; eraf: Samenwerkingsverband passend onderwijs VO FoodValley)\n"
    )
    assert ok(db_file, "--lang", "en", "parties", pid, "--add", "barneveld", "--reason",
              "ook Barneveld") == (  # fmt: skip
        f"{pid} concerned parties corrected, now: Gemeente Barneveld, Gemeente Ede, Gemeente "
        "Rhenen (added: Gemeente Barneveld; removed: none)\n"
    )
    assert read(db_file, "show", pid)["parties"] == ["barneveld", "ede", "rhenen"]
    details = [e for e in read(db_file, "audit", "show", pid) if e["action"] == "parties_changed"]
    assert [e["payload"]["reason"] for e in details] == ["Rhenen doet mee", "ook Barneveld"]
    audit = ok(db_file, "audit", "show", pid)
    assert "partijen nu: barneveld, ede, rhenen" in audit


def test_parties_refusals_are_one_line(db_file: Path) -> None:
    pid = submit(db_file, "adoption")
    line = error(db_file, "parties", pid, "--remove", "ede", "--remove", "swv-vo", "--reason",
                 "x", code=2)  # fmt: skip
    assert "at least one concerned party remains" in line
    assert "--reason" in error(db_file, "parties", pid, "--add", "rhenen", code=2)
    line = error(db_file, "parties", pid, "--add", "rhenen", "--reason", "x", code=1,
                 user="marloes-kamphuis")  # fmt: skip
    assert "may not correct the concerned parties" in line
    ok(db_file, "withdraw", pid, "--reason", "achterhaald")
    line = error(db_file, "parties", pid, "--add", "rhenen", "--reason", "x", code=1)
    assert "it is closed" in line


# -- a second region: its own routing body and top body --------------------------------------


def test_a_second_region_follows_the_same_rules_with_its_own_roles(tmp_path: Path) -> None:
    folder = tmp_path / "heuvelland"
    shutil.copytree(DATA, folder)
    db = tmp_path / "h.db"

    def h(*args: str, now: str, user: str = "regisseur", code: int = 0) -> str:
        result = run(db, *args, now=now, user=user)
        assert result.exit_code == code, (args, result.output)
        return result.stdout if code == 0 else result.stderr

    h("init", "--config", str(folder / "region.toml"), now="2026-12-01T09:00")
    h("submit", "--title", "Kader thuiszitters", "--purpose", "adoption", "--party", "bergdorp",
      "--party", "dalwijk", now="2026-12-29T10:00")  # fmt: skip
    pid = "P-2026-001"
    route = ("werkgroep", "stuurgroep", "bo")
    out = h("route", pid, *route, now="2026-12-29T10:05")
    assert out == (
        f"{pid} route voorgesteld: werkgroep → stuurgroep → Bestuurlijk overleg; Stuurgroep "
        "Jeugd beslist erover zodra het voorstel op de agenda staat\n"
    )
    h("advance", pid, now="2027-02-04T20:00")
    agenda = h("agenda", "stuurgroep-2027-02-18", now="2027-02-04T20:00")
    assert f"{pid}: voorgestelde route werkgroep → stuurgroep → Bestuurlijk overleg" in agenda
    # a FoodValley body's chair has no say here; the werkgroep's chair neither
    assert "only the chair of 'stuurgroep'" in h("route", pid, *route, now="2027-02-18T20:00",
                                                 user="beleid-bergdorp", code=1)  # fmt: skip
    out = h("--lang", "en", "route", pid, *route, now="2027-02-18T20:00")
    assert out == (
        f"{pid} route set on behalf of Stuurgroep Jeugd on Thursday 18 February 2027 "
        "(stuurgroep-2027-02-18): working group → steering group → administrative meeting\n"
    )
    h("advance", pid, now="2027-02-18T20:00")
    assert "approve it first" in h("publish", "bo-2027-03-11", now="2027-02-18T21:00", code=2)
    assert "is not a meeting of the top body (bo)" in h(
        "agenda", "approve", "stuurgroep-2027-03-18", now="2027-02-18T21:00", code=2
    )
    out = h("agenda", "approve", "bo-2027-03-11", now="2027-02-18T21:00")
    assert out == (
        "Agenda van Bestuurlijk overleg op donderdag 11 maart 2027, 19.30 uur (bo-2027-03-11) "
        "goedgekeurd namens Stuurgroep Jeugd van donderdag 18 februari 2027 "
        "(stuurgroep-2027-02-18): 1 agendapunt\n"
    )
    h("publish", "bo-2027-03-11", now="2027-02-18T21:00")
    out = h("parties", pid, "--add", "swv-heuvel", "--reason", "het SWV betaalt mee",
            now="2027-02-19T09:00")  # fmt: skip
    assert "nu: Gemeente Bergdorp, Gemeente Dalwijk, Samenwerkingsverband Heuvelland" in out
    assert "only the chair of 'stuurgroep'" in h(
        "parties", pid, "--remove", "dalwijk", "--reason", "x", now="2027-02-19T09:00",
        user="wethouder-dalwijk", code=1,
    )  # fmt: skip
    approval = json.loads(h("agenda", "bo-2027-03-11", "--json", now="2027-02-19T09:00"))
    assert approval["routing_body"] == "stuurgroep"
    assert approval["approval"]["routing_meeting"]["id"] == "stuurgroep-2027-02-18"
    assert json.loads(h("check", "--json", now="2027-02-19T09:00"))["problems"] == []
