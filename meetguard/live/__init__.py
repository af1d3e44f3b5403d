"""Live meetings (docs/live.md): Zoom's Realtime Media Streams and a generic ingest feed,
guarded item by item while the meeting happens, to subscribers and forwarders.

A room of its own: the sidecar mounts it (``meetguard.live.routes.mount``) when the
config has a ``live`` section; the library never imports it. Modules:
``config`` (the sections), ``rtms_protocol`` (the wire messages, pure),
``rtms_client`` (one RTMS session on aiohttp's WebSocket client), ``meeting`` (who is
who, the decision per item, the audit record), ``hub`` (channels and subscribers),
``sessions`` (the running meetings and streams), ``routes`` (HTTP).
"""
