"""A realistic database for bench/check_scale.py: ten years of meetings of every body, a few
hundred proposals driven through the real engine services, then replicated with SQL.

1. The example region with its meetings repeated for ten years (same days of the year)
   and its mandates running as long.
2. A template database: every table meeting gets new proposals (adoption, advice,
   information; varied concerned parties); at every meeting, in time order, prior
   positions are recorded before it starts, the top meeting's agenda is approved by the
   routing body, attendance (present, some substitutes) is recorded, and each item is
   advanced, routed, deferred, returned, withdrawn, decided + confirmed (some left awaiting
   confirmation) — all through the engine (refused moves are skipped, as a person would).
3. The database of ``n`` proposals: initialised with the same region, then every event of
   the template replayed in order through :func:`regie.engine.audit.append` (so hashes and
   MACs are real), each proposal's events once per copy (new proposal ids, same times and
   meetings), the meeting events once (an approved agenda lists every copy); the rows the
   events describe (proposals, parties, decisions, prior positions, attendance) copied along.
"""

from __future__ import annotations

import json
import re
import zlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from regie.clock import AMSTERDAM, FixedClock, to_local
from regie.engine import agenda_approval, attendance, audit, decisions, moves
from regie.engine.setup import init_database
from regie.engine.storage import Database, Tx, as_datetime
from regie.errors import RegieError
from regie.region import Region, load_region
from regie.workflows.definition import builtin_workflows

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "foodvalley.toml"
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)
YEARS = 10
_MEETING = re.compile(r"^(\s*)\{ date = (\d{4})-(\d\d)-(\d\d)(.*?)\},?\s*$")
COPIED = ("proposal", "proposal_party", "decision", "prior_position")  # per proposal


def ten_year_config(target: Path) -> Path:
    """The example region, each body's meetings repeated on the same dates for YEARS years."""
    out: list[str] = []
    block: list[tuple[str, str]] = []  # (date, line) of the current meetings list
    for line in CONFIG.read_text(encoding="utf-8").splitlines():
        m = _MEETING.match(line)
        if m:
            indent, year, month, day, rest = m.groups()
            for k in range(YEARS):
                date = f"{int(year) + k}-{month}-{day}"
                if (month, day) != ("02", "29"):
                    block.append((date, f"{indent}{{ date = {date}{rest}}},"))
            continue
        if block:
            out.extend(text for _date, text in sorted(dict(block).items()))
            block = []
        out.append(re.sub(r"^until = 2027-12-31$", f"until = {2027 + YEARS}-12-31", line))
    target.write_text("\n".join(out) + "\n", encoding="utf-8")
    return target


