# shellcheck shell=bash
# Sourced by the scripts: make sure Python deps (in .venv) and Chromium are there.
# Installs only what is missing, so a second run starts at once.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${PERFMON_VENV:-$ROOT/.venv}"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1  # perfmon uses Debian's Chromium; never download one

say() { printf 'perfmon: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi
}

apt_install() {
  # apt_install PKG...: install Debian packages that are not there yet.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "missing ${missing[*]} and no apt-get here; install them by hand"
  say "installing ${missing[*]} (apt)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null \
    || die "apt-get update failed; run it by hand (as root) and try again"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "could not install ${missing[*]}; run: sudo apt-get install ${missing[*]}"
}

ensure_python() {
  local py="${PYTHON:-python3}"
  command -v "$py" >/dev/null || die "python3 is not installed; install Python 3.11 or newer"
  "$py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "perfmon needs Python 3.11+, found $("$py" -V)"
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$py" -m venv "$VENV" || die "could not create $VENV; install python3-venv"
  fi
  local stamp="$VENV/.perfmon-installed" want
  want="$(sha1sum < "$ROOT/pyproject.toml" | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing Python dependencies into $VENV"
    "$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
    "$VENV/bin/python" -m pip install -q -e "${ROOT}[demo,dev,postgres,supabase]" || die "pip install failed (see above)"
    echo "$want" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

ensure_chromium() {
  if [ -n "${PERFMON_CHROMIUM:-}" ]; then return 0; fi
  if [ -x /usr/lib/chromium/chromium-headless-shell ] || command -v chromium >/dev/null; then return 0; fi
  apt_install chromium-headless-shell
}
