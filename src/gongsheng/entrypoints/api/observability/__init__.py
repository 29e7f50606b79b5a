"""What an operator watches: request ids, JSON log lines, Prometheus metrics, health and readiness.

- :mod:`.requests`: the pure ASGI middleware that gives every HTTP request an id (a sane client
  ``X-Request-ID`` or a new one), echoes it, and times the request by its route template;
- :mod:`.logs`: log records as JSON lines carrying the id of the request they were written in;
- :mod:`.metrics`: the Prometheus metrics and their exposition (multiprocess under ``serve``);
- :mod:`.workers`: the metrics directory ``serve --workers N`` shares between its workers;
- :mod:`.health`: ``GET /healthz``, ``GET /readyz`` and ``GET /metrics``.

Nothing here imports ``prometheus_client`` at package import: ``serve`` must point
``PROMETHEUS_MULTIPROC_DIR`` at the shared directory before the client library is first loaded.
"""
