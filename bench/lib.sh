# What the side-by-side bench scripts share (sourced, not run): the build
# folder and the exporter in it, the measuring wrapper and the readers of
# its results, and the table rows. A script sets `repo` and sources this.
#
# Environment: BUILD_DIR (default build), PYTHON (makes checkpoints, default
# .venv-fixtures5/bin/python), OPTIMUM_PYTHON (optimum-onnx, default
# .venv-clients/bin/python; its rows are skipped if absent).
build=${BUILD_DIR:-$repo/build}
python=${PYTHON:-$repo/.venv-fixtures5/bin/python}
optimum_python=${OPTIMUM_PYTHON:-$repo/.venv-clients/bin/python}
out=$build/bench
mkdir -p "$out"

if [ ! -d "$build" ] || [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
cmake --build "$build" -j2 --target typeformer-export >/dev/null
exporter=$build/typeformer-export

# measure --json FILE -- COMMAND...: wall time and peak memory of COMMAND (bench/peak_memory.py)
measure() { python3 "$repo/bench/peak_memory.py" "$@"; }
# field FILE KEY: one value of measure's JSON
field() { python3 -c "import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print('' if v is None else v)" "$1" "$2"; }
# size_gb DIR: the size of the ONNX files (and their external data) in DIR, in GB
size_gb() { python3 -c "import sys; print(f'{int(sys.argv[1]) / 1e9:.2f}')" "$(du -cb "$1"/*.onnx* | tail -1 | cut -f1)"; }
# from a typeformer-export log: the weights' write time, the verdict, the largest validation difference
written_in() { grep -o 'weights written in [0-9.]* s' "$1" | grep -o '[0-9.]* s' || true; }
verdict_of() { grep -q '^All good' "$1" && echo "All good" || echo "exit $2"; }
worst_diff() { grep -o 'max diff: [0-9.e+-]*' "$1" | awk '{print $3}' | sort -g | tail -1; }

rows=()
add() { rows+=("$1"); echo "$1" >&2; }
