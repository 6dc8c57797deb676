"""Slack: Events API / Socket Mode intake, Block Kit cards and modals.

inbound.py turns Slack payloads into intakes, render.py turns core Cards and ticket types into
Block Kit, escape.py keeps user text inert, types.py documents the payloads.
"""
