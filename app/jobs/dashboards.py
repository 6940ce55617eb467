"""Celery tasks for the dashboard rollups: thin wrappers over app.services.rollups."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from app.services import rollups


@shared_task(
    name="kesheng.refresh_rollups",
    autoretry_for=(Exception,),
    retry_backoff=5,
    retry_backoff_max=300,
    max_retries=5,
)
def refresh_rollups(cells: dict[str, Any]) -> int:
    """Recompute the touched (day, branch) cells; idempotent, so a retry or duplicate is safe."""
    return rollups.refresh(rollups.DirtyCells.from_json(cells))


@shared_task(name="kesheng.refresh_recent_rollups")
def refresh_recent_rollups() -> int:
    """Periodic safety net: recompute today's and yesterday's cells, so a refresh job that never
    reached the broker (a worker killed between commit and send) is made good within minutes."""
    return rollups.refresh(rollups.recent_cells())


@shared_task(name="kesheng.rebuild_rollups")
def rebuild_rollups() -> dict[str, int]:
    """Rebuild every rollup from the raw rows (e.g. nightly, or after a bulk import)."""
    return rollups.rebuild()
