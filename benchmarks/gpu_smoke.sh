#!/usr/bin/env bash
# GPU smoke test: what to run in a GPU machine's first 10 minutes (benchmarks/README.md, "GPU smoke").
#
#   bash benchmarks/gpu_smoke.sh [OUTDIR]        (default runs/gpu-smoke, gitignored)
#
# In order, each step under its own time limit, going on when one fails:
#   1. env        device, memory, torch / CUDA, visible devices                      (seconds)
#   2. syncdebug  train loop under torch.cuda.set_sync_debug_mode("error")            (~1 min)
#   3. unit       the CUDA-only unit tests (no host sync in the LLC loop, artifacts) (~1 min)
#   4. bench      grokcore bench at 256 runs (Li² M=71 K=512, 200 steps; naive: 16)  (<= SMOKE_BENCH_S)
#   5. llc        benchmarks/bench_llc.py, 256 models x 500 draws                    (<= SMOKE_LLC_S)
#   6. claim      one gpu-tier claim: pytest claims -m gpu -k "$SMOKE_CLAIM_K"       (<= SMOKE_CLAIM_S)
#                 (the claim modules have no reduced gpu grid: a time-out is reported
#                 as such; its finished chunks stay in OUTDIR/smoke.sqlite, so a rerun resumes)
# then prints the figures as benchmarks/README.md tables (also in OUTDIR/table.md).
# Without CUDA it prints why and exits 0. Exit status 1 if a step other than the claim failed.
set -u
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${1:-runs/gpu-smoke}
BENCH_S=${SMOKE_BENCH_S:-150}
LLC_S=${SMOKE_LLC_S:-150}
CLAIM_S=${SMOKE_CLAIM_S:-240}
CLAIM_K=${SMOKE_CLAIM_K:-li2_wd_needed}

if ! "$PY" benchmarks/gpu_smoke.py check; then
    echo "gpu_smoke: skipped (needs a CUDA device)"
    exit 0
fi
mkdir -p "$OUT"
failed=()

step() {  # step NAME LIMIT_S CMD...: run CMD with a time limit, output to terminal and OUT/NAME.txt
    local name=$1 limit=$2
    shift 2
    echo "== $name (limit ${limit}s): $*"
    local t0=$SECONDS
    timeout --signal=INT --kill-after=15 "$limit" "$@" 2>&1 | tee "$OUT/$name.txt"
    local rc=${PIPESTATUS[0]}
    echo "== $name: exit $rc after $((SECONDS - t0))s"
    return "$rc"
}

step env 60 "$PY" benchmarks/gpu_smoke.py env || failed+=(env)
step syncdebug 120 "$PY" benchmarks/gpu_smoke.py syncdebug || failed+=(syncdebug)
step unit 120 "$PY" -m pytest -q -n 0 -p no:cacheprovider grokcore/tests/test_llc.py grokcore/tests/test_store.py \
    -k "sync or cuda" || failed+=(unit)
step bench "$BENCH_S" "$PY" -m grokcore.suite.cli bench --runs 256 --M 71 --width 512 --steps 200 --naive-runs 16 \
    --device cuda || failed+=(bench)
step llc "$LLC_S" "$PY" benchmarks/bench_llc.py --models 256 --draws 500 --device cuda || failed+=(llc)

CLAIM_CMD="pytest claims -m gpu -k $CLAIM_K"
t0=$SECONDS
timeout --signal=INT --kill-after=30 "$CLAIM_S" "$PY" -m pytest claims -m gpu -k "$CLAIM_K" -q -n 0 -p no:cacheprovider \
    --claims-device cuda --claims-store "$OUT/smoke.sqlite" --claims-report "$OUT/claims.html" 2>&1 \
    | tee "$OUT/claim.txt"
rc=${PIPESTATUS[0]}
case $rc in
    0) status=passed ;;
    124 | 130 | 137) status="timed-out(${CLAIM_S}s)" ;;
    *) status="exit-$rc" ;;
esac
{
    echo "CLAIM_CMD=$CLAIM_CMD"
    echo "CLAIM_STATUS=$status"
    echo "CLAIM_WALL_S=$((SECONDS - t0))"
} >> "$OUT/claim.txt"

echo
"$PY" benchmarks/gpu_smoke.py table "$OUT" | tee "$OUT/table.md"
if ((${#failed[@]})); then
    echo "gpu_smoke: failed steps: ${failed[*]} (logs in $OUT)"
    exit 1
fi
echo "gpu_smoke: done (logs in $OUT)"
