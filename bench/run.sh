#!/usr/bin/env bash
# bench/run.sh: typeformer's export benchmarks, side by side in one run.
#
#   bench/run.sh                 (from anywhere; uses <repo>/build)
#
# Environment:
#   BUILD_DIR        build folder (default <repo>/build; configured with Ninja/Release if absent)
#   JOBS             parallel build jobs (default 2)
#   RUNS             repetitions of each timed command (default 3; the median is reported)
#   BENCH_THREADS    threads for OpenBLAS and ONNX Runtime in bench_reference (default 2)
#   BENCH_MIN_TIME   Google Benchmark --benchmark_min_time per repetition, seconds (default 2)
#
# Needs: cmake, ninja, GNU time (/usr/bin/time, Debian package "time"), python3
# (reads compile_commands.json and the benchmark's JSON). Writes build/bench/results.md.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${BUILD_DIR:-$repo/build}
jobs=${JOBS:-2}
runs=${RUNS:-3}
threads=${BENCH_THREADS:-2}
min_time=${BENCH_MIN_TIME:-2}
out=$build/bench
model=$out/bert-base
results=$out/results.md

[[ -x /usr/bin/time ]] || { echo "bench/run.sh: GNU time is needed at /usr/bin/time (apt-get install time)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench/run.sh: python3 is needed" >&2; exit 2; }

# -- build ---------------------------------------------------------------------
if [[ -f $build/CMakeCache.txt ]]; then
  cmake -S "$repo" -B "$build" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
else
  cmake -S "$repo" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
fi
targets=(typeformer-export typeformer-make-checkpoint)
have_bench=0
if cmake --build "$build" --target help 2>/dev/null | grep -q '^bench_reference'; then
  targets+=(bench_reference)
  have_bench=1
else
  echo "bench/run.sh: bench_reference not configured (Google Benchmark not found); skipping latency figures" >&2
fi
cmake --build "$build" -j "$jobs" --target "${targets[@]}"

exporter=$build/typeformer-export
mkdir -p "$out"
if [[ ! -f $model/model.safetensors || ! -f $model/config.json ]]; then
  "$build/bench/typeformer-make-checkpoint" "$model"
fi
model_bytes=$(stat -c %s "$model/model.safetensors")

