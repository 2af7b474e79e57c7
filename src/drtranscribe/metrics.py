"""Prometheus metrics, for those who run the service outside Cloud Run (which reads the
log-based metrics under deploy/monitoring/ instead). Served at ``/metrics``.

One registry per app (``Metrics``), not the global default, so two apps in one process
(tests) do not collide. No label ever carries patient data.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 60.0)
BREAKER_STATE = {"closed": 0, "half_open": 1, "open": 2}


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.chunks = Counter(
            "drt_chunks_total",
            "Audio chunks, by outcome (acked, rejected, transcribed, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.stage_latency = Histogram(
            "drt_stage_latency_seconds",
            "Latency by pipeline stage (stt_interim, stt_final, extraction) and provider.",
            ["stage", "provider"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.chunk_to_transcript = Histogram(
            "drt_chunk_to_transcript_seconds",
            "From a chunk's arrival to its first transcript event.",
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.breaker_state = Gauge(
            "drt_breaker_state",
            "Circuit breaker per provider: 0 closed, 1 half-open, 2 open.",
            ["chain", "provider"],
            registry=self.registry,
        )
        self.chain_last_resort = Gauge(
            "drt_chain_last_resort",
            "1 while every provider of the chain but its last is out (breaker not closed).",
            ["chain"],
            registry=self.registry,
        )
        self.provider_failures = Counter(
            "drt_provider_failures_total",
            "Provider call failures by category.",
            ["chain", "provider", "category"],
            registry=self.registry,
        )
        self.source_problems = Counter(
            "drt_source_problems_total",
            "Clients reporting their input went missing: captions off, not found (the "
            "meeting page changed), or quiet while the meeting had sound.",
            ["status"],
            registry=self.registry,
        )
        self.loop_lag = Histogram(
            "drt_event_loop_lag_seconds",
            "How late the event loop ran a 50 ms wake-up: the stall every session waited out.",
            buckets=(0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.loop_lag_max = Gauge(
            "drt_event_loop_lag_max_seconds",
            "The longest event-loop stall since the process started.",
            registry=self.registry,
        )
        self.active_sessions = Gauge(
            "drt_active_sessions", "WebSocket sessions streaming on this instance.",
            registry=self.registry,
        )  # fmt: skip
