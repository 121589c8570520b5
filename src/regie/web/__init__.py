"""The web service behind the links in regie's mails (issue 17).

Chairs confirm decisions, members answer invitations and sign in to the read-only portal
through links that carry one opaque token each (:mod:`regie.web.links`). Pages are plain
HTML from Jinja2 templates in the person's language, no JavaScript; only a POST changes
anything. ``regie serve`` runs this app with the outbox sender in one process.
"""
