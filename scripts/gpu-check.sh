#!/usr/bin/env bash
# scripts/gpu-check.sh: check gpumesh on a machine with an NVIDIA GPU.
#
# Needs: bin/gpumesh built beforehand (make build, on any machine of the same OS and
# architecture; or GPUMESH_BIN=path), python3 with PyTorch on CUDA ($PYTHON), the NVIDIA
# driver. No Go toolchain, no internet. Runs in under 8 minutes; every step has a timeout.
#
#   1. prerequisites: the binary, PyTorch seeing a CUDA device
#   2. real NVML inventory and telemetry (gpumesh gpu --json)
#   3. the version 2 proof helper (scripts/prover/gpumesh_prover.py) against the GPU's own
#      class: measured throughput against the class table (must pass)
#   4. the same helper claiming a bigger class (must fail)
#   5. a two-node network on loopback: a process job running a PyTorch matmul on its assigned
#      GPU (prints CUDA_VISIBLE_DEVICES), and the receipts (gpumesh receipts --json)
#
# Figures go to bench/gpu-results.json; the script prints PASS/FAIL per step and exits 1 if any
# step failed. GPUMESH_GPU_CHECK_SKIP_NETWORK=1 skips step 5. GPUMESH_GPU_CHECK_CPU=1 is a dry
# run of the script itself on a machine without a GPU: the CPU helper (gpumesh prover) against a
# scaled-down class, and a CPU process job; its figures say nothing about a GPU.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
BIN=${GPUMESH_BIN:-$ROOT/bin/gpumesh}
PY=${PYTHON:-python3}
HELPER=$ROOT/scripts/prover/gpumesh_prover.py
OUT=$ROOT/bench/gpu-results.json
WORK=$(mktemp -d "${TMPDIR:-/tmp}/gpumesh-gpu-check.XXXXXX")
CPU=${GPUMESH_GPU_CHECK_CPU:-}
PIDS=()
FAILED=0
STEPS=()

cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
}
trap cleanup EXIT

pass() { STEPS+=("$1=pass"); echo "PASS  $1: $2"; }
fail() { STEPS+=("$1=fail"); FAILED=1; echo "FAIL  $1: $2"; }

# ---- 1. prerequisites
if [[ ! -x $BIN ]]; then
	fail prerequisites "no gpumesh binary at $BIN (build it with 'make build' first, or set GPUMESH_BIN)"
	exit 1
fi
if ! PY_ABS=$(command -v "$PY"); then
	fail prerequisites "no $PY"
	exit 1
fi
HELPER_ARGS=(--test-helper "$HELPER")
POOL=gpu
if [[ $CPU == 1 ]]; then
	HELPER_ARGS=(--test-helper "$BIN" --helper-arg prover --helper-arg --max-n=256 --helper-arg --max-pool=64 --n 256)
	POOL=cpu
	OUT=$WORK/gpu-results.json # a dry run's figures are not a GPU's
	pass prerequisites "dry run on the CPU: $BIN, $PY_ABS"
elif ! timeout 120 "$PY_ABS" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 3); ' >"$WORK/torch.log" 2>&1; then
	fail prerequisites "PyTorch with CUDA not usable from $PY_ABS: $(tail -1 "$WORK/torch.log")"
	exit 1
else
	pass prerequisites "$BIN, $PY_ABS with torch $("$PY_ABS" -c 'import torch; print(torch.__version__, torch.cuda.get_device_name(0))')"
fi

# ---- 2. inventory and telemetry
CLASS=""
if timeout 60 "$BIN" gpu --json --data-dir "$WORK/inv" >"$WORK/gpu.json" 2>"$WORK/gpu.err"; then
	CLASS=$("$PY_ABS" - "$WORK/gpu.json" <<'EOF'
import json, sys
inv = json.load(open(sys.argv[1]))
inv = inv.get("inventory", inv)
gpus = [d for d in inv.get("devices", []) if d.get("pool") == "gpu"]
print(gpus[0]["class"] if gpus else "")
EOF
)
fi
if [[ $CPU == 1 ]]; then
	CLASS=test-cpu
	pass inventory "dry run: $(head -c 300 "$WORK/gpu.json")"
