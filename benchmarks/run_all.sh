#!/usr/bin/env bash
# Run every benchmark in sequence from the repository root; the exit status is non-zero if any target
# was missed (each script prints which). Generated inputs are cached in benchmarks/.cache/.
#   benchmarks/run_all.sh            # default repetitions
#   REPS=3 benchmarks/run_all.sh     # fewer repetitions for the CPU tier
set -u
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
status=0
echo "== bench_cpu_tier ==";  "$PY" benchmarks/bench_cpu_tier.py --reps "${REPS:-5}" || status=1
echo "== bench_memory ==";    "$PY" benchmarks/bench_memory.py || status=1
echo "== bench_batch ==";     "$PY" benchmarks/bench_batch.py || status=1
echo "== bench_transcript =="; "$PY" benchmarks/bench_transcript.py || status=1
echo "== bench_diarization =="; "$PY" benchmarks/bench_diarization.py || status=1
echo "== bench_vision ==";    "$PY" benchmarks/bench_vision.py || status=1
echo "== bench_text_reuse =="; "$PY" benchmarks/bench_text_reuse.py || status=1
echo "== bench_embeddings =="; "$PY" benchmarks/bench_embeddings.py || status=1
echo "== bench_vector_store =="; "$PY" benchmarks/bench_vector_store.py || status=1
echo "== bench_throughput =="; "$PY" benchmarks/bench_throughput.py --executor forkserver multiprocess in_process || status=1
echo "== bench_startup ==";   "$PY" benchmarks/bench_startup.py || status=1
echo "== bench_cuts ==";      "$PY" benchmarks/bench_cuts.py --presets balanced accurate || status=1
echo "== bench_timeline ==";  "$PY" benchmarks/bench_timeline.py || status=1
exit $status
