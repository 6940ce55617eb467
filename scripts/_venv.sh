# Sourced by the scripts: make sure .venv exists with the given requirements file installed.
ensure_venv() {
  local requirements="$1"
  if [ ! -x .venv/bin/python ]; then
    if ! python3 -m venv .venv 2>/dev/null; then
      echo "python3-venv is missing; installing it with apt-get" >&2
      apt-get update -qq && apt-get install -y -qq python3-venv
      python3 -m venv .venv
    fi
  fi
  local stamp=".venv/.installed-$(basename "$requirements")"
  if [ ! -f "$stamp" ] || [ "$requirements" -nt "$stamp" ] || [ requirements.txt -nt "$stamp" ]; then
    .venv/bin/python -m pip install -q --upgrade pip
    .venv/bin/python -m pip install -q -r "$requirements"
    touch "$stamp"
  fi
}
