"""The bare Flask handler the load benchmark compares against (served with the same gunicorn
settings): ``gunicorn -c gunicorn.conf.py -w 2 bench.bare_app:app``."""

from flask import Flask

app = Flask(__name__)


@app.post("/bare")
@app.get("/bare")
def bare() -> str:
    return "ok"
