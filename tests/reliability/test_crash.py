"""The crash suite, small run: SIGKILL a worker doing regie operations (and draining the
outbox to a real SMTP sink) at random moments; nothing acknowledged is lost, nothing is
doubled, every notice arrives (a second copy only for a message in flight at a kill).

The large run is ``bench/crash.py``; the driver and its accounting are in
``crash_driver.py``. The accounting itself is tested on made-up histories below, so a
lost or doubled operation cannot slip through unnoticed."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from reliability.budget import CRASH_KILLS, CRASH_OPERATIONS, CRASH_SEED
from reliability.crash_driver import Op, account, account_mail, run_crash


@pytest.mark.slow
def test_crash_run(tmp_path: Path) -> None:
    report = run_crash(tmp_path, operations=CRASH_OPERATIONS, kills=CRASH_KILLS, seed=CRASH_SEED)
    print("\n".join(f"crash: {name}: {value}" for name, value in report.figures()))
    assert report.kills == CRASH_KILLS
    assert report.operations >= CRASH_OPERATIONS
    assert report.bad_outputs == []  # no traceback, "database is locked" or internal error
    assert report.lost == []  # every acknowledged operation is in the database ...
    assert report.doubled == []  # ... exactly once, and nothing else is
    assert report.orphaned == 0
    assert report.check_problems == []  # `regie check` clean at the end ...
    assert report.unclean_after_kill == []  # ... and right after every kill
    assert report.chain.startswith("intact")
    mail = report.mail
    assert mail.undelivered == []  # every queued notice reached the sink
    assert mail.bad_duplicates == []  # at most twice, twice only if in flight at a kill
    assert mail.unknown == []
    assert mail.duplicates == mail.duplicates_in_flight
    # the run did real work: enough operations acknowledged, mail sent, kills mid-operation
    assert report.acknowledged > CRASH_OPERATIONS // 2
    assert mail.expected > 0 and mail.delivered == mail.expected
    assert report.kills_in_flight > CRASH_KILLS // 3
    assert report.ok


def _op(n: int, key: str, pos: int, action: str, kind: str = "advance") -> Op:
    return Op(n, kind, [], "coordinator", "2026-11-23T10:00", key, pos, action)


def test_accounting_finds_lost_and_doubled() -> None:
    p = "proposal:P-2026-001"
    submit = _op(0, "title:T", 0, "submitted", "submit")
    acked = [submit, _op(1, p, 1, "advanced"), _op(2, p, 2, "advanced")]
    events = {"title:T": ["submitted"], p: ["submitted", "advanced", "advanced"]}
    ok = account(events, acked, [])
    assert (ok.present, ok.lost, ok.doubled) == (3, [], [])

    lost = account({"title:T": ["submitted"], p: ["submitted", "advanced"]}, acked, [])
    assert len(lost.lost) == 1 and "op 2" in lost.lost[0]

    doubled = account({**events, p: [*events[p], "advanced"]}, acked, [])
    assert len(doubled.doubled) == 1 and "event 3" in doubled.doubled[0]

    twice = account({**events, "title:T": ["submitted", "submitted"]}, acked, [])
    assert len(twice.doubled) == 1

    wrong = account({**events, p: ["submitted", "advanced", "returned"]}, acked, [])
    assert len(wrong.lost) == 1 and len(wrong.doubled) == 1

    # an operation in flight at a kill may have committed or not, but only once
    flight = _op(3, p, 3, "decided", "decide")
    committed = account({**events, p: [*events[p], "decided"]}, acked, [flight])
    assert (committed.lost, committed.doubled, committed.in_flight_committed) == ([], [], 1)
    assert account(events, acked, [flight]).in_flight_committed == 0
    again = account({**events, p: [*events[p], "decided", "decided"]}, acked, [flight])
    assert len(again.doubled) == 1

    # two acknowledged operations on one slot: the first one's event was lost
    later = _op(4, p, 2, "advanced")
    assert len(account(events, [*acked, later], []).lost) == 1


def test_mail_accounting() -> None:
    rows: list[tuple[int, str, str | None, str | None]] = [
        (1, "sent", "<a>", None),
        (2, "sent", "<b>", None),
        (3, "digested", None, None),
        (4, "failed", "<d>", "refused"),
    ]
    good = account_mail(rows, Counter({"<a>": 1, "<b>": 2, "<d>": 1}), {"<b>"})
    assert (good.expected, good.delivered, good.duplicates, good.duplicates_in_flight) == (
        3,
        3,
        1,
        1,
    )
    assert good.undelivered == good.bad_duplicates == good.unknown == []
    bad = account_mail(rows, Counter({"<a>": 2, "<b>": 3, "<x>": 1}), {"<b>"})
    assert len(bad.bad_duplicates) == 2  # <a> twice without a kill, <b> three times
    assert len(bad.undelivered) == 1 and "row 4" in bad.undelivered[0]
    assert bad.unknown == ["<x>"]
