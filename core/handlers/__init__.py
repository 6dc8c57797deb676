"""Use-case handlers, one module per job: load, decide, record. Pure apart from the ports given.

Callers go through `core.bus.handle`, which picks the handler for a command and then dispatches
the events it recorded.
"""
