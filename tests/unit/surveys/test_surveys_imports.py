"""The survey engine stays pure: importing it pulls in neither Flask nor SQLAlchemy."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_import_does_not_pull_in_flask_or_sqlalchemy():
    code = (
        "import sys, surveys, surveys.contact, surveys.templates\n"
        "surveys.templates.list_templates()\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'sqlalchemy'))\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == ""
