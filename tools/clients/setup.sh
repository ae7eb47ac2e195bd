#!/usr/bin/env bash
# Creates (or refreshes) .venv-clients: Optimum's ORTModelFor* classes on
# Transformers 4.57 (what optimum-onnx 0.1.0 supports), for
# tools/clients/*.py. torch comes from .venv-fixtures5 (made by
# tools/fixtures/setup.sh --transformers5), so it is installed once.
#
#   tools/clients/setup.sh                      # venv at <repo>/.venv-clients
#   CLIENTS_VENV=/tmp/c tools/clients/setup.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${CLIENTS_VENV:-$repo/.venv-clients}"
base="$repo/.venv-fixtures5"
if [ ! -x "$base/bin/python" ]; then
  echo "setup.sh: the clients take torch from $base: run tools/fixtures/setup.sh --transformers5 first" >&2
  exit 2
fi
if [ ! -x "$venv/bin/python" ]; then
  echo "setup.sh: creating venv $venv" >&2
  /usr/bin/python3 -m venv "$venv"
fi
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
"$base/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' >"$site/zz_fixtures5.pth"
"$venv/bin/python" -m pip install --disable-pip-version-check --quiet --no-deps \
  -r "$repo/tools/fixtures/requirements-457.txt" -r "$here/requirements.txt"
"$venv/bin/python" - <<'PY'
import sys
import onnxruntime, torch, transformers
from optimum.onnxruntime import ORTModelForCausalLM  # noqa: F401
if transformers.__version__ != "4.57.6":
    sys.exit(f"setup.sh: transformers {transformers.__version__} imported, wanted 4.57.6")
print(f"setup.sh: ok  transformers {transformers.__version__}  onnxruntime {onnxruntime.__version__}  "
      f"torch {torch.__version__}  venv {sys.prefix}")
PY
