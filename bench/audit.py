"""Benchmark: settling disputes over ten years of a network's decisions (issue 19).

A database (SQLite, the FoodValley config) gets one proposal decided and confirmed at the
top meeting through the engine services; its rows are the template for ``--proposals``
more (default 450,000: every Dutch region's tables over ten years), inserted with SQL in
the shape the services write: proposal, concerned parties, decision (confirmed), the
attendance of the top meetings, and ``--events`` audit events (default 10,000,000) in one
hash chain with the MAC of the database's key, computed here with ``regie.engine.audit``.
Titles, summaries and decision texts are Dutch sentences drawn from the five focus points'
vocabulary, municipalities and years (seeded: the same data every run). The search index
is then filled by the engine's own rebuild (``regie.dispute.index.rebuild``).

Measured in the same run:

* ``audit search`` (:func:`regie.dispute.search.search`: ranked hits with body, meeting,
  outcome and who decided) against the bare full-text query on the same index
  (:func:`regie.dispute.search.bare_search`), p50 and p95 over ``--queries`` queries; the
  ratio of the p50s (target <= 2);
* the submit-time similarity check (:func:`regie.dispute.revisits.similar_decisions`) for
  new proposals, p50/p95, against 3 x the bare search p50 (target: under it);
* ``audit verify``: events per second over the whole chain (hash and MAC of every event),
  with its progress bar on a terminal.

Generation takes minutes at the default sizes; use ``--proposals 45000 --events 1000000``
for a quick look. Not a test, no timing asserted:

    python bench/audit.py [--proposals N] [--events N] [--queries N] [--keep DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

# keep bench/ off the import path (bench/transitions.py is named like a library)
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import random  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time as clock  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from datetime import datetime, timedelta  # noqa: E402
from typing import Any  # noqa: E402

from regie.clock import AMSTERDAM, FixedClock  # noqa: E402
from regie.engine import agenda_approval, attendance, audit, decisions, keys, moves  # noqa: E402
from regie.engine.setup import init_database  # noqa: E402
from regie.engine.storage import Database, Tx  # noqa: E402
from regie.region import Region, load_region  # noqa: E402
from regie.workflows.definition import builtin_workflows  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "foodvalley.toml"
T0 = datetime(2016, 1, 4, 10, 0, tzinfo=AMSTERDAM)  # ten years back
YEARS = 10
BATCH = 50_000

# The vocabulary of ten years of youth care and education proposals: a subject is a topic
# (the five focus points of seed 002 and their neighbours), an aspect of it and a group it
# is for, in one of the 42 youth care regions' places; about 48,000 subjects, so a topic
# word is in about 2% of the proposals, as in a real archive, not in a third of them.
TOPICS = [
    "wachtlijsten jeugdhulp",
    "thuiszitters",
    "passend onderwijsaanbod",
    "regionale inkoop",
    "specialistische jeugdzorg",
    "doorgaande leerlijn",
    "voorschoolse educatie",
    "schoolmaatschappelijk werk",
    "praktijkondersteuner jeugd",
    "expertiseteam",
    "leerlingenvervoer",
    "schooluitval mbo",
    "convenant onderwijs zorg",
    "beleidsmonitor",
    "scheidingsproblematiek",
    "taalachterstand",
    "crisisdienst jeugd",
    "pleegzorg",
    "gezinshuizen",
    "jeugdbescherming",
    "ambulante begeleiding",
    "dagbesteding",
    "dyslexiezorg",
    "hoogbegaafdheid",
    "leerplicht verzuim",
    "onderwijszorgarrangementen",
    "integrale kindcentra",
    "jeugdgezondheidszorg",
    "logopedie",
    "kinderopvang",
    "praktijkonderwijs",
    "voortgezet speciaal onderwijs",
    "entreeopleiding",
    "stageplaatsen",
    "wijkteams",
    "gezinscoaches",
    "huisartsverwijzingen",
    "residentiele jeugdzorg",
    "gesloten jeugdhulp",
    "verslavingspreventie",
    "mentale gezondheid",
    "pestprotocol",
    "zorgplicht scholen",
    "vrijstellingen leerplicht",
    "maatwerkvoorzieningen",
    "tolkvoorzieningen",
    "nieuwkomersonderwijs",
    "schakelklassen",
    "zomerscholen",
    "naschoolse opvang",
    "sportparticipatie",
    "cultuuronderwijs",
    "armoedebestrijding",
    "schuldhulpverlening jongeren",
    "jongerenwerk",
    "mantelzorgondersteuning",
    "kindermishandeling",
    "huiselijk geweld",
    "gegevensuitwisseling",
    "klachtenregeling",
]
ASPECTS = [
    "de financiering", "de tarieven", "de wachttijden", "de privacyafspraken",
    "de verantwoording", "de toegang", "de evaluatie", "de uitbreiding", "de aanbesteding",
    "de bekostiging", "de kwaliteitseisen", "de capaciteit", "de samenwerkingsafspraken",
    "het uitvoeringsplan", "de pilot", "de werkwijze", "de governance", "de monitoring",
    "de personele inzet", "de huisvesting", "de klantreis", "de doorlooptijden",
    "de indicatiestelling", "de contractering", "de informatievoorziening",
    "de escalatieroute", "de transformatieagenda", "de innovatiemiddelen",
    "de cofinanciering", "de regiovisie", "de kennisdeling", "de scholing",
    "de bereikbaarheid", "de ouderbetrokkenheid", "de cliëntparticipatie",
    "de vervoerskosten", "de reistijden", "de overgang naar volwassenheid",
    "de afschaling", "de nazorg",
]  # fmt: skip
GROUPS = [
    "jonge kinderen", "basisschoolleerlingen", "jongeren van 16 tot 23", "nieuwkomers",
    "kinderen met autisme", "jonge mantelzorgers", "gezinnen in armoede", "statushouders",
    "leerlingen met een ondersteuningsbehoefte", "jongeren zonder startkwalificatie",
    "pleegkinderen", "kinderen in gescheiden gezinnen", "tieners met schulden",
    "meervoudig beperkte kinderen", "hoogbegaafde leerlingen", "thuiszittende jongeren",
    "jonge ouders", "jongeren in detentie", "kinderen van verslaafde ouders",
    "studenten in het mbo",
]  # fmt: skip
ACTIONS = ["vaststellen", "uitbreiden", "evalueren", "verlengen", "herzien", "financieren",
           "aanpassen", "beëindigen", "voortzetten", "verkennen"]  # fmt: skip
PLACES = ["Ede", "Barneveld", "Wageningen", "Veenendaal", "Renswoude", "Rhenen",
          "Scherpenzeel", "Nijkerk", "Apeldoorn", "Zwolle", "Utrecht", "Arnhem", "Nijmegen",
          "Amersfoort", "Deventer", "Doetinchem", "Tiel", "Leiden", "Haarlem", "Groningen",
          "Leeuwarden", "Assen", "Emmen", "Enschede", "Hengelo", "Almere", "Lelystad",
          "Alkmaar", "Zaanstad", "Amsterdam", "Rotterdam", "Dordrecht", "Gouda", "Delft",
          "Den Haag", "Zoetermeer", "Breda", "Tilburg", "Eindhoven", "Helmond", "Venlo",
          "Maastricht", "Heerlen", "Middelburg", "Goes", "Roosendaal", "Oss",
          "Den Bosch"]  # fmt: skip
DETAILS = [
    "met extra formatie voor de toegang", "binnen het bestaande budget",
    "met een gezamenlijke financiering door de gemeenten", "als pilot van twee jaar",
    "met een monitor per kwartaal", "samen met de samenwerkingsverbanden",
    "met afspraken over de wachttijden", "met een onafhankelijke evaluatie",
    "na advies van de cliëntenraad", "in afstemming met de zorgaanbieders",
    "met een rapportage aan de gemeenteraden", "met inzet van ervaringsdeskundigen",
]  # fmt: skip
OUTCOME_TEXT = {
    "adopted": "Het OOGO stelt het voorstel vast",
    "amended": "Het OOGO stelt het voorstel gewijzigd vast",
    "rejected": "Het OOGO wijst het voorstel af",
}


def _call(db: Database, at: FixedClock, fn: Any, **kwargs: Any) -> Any:
    with db.transaction() as session:
        return fn(session=session, clock=at, **kwargs)


def _template(db: Database, region: Region) -> str:
    """One proposal decided (adopted, confirmed) at the top meeting, through the engine."""
    at, me = FixedClock(T0), region.coordinator
    kw = {"actor": me, "purpose": "adoption", "table": "tafel-model", "parties": ["ede"]}
    r = _call(db, at, moves.submit, title="Sjabloon", **kw)
    for _ in range(3):
        at.set(datetime.fromisoformat(r.as_dict()["meeting_starts_at"]) + timedelta(minutes=5))
        r = _call(db, at, moves.advance, actor=me, proposal_id=r.proposal_id)
    _call(db, at, agenda_approval.approve, actor=me, meeting_id=r.meeting_id)
    at.set(datetime.fromisoformat(r.as_dict()["meeting_starts_at"]) + timedelta(minutes=30))
    oogo = region.body_of_kind("oogo")
    rep = next(m.person for m in region.mandates if m.party == "ede" and m.body == oogo.id)
    _call(db, at, attendance.record_attendance, actor=me, meeting_id=r.meeting_id,
          person=rep, status="present")  # fmt: skip
    _call(db, at, decisions.decide, actor=me, proposal_id=r.proposal_id, outcome="adopted",
          text="Vastgesteld.")  # fmt: skip
    at.advance(timedelta(hours=1))
    _call(db, at, decisions.confirm, actor=oogo.chair, proposal_id=r.proposal_id, version=1)
    return str(r.proposal_id)


def subject(rng: random.Random) -> tuple[str, str, str]:
    return rng.choice(TOPICS), rng.choice(ASPECTS), rng.choice(GROUPS)


def sentence(
    rng: random.Random, about: tuple[str, str, str] | None = None
) -> tuple[str, str, str, str]:
    """(title, summary, decision text, outcome) of one generated proposal (on ``about``:
    a topic, an aspect and a group, else a random subject)."""
    topic, aspect, group = about or subject(rng)
    place, year, action = rng.choice(PLACES), rng.randint(2016, 2026), rng.choice(ACTIONS)
    title = f"{aspect[0].upper()}{aspect[1:]} {topic} voor {group} {place} {year}: {action}"
    summary = (f"Voorstel om {aspect} van {topic} voor {group} in {place} te {action} "
               f"{rng.choice(DETAILS)}, {rng.choice(DETAILS)}.")  # fmt: skip
    outcome = rng.choices(["adopted", "amended", "rejected"], weights=[8, 2, 1])[0]
    text = f"{OUTCOME_TEXT[outcome]}: {aspect} {topic} in {place} {rng.choice(DETAILS)}."
    return title, summary, text, outcome


class Generator:
    def __init__(self, path: Path, proposals: int, events: int, seed: int = 19) -> None:
        self.path, self.proposals, self.events = path, proposals, events
        self.rng = random.Random(seed)
        region = load_region(CONFIG)
        db = Database(f"sqlite:///{path}")
        init_database(db=db, clock=FixedClock(T0), region=region, workflows=builtin_workflows())
        self.template = _template(db, region)
        db.dispose()
        self.key = keys.load_key(str(path), True)
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA synchronous = OFF")

    def _row(self, table: str, where: str, *params: Any) -> dict[str, Any]:
        cur = self.conn.execute(f"SELECT * FROM {table} WHERE {where}", params)
        names = [d[0] for d in cur.description]
        return dict(zip(names, cur.fetchone(), strict=True))

    def _insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        if rows:
            cols = list(rows[0])
            self.conn.executemany(
                f"INSERT INTO {table} ({', '.join(cols)}) VALUES "
                f"({', '.join('?' for _ in cols)})", [[r[c] for c in cols] for r in rows],
            )  # fmt: skip

    def _meetings(self) -> list[tuple[str, datetime]]:
        """The top body's meetings every six weeks over the years, with the attendance of
        the template meeting copied to each."""
        p = self._row("proposal", "id = ?", self.template)
        first = self._row("meeting", "id = ?", p["meeting_id"])
        people = self.conn.execute("SELECT * FROM attendance WHERE meeting_id = ?",
                                   (first["id"],)).fetchall()  # fmt: skip
        names = [d[1] for d in self.conn.execute("PRAGMA table_info(attendance)")]
        starts = datetime.fromisoformat(str(first["starts_at"]))
        ends = datetime.fromisoformat(str(first["ends_at"]))
        found, meetings, attending = [], [], []
        for k in range(1, YEARS * 52 // 6):
            shift = timedelta(weeks=6 * k)
            mid = f"{first['body_id']}-g{k:03d}"
            meetings.append({**first, "id": mid, "starts_at": str(starts + shift),
                             "ends_at": str(ends + shift)})  # fmt: skip
            for row in people:
                a = dict(zip(names, row, strict=True))
                attending.append({**a, "meeting_id": mid, "recorded_at": str(starts + shift)})
            found.append((mid, starts + shift))
        self._insert("meeting", meetings)
        self._insert("attendance", attending)
        return found

    def run(self) -> None:
        p = self._row("proposal", "id = ?", self.template)
        d = self._row("decision", "proposal_id = ?", self.template)
        parties = [r[0] for r in self.conn.execute("SELECT id FROM party ORDER BY id")]
        meetings = self._meetings()
        per = max(1, self.events // self.proposals)
        head = self.conn.execute(
            "SELECT id, hash, at FROM audit_event ORDER BY id DESC LIMIT 1").fetchone()  # fmt: skip
        self.next_id, self.prev = int(head[0]) + 1, str(head[1])
        self.at = datetime.fromisoformat(str(head[2]))
        step = timedelta(days=365 * YEARS) / self.events
        props, parts, decs, evs = [], [], [], []
        made = 0
        for n in range(self.proposals):
            pid = f"P-G{n:07d}"
            mid, starts = meetings[n * len(meetings) // self.proposals]
            title, summary, text, outcome = sentence(self.rng)
            props.append({**p, "id": pid, "title": title, "summary": summary,
                          "meeting_id": mid, "submitted_at": str(starts - timedelta(days=40)),
                          "updated_at": str(starts)})  # fmt: skip
            for party in sorted({parties[n % len(parties)], parties[(n * 7 + 3) % len(parties)]}):
                parts.append({"proposal_id": pid, "party_id": party})
            decs.append({**d, "proposal_id": pid, "meeting_id": mid, "outcome": outcome,
                         "text": text, "recorded_at": str(starts),
                         "confirmed_at": str(starts + timedelta(days=1))})  # fmt: skip
            want = per if n < self.proposals - 1 else self.events - made
            evs.extend(self._events(pid, mid, title, text, outcome, want, step))
            made += want
            if len(evs) >= BATCH:
                self._flush(props, parts, decs, evs)
                print(f"  {n + 1:,} proposals, {made:,} events", end="\r", flush=True)
        self._flush(props, parts, decs, evs)
        self.conn.commit()
        print()

    def _events(self, pid: str, mid: str, title: str, text: str, outcome: str, count: int,
                step: timedelta) -> Iterator[dict[str, Any]]:  # fmt: skip
        """``count`` events of one proposal: submitted, advanced, decided, confirmed, and
        reminders and mails between (the payloads the services write, in short)."""
        shapes = [("submitted", None, {"title": title, "purpose": "adoption"}),
                  ("advanced", None, {"from": "table", "to": "chairs"}),
                  ("advanced", None, {"from": "chairs", "to": "ao"}),
                  ("advanced", mid, {"from": "ao", "to": "oogo"}),
                  ("decided", mid, {"outcome": outcome, "text": text, "version": 1}),
                  ("confirmed", mid, {"version": 1})]  # fmt: skip
        for k in range(count):
            if k < len(shapes) - 1 or count <= len(shapes):
                action, meeting, payload = shapes[min(k, len(shapes) - 1)]
            elif k == count - 1:
                action, meeting, payload = shapes[-1]
            else:
                action, meeting, payload = "reminder_sent", mid, {"rule": "documents"}
            self.at += step
            payload_text = audit.canonical(payload)
            digest = audit.event_hash(at=self.at, actor="coordinator", acting_for=None,
                                      action=action, proposal_id=pid, meeting_id=meeting,
                                      payload_text=payload_text, prev_hash=self.prev,
                                      os_user="bench", host="bench")  # fmt: skip
            yield {"id": self.next_id, "at": self.at.isoformat(" ", "microseconds"),
                   "actor": "coordinator", "acting_for": None, "action": action,
                   "proposal_id": pid, "meeting_id": meeting, "payload": payload_text,
                   "prev_hash": self.prev, "hash": digest, "os_user": "bench", "host": "bench",
                   "mac": self.key.event_mac(digest) if self.key else None,
                   "key_id": self.key.key_id if self.key else None}  # fmt: skip
            self.next_id, self.prev = self.next_id + 1, digest

    def _flush(self, *tables: list[dict[str, Any]]) -> None:
        for name, rows in zip(("proposal", "proposal_party", "decision", "audit_event"), tables,
                              strict=True):  # fmt: skip
            self._insert(name, rows)
            rows.clear()


def percentiles(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered), ordered[max(0, round(0.95 * len(ordered)) - 1)]


def timed(calls: list[Callable[[], object]]) -> tuple[list[float], list[object]]:
    times, results = [], []
    for call in calls:
        started = clock.perf_counter()
        results.append(call())
        times.append(clock.perf_counter() - started)
    return times, results


def exhaustive(session: Any, new: list[tuple[str, str, str, str]]) -> list[list[str]]:
    """What the similarity check finds when it scores the best 20,000 final decisions
    sharing two of the new proposal's 12 rarest stems (not the best 100 sharing two of its
    4 rarest): the reference its candidate step is measured against, each list best first.
    Slow; not timed."""
    from regie.dispute import revisits

    saved = (revisits.RAREST, revisits.RAREST_WIDE, revisits.CANDIDATES)
    revisits.RAREST = revisits.RAREST_WIDE = 12
    revisits.CANDIDATES = 20_000
    try:
        return [[s.id for s in revisits.similar_decisions(session, t[0], t[1])] for t in new]
    finally:
        revisits.RAREST, revisits.RAREST_WIDE, revisits.CANDIDATES = saved


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--proposals", type=int, default=450_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--keep", help="Keep (or reuse) the generated database in this folder.")
    args = parser.parse_args()
    workdir = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="regie-audit-"))
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / "audit.db"
    try:
        measure(path, args)
    finally:
        if args.keep:
            print(f"\ndatabase kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def measure(path: Path, args: argparse.Namespace) -> None:
    from regie.dispute import index, revisits, search

    if not path.exists():
        started = clock.perf_counter()
        gen = Generator(path, args.proposals, args.events)
        gen.run()
        gen.conn.close()
        made = clock.perf_counter() - started
        db = Database(f"sqlite:///{path}")
        started = clock.perf_counter()
        with db.transaction() as session:
            entries = index.rebuild(Tx(session))
            session.commit()
        print(f"generated {args.proposals:,} proposals and {args.events:,} events in "
              f"{made:.0f} s; search index ({entries:,} entries) in "
              f"{clock.perf_counter() - started:.0f} s")  # fmt: skip
    else:
        db = Database(f"sqlite:///{path}")
        print(f"reusing {path}")
    rng = random.Random(7)
    queries = []
    for _ in range(args.queries):  # what a coordinator types: a topic, and more words
        topic, aspect, group = subject(rng)
        forms = [topic, f"{topic} {rng.choice(PLACES)}", f"{aspect.split()[-1]} {topic}",
                 f"{topic} {group}"]  # fmt: skip
        queries.append(rng.choice(forms))
    with db.session(write=False) as session:
        new = [sentence(rng) for _ in range(args.queries)]
        searches = [lambda q=q: search.search(session, q) for q in queries]
        bares = [lambda q=q: search.bare_search(session, q) for q in queries]
        checks = [lambda t=t: revisits.similar_decisions(session, t[0], t[1]) for t in new]
        timed(searches + bares + checks)  # warm: the pages a running service has in memory
        # each query by the three, in turn: none profits from what another read just before
        t_search, hits, t_bare, t_similar, found = [], [], [], [], []
        for one_search, one_bare, one_check in zip(searches, bares, checks, strict=True):
            for fn, times, results in ((one_search, t_search, hits), (one_bare, t_bare, None),
                                       (one_check, t_similar, found)):  # fmt: skip
                spent, got = timed([fn])
                times += spent
                if results is not None:
                    results += got
        reference = exhaustive(session, new)
    pairs = list(zip(found, reference, strict=True))
    agree = sum(len({s.id for s in f} & set(r)) for f, r in pairs)  # type: ignore[attr-defined]
    expected = sum(len(r) for r in reference)
    best = sum(1 for f, r in pairs if r and r[0] in {s.id for s in f})  # type: ignore[attr-defined]
    warned = sum(1 for r in reference if r)
    s50, s95 = percentiles(t_search)
    b50, b95 = percentiles(t_bare)
    m50, m95 = percentiles(t_similar)
    print(f"\n| query ({args.queries}) | p50 ms | p95 ms |\n|---|---|---|")
    print(f"| audit search | {s50 * 1000:.1f} | {s95 * 1000:.1f} |")
    print(f"| bare full-text query | {b50 * 1000:.1f} | {b95 * 1000:.1f} |")
    print(f"| similarity check at submit | {m50 * 1000:.1f} | {m95 * 1000:.1f} |")
    print(f"\nsearch / bare (p50): {s50 / b50:.2f} (target <= 2); similarity / (3 x bare p50): "
          f"{m50 / (3 * b50):.2f} (target < 1); hits per search (median): "
          f"{statistics.median(len(h) for h in hits):.0f}; similar found (median): "  # type: ignore[arg-type]
          f"{statistics.median(len(f) for f in found):.0f}")  # type: ignore[arg-type]  # fmt: skip
    print(f"similarity check against the reference (the best 20,000 decisions sharing two "
          f"of the new proposal's 12 rarest stems): its best match found for "
          f"{best} of {warned} proposals; {agree} of its {expected} listed matches "
          f"({agree / max(expected, 1):.0%})")  # fmt: skip
    from rich.progress import Progress

    with db.session(write=False) as session:
        total = audit.count_events(session)
        with Progress(transient=True) as bar:
            task = bar.add_task("verifying", total=total)
            started = clock.perf_counter()
            report = audit.verify(session, progress=lambda n: bar.advance(task, n))
            took = clock.perf_counter() - started
    print(
        f"\nverify: {report.events:,} events in {took:.1f} s = {report.events / took:,.0f} "
        f"events/s; intact: {report.ok}; authenticated: {report.authenticated:,}"
    )
    db.dispose()


if __name__ == "__main__":
    main()
