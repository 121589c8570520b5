"""Quality of the similar-decision warning (issue 19): recall and precision on a test set
of Dutch proposals on the five focus points of seed 002 (``tests/data/similar_proposals.toml``).

The "earlier" proposals are decided and confirmed through the engine on a real SQLite
file; each "later" proposal is compared with them by
:func:`regie.dispute.revisits.similar_decisions`. A warning naming the earlier proposal
on the same subject is a true positive; any other name it gives is a false positive.
"""

from __future__ import annotations

import time
import tomllib
from pathlib import Path
from typing import Any

from regie.dispute.revisits import THRESHOLD, similar_decisions
from regie.engine import attendance, decisions

DATA = Path(__file__).resolve().parents[1] / "data" / "similar_proposals.toml"


def load_set() -> list[dict[str, Any]]:
    return list(tomllib.loads(DATA.read_text(encoding="utf-8"))["proposal"])


def decide_all(world: Any, items: list[dict[str, Any]]) -> dict[str, str]:
    """Submit, route to the top meeting, decide and confirm each item; key -> proposal id."""
    pids = {
        item["key"]: world.submit(
            "adoption",
            title=item["title"],
            summary=item["summary"],
            focus_point=item["focus"],
            not_related=True,
        )
        for item in items
    }
    world.to_final_together(*pids.values())
    oogo = world.body_id("oogo")
    for item in items:
        pid = pids[item["key"]]
        meeting = world.show(pid)["meeting"]
        for party in world.show(pid)["parties"]:
            world.call(
                attendance.record_attendance,
                meeting_id=meeting,
                person=world.mandated(party, oogo),
                status="present",
            )
        world.call(decisions.decide, proposal_id=pid, outcome="adopted", text=item["decision"])
        world.call(decisions.confirm, proposal_id=pid, actor=world.chair("oogo"), version=1)
    return pids


def test_the_warning_finds_revisits_and_stays_silent_otherwise(world: Any) -> None:
    items = load_set()
    earlier = [i for i in items if i["role"] == "earlier"]
    later = [i for i in items if i["role"] == "later"]
    assert len(items) >= 40 and len(later) >= 20
    pids = decide_all(world, earlier)
    key_of = {pid: key for key, pid in pids.items()}
    true_pos = false_pos = false_neg = 0
    misses: list[str] = []
    took: list[float] = []
    with world.db.session(write=False) as session:
        for item in later:
            start = time.perf_counter()
            found = similar_decisions(
                session, item["title"], item["summary"], focus_point=item["focus"]
            )
            took.append(time.perf_counter() - start)
            named = {key_of[s.id] for s in found}
            expected = {item["same"]} if "same" in item else set()
            true_pos += len(named & expected)
            false_pos += len(named - expected)
            false_neg += len(expected - named)
            if named != expected:
                misses.append(
                    f"{item['key']}: expected {sorted(expected)}, got "
                    + ", ".join(f"{key_of[s.id]} ({s.score:.2f})" for s in found)
                )
    recall = true_pos / (true_pos + false_neg)
    precision = true_pos / (true_pos + false_pos) if true_pos + false_pos else 1.0
    report = (
        f"similar-decision warning on {len(later)} later proposals against {len(earlier)} "
        f"decisions (threshold {THRESHOLD}): recall {recall:.2f}, precision {precision:.2f}, "
        f"{1000 * max(took):.1f} ms per check at most ({1000 * sum(took) / len(took):.1f} "
        "on average)"
    )
    print("\n" + report + "".join(f"\n  {m}" for m in misses))
    assert recall >= 0.9 and precision >= 0.8, report + "; " + "; ".join(misses)
