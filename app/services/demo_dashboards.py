"""Demo data for the dashboards: topics discovered from the demo texts, rollups counting them.

Runs once the demo texts are analysed; idempotent, since topics are only discovered while none
are stored and the voice rollup is recomputed, not added to.
"""

from __future__ import annotations

import logging

from app.services import dashboard_voice, rollups

log = logging.getLogger(__name__)


def seed() -> None:
    """Discover topics in the analysed demo texts (once) and count them in the voice rollup."""
    if dashboard_voice.latest_model() is None and dashboard_voice.discover_topics() is None:
        log.info("too few analysed texts to discover topics")
        return
    rollups.rebuild(["voice"])
