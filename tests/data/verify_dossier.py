"""Check a regie dossier (docs/AUDIT.md) with the Python standard library only:
python verify_dossier.py DOSSIER.json [ANCHOR]; exit 0 when it holds, 1 naming the problem."""

import hashlib
import json
import sys


def problem(dossier, anchor=None):
    head, held = dossier["head"], {}
    for e in dossier["events"]:
        text = json.dumps(e["content"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != e["hash"]:
            return f"event {e['id']}: its content does not match its hash"
        link = held.get(e["id"] - 1, {}).get("hash", e["content"]["prev"])
        if e["content"]["prev"] != e["prev_hash"] or link != e["prev_hash"]:
            return f"event {e['id']}: its link to the previous event is broken"
        held[e["id"]] = e
    top = held.get(head["id"], head)
    if top["hash"] != head["hash"] or max(held, default=0) > head["id"]:
        return f"the head (event {head['id']}) does not fit the events"
    for d in (d for p in dossier["proposals"] for d in p["decisions"]):
        payload = json.loads(held[d["event"]]["content"]["payload"]) if d["event"] in held else {}
        if payload.get("version") != d["version"] or payload.get("text") != d["text"]:
            return f"decision version {d['version']}: its text is not what its event records"
    count, prefix = anchor.split("-")[:2] if anchor else (head["id"], head["hash"])
    if int(count) != head["id"] or not head["hash"].startswith(prefix):
        return f"the head (event {head['id']}) is not the anchor's"


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        found = problem(json.load(f), *sys.argv[2:3])
    print(found or "dossier intact", file=sys.stderr if found else sys.stdout)
    sys.exit(1 if found else 0)
