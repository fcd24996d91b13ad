# shellcheck shell=bash
# Shared by scripts/demo and scripts/test (sourced, not run). Expects to be in the project root.

step() { printf '\n==> %s\n' "$*"; }
fail() { printf '\nERROR: %s\n' "$*" >&2; exit 1; }

# A Python 3.11 or newer: $PYTHON if set, else the first python3.x on the PATH that is new enough.
find_python() {
    local candidate
    for candidate in ${PYTHON:-} python3 python3.13 python3.12 python3.11 python; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            command -v "$candidate"
            return 0
        fi
    done
    return 1
}

# Make .venv exist and hold the project with the pinned versions from constraints.txt.
# $1: the extras to install ("" or "test"). Sets PY to the environment's python.
venv_ready() {
    local extras="$1" python stamp_file want spec
    if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python=$(find_python) || fail "Python 3.11 or newer is needed (set PYTHON=/path/to/python3.11)."
        step "Creating .venv with $("$python" --version)"
        rm -rf .venv
        "$python" -m venv .venv \
            || fail "Could not create a virtual environment. On Debian/Ubuntu: apt-get install python3-venv"
    fi
    PY="$(pwd)/.venv/bin/python"
    want=$("$PY" -c 'import hashlib, sys
h = hashlib.sha256()
for name in ("pyproject.toml", "constraints.txt"):
    h.update(open(name, "rb").read())
print(h.hexdigest())')
    # An install with the test extras also serves the demo.
    for stamp_file in .venv/.installed-test ".venv/.installed-${extras:-base}"; do
        if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$want" ]; then
            if [ -z "$extras" ] || [ "$stamp_file" = ".venv/.installed-$extras" ]; then
                return 0
            fi
        fi
    done
    spec="."
    [ -n "$extras" ] && spec=".[$extras]"
    step "Installing Wijkcoop$([ -n "$extras" ] && echo " with [$extras]") into .venv (pinned by constraints.txt)"
    "$PY" -m pip install --quiet --disable-pip-version-check -c constraints.txt -e "$spec" \
        || fail "pip install failed (see above)."
    echo "$want" >".venv/.installed-${extras:-base}"
}
