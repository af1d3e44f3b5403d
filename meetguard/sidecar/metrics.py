"""Prometheus metrics, one registry per app. Labels are routes, statuses, outcomes and
entity types only: never a value, a file name or a header."""

from __future__ import annotations

from collections.abc import Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

__all__ = ["CONTENT_TYPE", "Metrics"]

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("meetguard_http_requests", "HTTP requests by route and status",
                                ["route", "status"], registry=r)
        self.latency = Histogram("meetguard_http_request_seconds", "HTTP request latency by route",
                                 ["route"], registry=r,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                          30, 60, 120, 300))
        self.decisions = Counter("meetguard_decisions", "Guard decisions by outcome", ["outcome"],
                                 registry=r)
        self.entities = Counter("meetguard_entities", "Redacted entities by type", ["type"],
                                registry=r)
        self.deliveries = Counter("meetguard_deliveries", "Forwarded releases by result",
                                  ["result"], registry=r)
        self.queue_depth = Gauge("meetguard_queue_depth", "Guard requests waiting for a slot",
                                 registry=r)
        self.running = Gauge("meetguard_running", "Guard requests running", registry=r)
        self.jobs = Counter("meetguard_jobs", "Async jobs by state change", ["state"], registry=r)
        self.hook_events = Counter("meetguard_hook_events", "Webhook requests by source and outcome",
                                   ["source", "outcome"], registry=r)
        self.hook_jobs = Counter("meetguard_hook_jobs", "Webhook jobs finished by source and outcome",
                                 ["source", "outcome"], registry=r)
        self.rejected = Counter("meetguard_overload_rejections", "Requests refused: queue full",
                                registry=r)

    def observe_decision(self, outcome: str, entity_counts: Mapping[str, int]) -> None:
        self.decisions.labels(outcome).inc()
        for etype, n in entity_counts.items():
            if n > 0:
                self.entities.labels(etype).inc(n)

    def render(self) -> bytes:
        return generate_latest(self.registry)
