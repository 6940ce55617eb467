"""Celery tasks for text analysis: thin wrappers over app.services.analysis."""

from __future__ import annotations

import logging

from celery import shared_task

from app.jobs import broker
from app.models import AnalysisStatus
from app.services import analysis

log = logging.getLogger(__name__)


class AnalysisFailed(RuntimeError):
    """Raised so that Celery retries the job with back-off."""


@shared_task(
    bind=True,
    name="kesheng.analyze_text",
    autoretry_for=(AnalysisFailed,),
    retry_backoff=5,
    retry_backoff_max=600,
    max_retries=analysis.MAX_ATTEMPTS,
)
def analyze_text(self, source_type: str, source_id: int) -> str:
    """Analyse one text; idempotent (running it twice stores the same result)."""
    row = analysis.analyze_source(source_type, source_id)
    # Inline (no broker) retries would run back to back inside the request; there the failed
    # row simply waits for the periodic sweep or ``flask nlp analyze``.
    if row.status == AnalysisStatus.FAILED and not self.request.is_eager:
        raise AnalysisFailed(row.last_error or "analysis failed")
    return str(row.status)


@shared_task(name="kesheng.analyze_texts")
def analyze_texts(items: list[list]) -> int:
    """Analyse the texts saved in one short window with one batched model call; when the batch
    fails, each text gets its own ``analyze_text`` job (with its retries)."""
    pairs = [(str(t), int(i)) for t, i in items]
    try:
        return analysis.analyze_batch(pairs)
    except Exception:
        log.exception("batched analysis of %d texts failed; queuing them one by one", len(pairs))
    for pair in pairs:
        broker.send(analyze_text, pair)
    return 0


@shared_task(name="kesheng.analyze_pending")
def analyze_pending() -> int:
    """Periodic catch-up: analyse what is still pending or failed (e.g. after a broker outage)."""
    return analysis.analyze_in_batches(analysis.work_list(), 200)