# -- helpers -------------------------------------------------------------------
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# timed NAME CMD...: runs CMD under GNU time -v; appends "seconds kbytes" to $tmp/NAME.
timed() {
  local name=$1; shift
  if ! /usr/bin/time -v -o "$tmp/time.txt" "$@" >"$tmp/$name.log" 2>&1; then
    echo "bench/run.sh: failed: $*" >&2; cat "$tmp/$name.log" >&2; cat "$tmp/time.txt" >&2; exit 1
  fi
  awk -F': ' '
    /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; ++i) s = s * 60 + p[i] }
    /Maximum resident set size/ { kb = $2 }
    END { printf "%.3f %d\n", s, kb }' "$tmp/time.txt" >>"$tmp/$name"
}
# median NAME COLUMN: the median of a column of $tmp/NAME (1: seconds, 2: kbytes).
median() { awk -v c="$2" '{ print $c }' "$tmp/$1" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
calc() { awk "BEGIN { printf \"$1\n\", $2 }"; }

# -- export vs cp, interleaved so that the noise falls on all of them ----------
echo "== export vs cp: $runs runs each, interleaved (page cache left as it is)"
for ((r = 1; r <= runs; ++r)); do
  rm -rf "$out/export-out" "$out/cp-out" "$out/export-validated"; mkdir -p "$out/cp-out"
  timed export "$exporter" --model "$model" --no-validate "$out/export-out"
  sed -n 's/.*graph built and checked in \([0-9.e+-]*\) s.*/\1/p' "$tmp/export.log" >>"$tmp/export_graph"
  sed -n 's/.*weights written in \([0-9.e+-]*\) s.*/\1/p' "$tmp/export.log" >>"$tmp/export_weights"
  timed cp cp "$model/model.safetensors" "$out/cp-out/model.safetensors"
  rm -f "$out/cp-out/model.safetensors"
  timed cp_sync sh -c 'cp "$1" "$2" && sync "$2"' sh "$model/model.safetensors" "$out/cp-out/model.safetensors"
  timed validate "$exporter" --model "$model" "$out/export-validated"
  echo "   run $r: export $(tail -1 "$tmp/export")  cp $(tail -1 "$tmp/cp")  cp+sync $(tail -1 "$tmp/cp_sync")  export+validate $(tail -1 "$tmp/validate")  (s KB)"
done
onnx_bytes=$(stat -c %s "$out/export-out/model.onnx")
rm -rf "$out/export-out" "$out/cp-out" "$out/export-validated"

# -- compile time and memory of the exporter's translation units --------------
# bert: the BERT family's unit in the families library (every BERT feature);
# main: the command line (tools/export/main.cpp)
echo "== compiling the BERT family's unit and tools/export/main.cpp (the build's exact commands, object to a temp file)"
declare -A unit_source=([bert]="$build/typeformer_families_families/bert.cpp" [main]="$repo/tools/export/main.cpp")
for unit in bert main; do
  python3 - "$build/compile_commands.json" "${unit_source[$unit]}" "$tmp/$unit.o" >"$tmp/cc_$unit" <<'EOF'
import json, shlex, sys
db, src, obj = sys.argv[1:]
for e in json.load(open(db)):
    if e["file"] == src:
        args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        args = [a for a in args]
        i = args.index("-o"); args[i + 1] = obj
        drop = {"-MD", "-MMD"}
        out, skip = [], 0
        for a in args:
            if skip: skip -= 1; continue
            if a in ("-MT", "-MF", "-MQ"): skip = 1; continue
            if a in drop: continue
            out.append(a)
        print(e["directory"]); print(shlex.join(out)); break
else:
    sys.exit(f"no compile command for {src} in {db}")
EOF
  dir=$(sed -n 1p "$tmp/cc_$unit"); cmd=$(sed -n 2p "$tmp/cc_$unit")
  echo "   $cmd"
  (cd "$dir" && timed "compile_$unit" bash -c "$cmd")
done

# -- reference vs ONNX Runtime --------------------------------------------------
if ((have_bench)); then
  echo "== bench_reference ($threads threads for OpenBLAS and ONNX Runtime, 3 repetitions, random interleaving)"
  TYPEFORMER_BENCH_MODEL=$model TYPEFORMER_BENCH_THREADS=$threads OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads \
    "$build/bench/bench_reference" --benchmark_repetitions=3 --benchmark_enable_random_interleaving=true \
      --benchmark_min_time="$min_time" --benchmark_report_aggregates_only=true \
      --benchmark_out="$out/bench_reference.json" --benchmark_out_format=json
  python3 - "$out/bench_reference.json" >"$tmp/latency" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
ms = {b["run_name"]: b["real_time"] * {"ms": 1, "us": 1e-3, "ns": 1e-6, "s": 1e3}[b["time_unit"]]
      for b in d["benchmarks"] if b.get("aggregate_name") == "median"}
for batch in (1, 8):
    print(batch, ms[f"reference/batch:{batch}/real_time"], ms[f"onnxruntime/batch:{batch}/real_time"])
EOF
fi

# -- the table -------------------------------------------------------------------
mb() { calc "%.0f MB" "$1 / 1e6"; }
exp_s=$(median export 1); exp_kb=$(median export 2); graph_s=$(median export_graph 1); weights_s=$(median export_weights 1)
cp_s=$(median cp 1); cp_kb=$(median cp 2)
cps_s=$(median cp_sync 1)
val_s=$(median validate 1); val_kb=$(median validate 2)
{
  echo "# typeformer benchmarks: bert-base (random weights), $(date -u +%Y-%m-%d)"
  echo
  echo "Machine: $(nproc) CPUs, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo). Times are medians of $runs runs (interleaved), page cache warm."
  echo
  echo "| Figure | Value | Ratio |"
  echo "|---|---|---|"
  echo "| model.safetensors | $(mb "$model_bytes") | |"
  echo "| model.onnx written | $(mb "$onnx_bytes") | |"
  echo "| \`cp model.safetensors\` | $cp_s s, peak RSS $(calc "%.1f MB" "$cp_kb * 1024 / 1e6") | |"
  echo "| \`cp\` + \`sync\` of the copy (the exporter fsyncs) | $cps_s s | |"
  echo "| export \`--no-validate\` | $exp_s s, peak RSS $(calc "%.0f MB" "$exp_kb * 1024 / 1e6") | time $(calc "%.1fx" "$exp_s / $cp_s") cp ($(calc "%.1fx" "$exp_s / $cps_s") cp+sync); RSS $(calc "%.2fx" "$exp_kb * 1024 / $model_bytes") model size |"
  echo "| of which: graph built and checked, no weight read (exporter's log) | $(calc "%.2f" "$graph_s") s | $(calc "%.0f%%" "100 * $graph_s / $exp_s") of the export |"
  echo "| of which: weights streamed to model.onnx and fsynced (exporter's log) | $(calc "%.2f" "$weights_s") s | $(calc "%.1fx" "$weights_s / $cps_s") cp+sync |"
  echo "| export with validation | $val_s s, peak RSS $(calc "%.0f MB" "$val_kb * 1024 / 1e6") | time $(calc "%.1fx" "$val_s / $cp_s") cp; RSS $(calc "%.2fx" "$val_kb * 1024 / $model_bytes") model size |"
  for unit in bert main; do
    read -r s kb <"$tmp/compile_$unit"
    echo "| compile ${unit_source[$unit]#"$build/"} | $s s, peak $(calc "%.0f MB" "$kb * 1024 / 1e6") | |"
  done
  if ((have_bench)); then
    while read -r batch ref ort; do
      echo "| forward batch $batch x seq 128: reference / ORT | $(calc "%.0f" "$ref") ms / $(calc "%.0f" "$ort") ms | reference $(calc "%.2fx" "$ref / $ort") ORT |"
    done <"$tmp/latency"
  fi
  echo
  echo "Threads: OpenBLAS $threads, ONNX Runtime intra-op $threads (inter-op 1). Command: \`bench/run.sh\`."
} >"$results"
echo
cat "$results"
echo
echo "written: $results"
