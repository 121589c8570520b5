"""The printable HTML page of a dossier: the proposals' facts and decision texts, the
events with short hashes, the head, and how to check it — in Dutch or English. Jinja2,
every value escaped (``templates/dossier.html``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from typing import Any

from regie import labels
from regie.dates import format_when


@cache
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("regie.dispute", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        auto_reload=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def page(data: dict[str, Any], lang: str) -> str:
    """A printable page: the proposals' facts and decision texts, the events with short
    hashes, the head, and how to check it (in the dossier's language)."""
    by_id = {e["id"]: e for e in data["events"]}
    proposals = [
        p | {"rows": [_event_row(by_id[i], lang) for i in p["events"] if i in by_id]}
        for p in data["proposals"]
    ]
    head = data["head"]
    return str(
        _environment()
        .get_template("dossier.html")
        .render(
            lang=lang,
            t=WORDS[lang],
            title=data["title"],
            exported=_when(data["exported_at"], lang),
            search=data["search"],
            head=head | {"when": _when(head["at"], lang)},
            anchor=data["anchor"],
            proposals=proposals,
            when=lambda value: _when(value, lang),
        )
    )


def _event_row(e: dict[str, Any], lang: str) -> dict[str, Any]:
    c = e["content"]
    payload = json.loads(c["payload"])
    shown = "; ".join(
        f"{k}: {_brief(v)}" for k, v in sorted(payload.items()) if v not in (None, [])
    )
    return {
        "id": e["id"],
        "when": _when(c["at"], lang),
        "actor": c["actor"] + (f" ({c['acting_for']})" if c["acting_for"] else ""),
        "origin": f"{c['os_user']}@{c['host']}" if c.get("os_user") else "",
        "action": labels.action(c["action"], lang),
        "meeting": c["meeting"] or "",
        "details": shown,
        "prev": e["prev_hash"][:12],
        "hash": e["hash"][:12],
    }


def _brief(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _when(value: str | None, lang: str) -> str:
    if not value:
        return "-"
    return format_when(datetime.fromisoformat(value.rstrip("Z")).replace(tzinfo=UTC), lang)


WORDS: dict[str, dict[str, str]] = {
    "nl": {
        "dossier": "Dossier uit het auditlogboek",
        "exported": "Gemaakt op",
        "search": "Zoekopdracht",
        "proposal": "Voorstel",
        "purpose": "Soort",
        "table": "Tafel",
        "parties": "Betrokken partijen",
        "route": "Route",
        "state": "Stand",
        "submitted": "Ingediend",
        "summary": "Samenvatting",
        "decisions": "Besluiten",
        "version": "Versie",
        "outcome": "Uitkomst",
        "text": "Besluittekst",
        "recorded": "Vastgelegd",
        "confirmed": "Bevestigd",
        "not_confirmed": "niet bevestigd",
        "retracted": "ingetrokken",
        "events": "Gebeurtenissen (auditlogboek)",
        "when": "Wanneer",
        "who": "Wie",
        "account": "Account@machine",
        "what": "Wat",
        "meeting": "Vergadering",
        "details": "Gegevens",
        "prev": "Vorige hash",
        "hash": "Hash",
        "head": "Kop van de keten bij het maken",
        "event": "gebeurtenis",
        "anchor": "Controlegetal (audit anchor)",
        "no_anchor": "geen (geen sleutel beschikbaar bij het maken)",
        "how": "Zo controleert u dit dossier",
        "how_text": (
            "Dit is een afdruk; het controleerbare dossier is het JSON-bestand. Elke hash is "
            "SHA-256 over de inhoud van de gebeurtenis en de hash van de vorige "
            "(docs/AUDIT.md). Met regie: 'regie audit check-dossier BESTAND.json' (tegen de "
            "database) of met '--anchor CONTROLEGETAL' tegen een gepubliceerd controlegetal. "
            "Zonder regie: het script in docs/AUDIT.md rekent elke hash na. Hashes zijn hier "
            "ingekort tot 12 tekens."
        ),
        "nothing": "geen",
    },
    "en": {
        "dossier": "Dossier from the audit trail",
        "exported": "Made on",
        "search": "Search",
        "proposal": "Proposal",
        "purpose": "Kind",
        "table": "Table",
        "parties": "Concerned parties",
        "route": "Route",
        "state": "State",
        "submitted": "Submitted",
        "summary": "Summary",
        "decisions": "Decisions",
        "version": "Version",
        "outcome": "Outcome",
        "text": "Decision text",
        "recorded": "Recorded",
        "confirmed": "Confirmed",
        "not_confirmed": "not confirmed",
        "retracted": "retracted",
        "events": "Events (audit trail)",
        "when": "When",
        "who": "Who",
        "account": "Account@host",
        "what": "What",
        "meeting": "Meeting",
        "details": "Details",
        "prev": "Previous hash",
        "hash": "Hash",
        "head": "Head of the chain when made",
        "event": "event",
        "anchor": "Check number (audit anchor)",
        "no_anchor": "none (no key available when made)",
        "how": "How to check this dossier",
        "how_text": (
            "This is a print; the dossier to check is the JSON file. Each hash is SHA-256 "
            "over the event's content and the previous event's hash (docs/AUDIT.md). With "
            "regie: 'regie audit check-dossier FILE.json' (against the database) or with "
            "'--anchor ANCHOR' against a published anchor. Without regie: the script in "
            "docs/AUDIT.md recomputes every hash. Hashes are cut to 12 characters here."
        ),
        "nothing": "none",
    },
}