elif [[ -n $CLASS ]]; then
	pass inventory "NVML sees class $CLASS ($(grep -c '"uuid"' "$WORK/gpu.json") devices with UUIDs)"
else
	fail inventory "gpumesh gpu --json found no NVIDIA GPU: $(head -c 300 "$WORK/gpu.err" "$WORK/gpu.json" 2>/dev/null)"
fi

# ---- 3. the proof helper at its own class
if [[ -n $CLASS ]]; then
	OWN=(--class "$CLASS")
	[[ $CPU == 1 ]] && OWN+=(--expected 1e9)
	if timeout 180 "$BIN" prover --json "${HELPER_ARGS[@]}" "${OWN[@]}" >"$WORK/prover.json" 2>"$WORK/prover.err"; then
		pass prover "$("$PY_ABS" -c 'import json,sys; r=json.load(open(sys.argv[1])); print("%s: %.1f TFLOP/s measured, %.2f x the class table (needs %.2f); %d products of n=%d" % (r["class"], r["throughput_flops"]/1e12, r["ratio_to_expected"], 0.75, r["products"], r["n"]))' "$WORK/prover.json")"
	else
		fail prover "helper at class $CLASS: $(tail -c 400 "$WORK/prover.err") $(tail -c 400 "$WORK/prover.json" 2>/dev/null)"
	fi
fi

# ---- 4. claiming a bigger class must fail
BIGGER=B200-180GB
EXPECTED_ARGS=(--class "$BIGGER")
if [[ $CLASS == B200* ]]; then
	EXPECTED_ARGS=(--class 4xB200 --expected 4e15)
elif [[ $CPU == 1 ]]; then
	EXPECTED_ARGS=(--class 100x-test-cpu --expected 1e11)
fi
if timeout 180 "$BIN" prover --json "${HELPER_ARGS[@]}" "${EXPECTED_ARGS[@]}" >"$WORK/bigger.json" 2>"$WORK/bigger.err"; then
	fail bigger-class "claiming ${EXPECTED_ARGS[*]} passed"
else
	result=$("$PY_ABS" -c 'import json,sys; print(json.load(open(sys.argv[1]))["result"])' "$WORK/bigger.json" 2>/dev/null || echo "no verdict")
	if [[ $result == too-slow || $result == timeout ]]; then
		pass bigger-class "claiming ${EXPECTED_ARGS[*]}: $result"
	else
		fail bigger-class "claiming ${EXPECTED_ARGS[*]}: $result $(tail -c 300 "$WORK/bigger.err")"
	fi
fi

