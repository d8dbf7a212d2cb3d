# Sourced by install.sh, test.sh and demo.sh: sets PY, the Python they install into and run.
#   PYTHON=/path/to/python     that interpreter, as it is
#   an active virtual environment (VIRTUAL_ENV, or python3 is a venv's)   that one
#   otherwise                  .venv in the repository, made with `python3 -m venv` on first use,
#                              so a system Python that refuses pip (PEP 668: Debian 12, Ubuntu 24.04)
#                              is never installed into
#   SLIMCOMPAT_VENV_ARGS       more arguments for `python3 -m venv`, e.g. --system-site-packages
#                              to reuse packages installed for the system Python
# Run from the repository root.
if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif [ -n "${VIRTUAL_ENV:-}" ] && [ -x "$VIRTUAL_ENV/bin/python" ]; then
  PY=$VIRTUAL_ENV/bin/python
elif ! command -v python3 >/dev/null 2>&1; then
  echo "slimcompat: python3 not found: install Python 3.9 or later, or set PYTHON=/path/to/python" >&2
  exit 1
elif python3 -c 'import sys; sys.exit(sys.prefix == sys.base_prefix)' 2>/dev/null; then
  PY=$(command -v python3)
else
  if [ ! -x .venv/bin/python ]; then
    echo "slimcompat: creating the virtual environment .venv (the system Python is left as it is)" >&2
    # shellcheck disable=SC2086  # SLIMCOMPAT_VENV_ARGS is a list of arguments
    if ! python3 -m venv ${SLIMCOMPAT_VENV_ARGS:-} .venv >/dev/null 2>&1; then
      rm -rf .venv
      echo "slimcompat: cannot create .venv: \`python3 -m venv\` is missing or incomplete; on Debian/Ubuntu:" \
           "sudo apt install python3-venv (or set PYTHON=/path/to/python of an environment pip may install into)" >&2
      exit 1
    fi
  fi
  PY=$PWD/.venv/bin/python
fi
