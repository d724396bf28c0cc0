#!/usr/bin/env bash
# Measures what data parallelism over MPI costs a training step on this machine: `spindle bench` on one process
# against two (each on the config's whole batch, one OpenMP thread each, so a rank does the work of the single
# process), over Open MPI's shared memory and over TCP on the loopback interface, with the default 25 MB
# all-reduce buckets and with 2 MB ones; and the bare MPI_Allreduce of the same bytes in a C program
# (allreduce_time.c, built with mpicc: apt-get install libopenmpi-dev).
#
# Usage: recipes/mpi/measure-overhead.sh [BENCH_CONFIG]   (default ../shared/bench/configs/tiny-llama.json)
# Prints each run's JSON line, then a Markdown table; the load average comes first and last, since on a shared
# machine the step times say as much about the other jobs as about MPI.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
config="$(realpath "${1:-$root/../shared/bench/configs/tiny-llama.json}")"
command -v mpicc >/dev/null || { echo "measure-overhead.sh: mpicc is missing (apt-get install libopenmpi-dev)" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mpicc -O2 -o "$work/allreduce_time" "$root/recipes/mpi/allreduce_time.c"
# One thread per process in every run, so the single process does what each rank of two does.
python3 -c 'import json, sys; c = json.load(open(sys.argv[1])); c["train"]["threads"] = 1; json.dump(c, open(sys.argv[2], "w"))' \
  "$config" "$work/config.json"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_oob_tcp_if_include=lo
mpi=(mpirun -np 2 --oversubscribe --bind-to none -x OMP_NUM_THREADS=1)
tcp=(-x OMPI_MCA_btl=self,tcp -x OMPI_MCA_btl_tcp_if_include=lo)
echo "load before: $(uptime)"
"$root/spindle" --help >/dev/null   # builds once, outside the timings

bench() {   # LABEL then the command; keeps the JSON line in $work/LABEL
  local label="$1"; shift
  "$@" bench --config "$work/config.json" --replicas 1 2>"$work/$label.err" | grep '^{"impl": "spindle"' > "$work/$label" \
    || { echo "$label failed:" >&2; cat "$work/$label.err" >&2; exit 1; }
  echo "$label: $(cat "$work/$label")"
}
field() { grep -o "\"$2\": [0-9.eE+-]*" "$work/$1" | head -1 | cut -d' ' -f2; }

bench np1 "$root/spindle"
bench shm "${mpi[@]}" "$root/spindle"
bench shm2 "${mpi[@]}" -x SPINDLE_BUCKET_MB=2 "$root/spindle"
bench tcp "${mpi[@]}" "${tcp[@]}" "$root/spindle"
bench tcp2 "${mpi[@]}" "${tcp[@]}" -x SPINDLE_BUCKET_MB=2 "$root/spindle"
floats=$(( $(field np1 params) ))
"${mpi[@]}" "$work/allreduce_time" "$floats" 20 > "$work/bare_shm"
"${mpi[@]}" "${tcp[@]}" "$work/allreduce_time" "$floats" 20 > "$work/bare_tcp"
echo "bare shm: $(cat "$work/bare_shm")"
echo "bare tcp: $(cat "$work/bare_tcp")"

echo
echo "| run | step ms (median) | step ms over np 1 | MB all-reduced | in MPI_Allreduce ms | waited ms | hidden | bare MPI_Allreduce ms (median / min) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
np1=$(field np1 step_ms_median)
echo "| np 1 | $np1 | | | | | | |"
for run in shm shm2 tcp tcp2; do
  bare="bare_${run%2}"
  step=$(field $run step_ms_median)
  bare_cell=""
  [ "$run" = shm ] || [ "$run" = tcp ] && bare_cell="$(field $bare median_ms) / $(field $bare min_ms)"
  printf '| np 2 %s%s | %s | %+.1f | %s | %s | %s | %s | %s |\n' "${run%2}" "$([ "${run: -1}" = 2 ] && echo ', 2 MB buckets' || echo ', 25 MB buckets')" \
    "$step" "$(echo "$step - $np1" | bc -l)" "$(field $run allreduce_mb_per_step)" "$(field $run allreduce_ms_per_step)" \
    "$(field $run comm_wait_ms_per_step)" "$(field $run comm_hidden_share)" "$bare_cell"
done
echo
echo "load after: $(uptime)"