# ---- 5. a two-node network and a GPU process job
wait_ready() { # log file, seconds
	local i
	for ((i = 0; i < $2 * 2; i++)); do
		grep -q "gpumesh: node ready" "$1" 2>/dev/null && return 0
		sleep 0.5
	done
	return 1
}
network() {
	if [[ $CPU == 1 ]]; then
		cat >"$WORK/torchmm.py" <<'EOF'
import os
print("CUDA_VISIBLE_DEVICES=%s" % os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"), flush=True)
print("matmul: dry run, no torch", flush=True)
EOF
	else
		cat >"$WORK/torchmm.py" <<'EOF'
import os, time, torch
print("CUDA_VISIBLE_DEVICES=%s" % os.environ.get("CUDA_VISIBLE_DEVICES", "<unset>"), flush=True)
print("devices visible to torch: %d (%s)" % (torch.cuda.device_count(), torch.cuda.get_device_name(0)), flush=True)
a = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
b = torch.randn(8192, 8192, device="cuda", dtype=torch.float16)
torch.cuda.synchronize(); t = time.time(); n = 0
while time.time() - t < 10:
    c = a @ b; n += 1
torch.cuda.synchronize(); dt = time.time() - t
print("matmul: %d x 8192^3 fp16 in %.2f s: %.1f TFLOP/s" % (n, dt, 2 * 8192**3 * n / dt / 1e12), flush=True)
EOF
	fi
	mkdir -p "$WORK/p" "$WORK/r"
	cat >"$WORK/p.toml" <<EOF
profile = "test"
[offer]
executors = ["wasm", "process"]
[executor]
commands = ["torchmm=$PY_ABS $WORK/torchmm.py"]
max_memory_mb = 262144 # CUDA reserves a large address space: the cap must not break it
[proof]
helper = "$HELPER"
EOF
	"$BIN" run --profile test --headless --data-dir "$WORK/p" --config "$WORK/p.toml" --listen /ip4/127.0.0.1/tcp/0 >"$WORK/p.log" 2>&1 &
	PIDS+=($!)
	wait_ready "$WORK/p.log" 60 || { fail network "provider not ready: $(tail -c 400 "$WORK/p.log")"; return; }
	addr=$(timeout 30 "$BIN" id --json --data-dir "$WORK/p" | "$PY_ABS" -c 'import json,sys; r=json.load(sys.stdin); print([a for a in r["addrs"] if "/127.0.0.1/" in a][0])')
	"$BIN" run --profile test --headless --data-dir "$WORK/r" --listen /ip4/127.0.0.1/tcp/0 --bootstrap "$addr" >"$WORK/r.log" 2>&1 &
	PIDS+=($!)
	wait_ready "$WORK/r.log" 60 || { fail network "requester not ready: $(tail -c 400 "$WORK/r.log")"; return; }
	local i
	for ((i = 0; i < 60; i++)); do
		timeout 20 "$BIN" offers --json --data-dir "$WORK/r" "pool=$POOL" >"$WORK/offers.json" 2>/dev/null && grep -q "\"$POOL\"" "$WORK/offers.json" && break
		sleep 1
	done
	if timeout 240 "$BIN" submit --command torchmm --gpus 1 --pool "$POOL" --workers 1 --duration 10m --data-dir "$WORK/r" >"$WORK/submit.log" 2>&1 &&
		grep -q "CUDA_VISIBLE_DEVICES=" "$WORK/submit.log"; then
		pass gpu-job "$(grep -E 'CUDA_VISIBLE_DEVICES=|matmul:' "$WORK/submit.log" | tr '\n' ' ')"
	else
		fail gpu-job "$(tail -c 600 "$WORK/submit.log")"
	fi
	if timeout 60 "$BIN" receipts --json --data-dir "$WORK/r" >"$WORK/receipts.json" 2>&1; then
		pass receipts "$(head -c 1500 "$WORK/receipts.json")"
	else
		fail receipts "$(tail -c 400 "$WORK/receipts.json")"
	fi
	timeout 20 "$BIN" offers --data-dir "$WORK/r" >"$WORK/offers.txt" 2>&1 && cat "$WORK/offers.txt"
}
if [[ ${GPUMESH_GPU_CHECK_SKIP_NETWORK:-} != 1 ]]; then
	network
fi

# ---- figures
mkdir -p "$(dirname "$OUT")"
"$PY_ABS" - "$WORK" "$OUT" "${STEPS[@]}" <<'EOF'
import json, os, sys, time
work, out, steps = sys.argv[1], sys.argv[2], sys.argv[3:]
def load(name):
    try:
        with open(os.path.join(work, name)) as f:
            return json.load(f)
    except Exception:
        return None
def text(name):
    try:
        with open(os.path.join(work, name)) as f:
            return f.read()[-4000:]
    except Exception:
        return None
res = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "steps": dict(s.split("=", 1) for s in steps),
       "gpu": load("gpu.json"), "prover": load("prover.json"), "bigger_class": load("bigger.json"),
       "gpu_job_log": text("submit.log"), "receipts": load("receipts.json")}
with open(out, "w") as f:
    json.dump(res, f, indent=2)
print("figures written to", out)
EOF
if ((FAILED)); then
	echo "gpu-check: some steps FAILED (work files in $WORK)"
	exit 1
fi
echo "gpu-check: all steps passed"
