"""The web pages chat platforms link to: a ticket's card, a ticket type's form.

The web chat (adapters/webchat) opens `/?ticket=KEY` as that ticket's card and `/?new=TYPE` as
that type's form, in the signed-in person's direct room; a link to the REST API instead would
ask the reader for an API token.
"""

from __future__ import annotations

from urllib.parse import quote


def ticket_page(base_url: str, ticket_key: str) -> str:
    return f"{base_url.rstrip('/')}/?ticket={quote(ticket_key, safe='')}"


def form_page(base_url: str, type_id: str) -> str:
    return f"{base_url.rstrip('/')}/?new={quote(type_id, safe='')}"


__all__ = ["form_page", "ticket_page"]
