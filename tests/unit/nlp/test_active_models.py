"""A deployment's retrained model directory overrides the shipped models."""

from __future__ import annotations

import shutil

import nlp
from nlp.sentiment import DEFAULT_MODEL_PATH, SentimentModel, load_model


def test_model_dir_overrides_the_shipped_model_and_changes_the_version(tmp_path):
    shipped_version = nlp.model_version()
    shipped = load_model()
    custom = SentimentModel.load(DEFAULT_MODEL_PATH)
    custom.neutral_threshold = 0.99  # a visibly different model
    custom.save(tmp_path / "sentiment.npz")
    try:
        nlp.use_model_dir(tmp_path)
        active = load_model()
        assert active is not shipped and active.neutral_threshold == 0.99
        assert nlp.model_version() != shipped_version
    finally:
        nlp.use_model_dir(None)
    assert load_model().neutral_threshold == shipped.neutral_threshold
    assert nlp.model_version() == shipped_version


def test_missing_files_fall_back_to_the_shipped_ones(tmp_path):
    shutil.rmtree(tmp_path)
    try:
        nlp.use_model_dir(tmp_path)
        assert nlp.sentiment_labels(["服务很好，非常满意"]) == ["positive"]
    finally:
        nlp.use_model_dir(None)


def test_a_running_process_keeps_its_model_and_version_until_told(tmp_path):
    """`nlp train` installs a model while workers run: they went on to load it at their next
    call while their results carried the version computed at start (wrong model version)."""
    try:
        nlp.use_model_dir(tmp_path)  # empty: the shipped model
        before, version = load_model(), nlp.model_version()
        custom = SentimentModel.load(DEFAULT_MODEL_PATH)
        custom.neutral_threshold = 0.99
        custom.save(tmp_path / "sentiment.npz")  # installed by a retraining elsewhere
        assert load_model() is before and nlp.model_version() == version
        assert nlp.analyze("服务很好").model_version == version
        nlp.use_model_dir(tmp_path)  # (a restart)
        assert load_model().neutral_threshold == 0.99 and nlp.model_version() != version
    finally:
        nlp.use_model_dir(None)