def _h(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


class Simulation:
    """The template: proposals through the engine, meeting by meeting, in time order."""

    def __init__(self, db: Database, region: Region, per_meeting: int) -> None:
        self.db, self.region, self.per_meeting = db, region, per_meeting
        self.clock = FixedClock(T0)
        self.coordinator = region.coordinator
        self.refused = 0
        self.why: dict[str, int] = defaultdict(int)
        self.calls = 0
        self.kind = {b.id: b.kind for b in region.bodies}
        self.parties = [p.id for p in region.parties]

    def call(self, fn: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("actor", self.coordinator)
        try:
            with self.db.transaction() as session:
                self.calls += 1
                return fn(session=session, clock=self.clock, **kwargs)
        except RegieError as exc:
            self.refused += 1
            self.why[f"{fn.__name__}: {str(exc)[:70]}"] += 1
            return None

    def at(self, when: datetime) -> None:
        self.clock.set(max(when, self.clock.now()))

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.db.transaction(write=False) as session:
            return Tx(session).all(sql, params)

    def run(self) -> None:
        meetings = self.rows("SELECT id, body_id, starts_at FROM meeting ORDER BY starts_at, id")
        last = as_datetime(meetings[-1][2])
        assert last is not None
        now = last - timedelta(days=120)  # the meetings after it are still to come
        for mid, body, starts_raw in meetings:
            starts = as_datetime(starts_raw)
            assert starts is not None
            start = starts.replace(tzinfo=UTC)
            if self.kind[body] == "table" and starts - timedelta(days=12) < now:
                self.at(start - timedelta(days=12))
                self.submit(body, mid)
            if starts > now:
                continue
            items = [r[0] for r in self.rows(
                "SELECT id FROM proposal WHERE meeting_id = ? AND state NOT IN "
                "('withdrawn', 'decided', 'noted') ORDER BY id", (mid,))]  # fmt: skip
            if not items:
                continue
            self.at(start - timedelta(days=2))
            self.positions(mid, body, items)
            if self.kind[body] == "oogo":
                self.call(agenda_approval.approve, meeting_id=mid)
            self.at(start + timedelta(minutes=30))
            self.attend(mid, body)
            for pid in items:
                self.move(pid, mid, body)

    def submit(self, table: str, mid: str) -> None:
        for k in range(self.per_meeting):
            purpose = ("adoption", "adoption", "advice", "information")[_h(mid, str(k)) % 4]
            i = _h(mid, str(k), "p")
            parties = sorted({self.parties[i % len(self.parties)],
                              self.parties[(i // 7) % len(self.parties)]})  # fmt: skip
            self.call(
                moves.submit, title=f"Voorstel {mid} {k}", purpose=purpose, table=table,
                parties=parties, summary="Samenvatting van het voorstel.",
                addressee="body:oogo" if purpose == "advice" else None,
            )  # fmt: skip

    def positions(self, mid: str, body: str, items: list[str]) -> None:
        """Prior positions for about a third of the items, by the parties' mandated people."""
        for pid in items:
            if _h(pid, mid, "pos") % 5:
                continue
            concerned = {r[0] for r in self.rows(
                "SELECT party_id FROM proposal_party WHERE proposal_id = ?", (pid,))}  # fmt: skip
            for md in self.region.mandates:
                if md.body == body and md.party in concerned:
                    stance = ("agree", "agree", "disagree", "abstain")[_h(pid, md.person) % 4]
                    self.call(attendance.record_prior_position, meeting_id=mid,
                              proposal_id=pid, person=md.person, stance=stance,
                              position="Zie de notitie.")  # fmt: skip

    def attend(self, mid: str, body: str) -> None:
        subs = {(s.party, s.body): s.person for s in self.region.substitutes}
        done: set[str] = set()
        for md in self.region.mandates:
            if md.body != body or md.person in done:
                continue
            done.add(md.person)
            sub = subs.get((md.party, body))
            if sub is not None and _h(mid, md.person) % 4 == 0:
                self.call(attendance.record_attendance, meeting_id=mid, person=md.person,
                          status="absent")  # fmt: skip
                self.call(attendance.record_attendance, meeting_id=mid, person=sub,
                          status="substitute", substitute_for=md.person)  # fmt: skip
            else:
                self.call(attendance.record_attendance, meeting_id=mid, person=md.person,
                          status="present")  # fmt: skip

    def move(self, pid: str, mid: str, body: str) -> None:
        r = _h(pid, mid, "move") % 20
        if self.kind[body] == "table" and r >= 10:  # half are withdrawn at the table
            r = 0
        purpose = self.rows("SELECT purpose FROM proposal WHERE id = ?", (pid,))[0][0]
        if self.kind[body] == "oogo":
            outcome = {"adoption": "adopted", "advice": "positive", "information": "noted"}
            done = self.call(decisions.decide, proposal_id=pid, outcome=outcome[purpose],
                             text="Besloten zoals voorgesteld.")  # fmt: skip
            if done is None:  # a concerned party without a mandated person present
                done = self.call(decisions.decide, proposal_id=pid, outcome=outcome[purpose],
                                 text="Besloten zoals voorgesteld.",
                                 override="De partij is schriftelijk gehoord.")  # fmt: skip
            if done is not None and purpose != "information" and r < 17:
                chair = self.region.body_of_kind("oogo").chair
                self.call(decisions.confirm, actor=chair, proposal_id=pid, version=1)
            return
        if self.kind[body] == "chairs" and r % 3 == 0:
            route = [s for s in ("table", "chairs", "ao", "oogo")]
            self.call(moves.set_route, proposal_id=pid, route=route)
        if r == 0:
            self.call(moves.withdraw, proposal_id=pid, reason="Ingetrokken door de indiener.")
        elif r == 1:
            self.call(moves.defer, proposal_id=pid, reason="Stukken niet compleet.")
        elif r == 2 and self.kind[body] == "ao":
            self.call(moves.return_, proposal_id=pid, to="chairs", reason="Eerst bespreken.")
        else:
            self.call(moves.advance, proposal_id=pid)


def template(path: Path, config: Path, per_meeting: int) -> dict[str, Any]:
    region = load_region(config)
    db = Database(f"sqlite:///{path}")
    init_database(db=db, clock=FixedClock(T0), region=region, workflows=builtin_workflows())
    with db.transaction(write=False) as session:
        first = int(Tx(session).scalar("SELECT MAX(id) FROM audit_event") or 0)
    sim = Simulation(db, region, per_meeting)
    sim.run()
    db.dispose()
    why = sorted(sim.why.items(), key=lambda kv: -kv[1])[:8]
    return {"after_init": first, "calls": sim.calls, "refused": sim.refused, "why": why}


def _expand(value: Any, copies: dict[str, list[str]]) -> Any:
    """A payload with every list of template proposal ids (or of agenda items naming one)
    listing all their copies."""
    if isinstance(value, dict):
        return {k: _expand(v, copies) for k, v in value.items()}
    if isinstance(value, list):
        out: list[Any] = []
        for item in value:
            if isinstance(item, str) and item in copies:
                out.extend(copies[item])
            elif isinstance(item, dict) and item.get("proposal") in copies:
                out.extend({**_expand(item, copies), "proposal": q}
                           for q in copies[item["proposal"]])  # fmt: skip
            else:
                out.append(_expand(item, copies))
        return out
    return value


def _copies(src: Tx, n: int) -> dict[str, list[str]]:
    """New ids for each template proposal (P-YEAR-NNN, numbered on per year), n in all:
    n // len(template) copies of each, one more of the first n % len(template)."""
    ids = [r[0] for r in src.all("SELECT id FROM proposal ORDER BY submitted_at, id")]
    rounds, rest = divmod(n, len(ids))
    per_year: dict[str, list[str]] = defaultdict(list)
    for pid in ids:
        per_year[pid.split("-")[1]].append(pid)
    order = {pid: k for k, pid in enumerate(ids)}
    copies: dict[str, list[str]] = {}
    for year, mine in per_year.items():
        for i, pid in enumerate(mine):
            count = rounds + (1 if order[pid] < rest else 0)
            copies[pid] = [f"P-{year}-{j * len(mine) + i + 1:03d}" for j in range(count)]
    return copies


def replicate(template_path: Path, after_init: int, config: Path, path: Path, n: int) -> None:
    region = load_region(config)
    db = Database(f"sqlite:///{path}")
    init_database(db=db, clock=FixedClock(T0), region=region, workflows=builtin_workflows())
    source = Database(f"sqlite:///{template_path}")
    with source.transaction(write=False) as s1, db.transaction() as s2:
        src, dst = Tx(s1), Tx(s2)
        assert int(dst.scalar("SELECT MAX(id) FROM audit_event")) == after_init
        copies = _copies(src, n)
        for table in COPIED:
            cols = [r[1] for r in src.all(f"PRAGMA table_info({table})")]
            at = cols.index("id" if table == "proposal" else "proposal_id")
            sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
            for row in src.all(f"SELECT * FROM {table}"):
                for q in copies[row[at]]:
                    dst.execute(sql, (*row[:at], q, *row[at + 1 :]))
        cols = [r[1] for r in src.all("PRAGMA table_info(attendance)")]
        for row in src.all("SELECT * FROM attendance"):
            dst.execute(f"INSERT INTO attendance ({', '.join(cols)}) VALUES "
                        f"({', '.join('?' * len(cols))})", row)  # fmt: skip
        for row in src.all(
            "SELECT at, actor, acting_for, action, proposal_id, meeting_id, payload "
            "FROM audit_event WHERE id > ? ORDER BY id", (after_init,)
        ):  # fmt: skip
            when = as_datetime(row[0])
            payload = _expand(json.loads(row[6]), copies)
            for q in copies[row[4]] if row[4] is not None else [None]:
                audit.append(dst, at=when.replace(tzinfo=UTC), actor=row[1], acting_for=row[2],
                             action=row[3], proposal_id=q, meeting_id=row[5],
                             payload=payload)  # fmt: skip
        years: dict[str, int] = defaultdict(int)
        for ids in copies.values():
            for q in ids:
                years[q.split("-")[1]] = max(years[q.split("-")[1]], int(q.split("-")[2]))
        for year, value in years.items():
            dst.execute("DELETE FROM counter WHERE name = ?", (f"proposal-{year}",))
            dst.execute("INSERT INTO counter (name, value) VALUES (?, ?)",
                        (f"proposal-{year}", value))  # fmt: skip
        s2.commit()
    source.dispose()
    db.dispose()


def local_years(path: Path) -> str:
    with Database(f"sqlite:///{path}").transaction(write=False) as session:
        lo, hi = Tx(session).one("SELECT MIN(starts_at), MAX(starts_at) FROM meeting") or ("", "")
    return f"{to_local(as_datetime(lo)).date()} .. {to_local(as_datetime(hi)).date()}"  # type: ignore[arg-type]
