#!/usr/bin/env bash
# Executes every notebooks/*.ipynb headless with a real Java kernel (rapaio-jupyter-kernel on JShell)
# against the project's built jars. Installs what is missing: Debian's Jupyter packages, the kernel
# jar (through Maven) and a kernelspec under notebooks/target/jupyter. Executed copies go to
# notebooks/target/executed/ (the committed notebooks are not touched, unless --update). Exits non-zero,
# naming the notebook and the cell, when any cell fails, when a cell tagged "image" displays no PNG, or
# when a committed notebook does not carry its outputs.
# Usage: bash notebooks/run.sh [--update] [notebook.ipynb ...]
#   --update  write each notebook that ran cleanly back over the committed one, outputs included
#   env CELL_TIMEOUT (default 600 s per cell), NOTEBOOK_THREADS (ND4J/OpenMP threads, default 1)
set -euo pipefail
update=()
if [ "${1:-}" = --update ]; then update=(--update); shift; fi
nb_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$nb_dir")"
target="$nb_dir/target"
kernel_version=3.0.1  # the newest on Maven Central; its classes are Java 17 (class file 61)
kernel_jar="$target/kernel/rapaio-jupyter-kernel-$kernel_version.jar"
kernel_dir="$target/jupyter/kernels/spindle-java"
python=/usr/bin/python3  # Debian's, where apt puts nbclient (not a pyenv/venv python)

if ! "$python" -c 'import nbclient, nbformat, jupyter_client' 2>/dev/null || ! command -v jupyter-nbconvert >/dev/null; then
  echo "notebooks: installing Debian's Jupyter packages" >&2
  apt_get=apt-get; [ "$(id -u)" -eq 0 ] || apt_get="sudo apt-get"
  $apt_get update -qq
  DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq python3-nbclient python3-nbformat \
    python3-jupyter-client jupyter-nbconvert >/dev/null
fi

if [ ! -f "$kernel_jar" ]; then
  echo "notebooks: fetching rapaio-jupyter-kernel $kernel_version" >&2
  mvn -q -B -Dstyle.color=never org.apache.maven.plugins:maven-dependency-plugin:3.7.1:copy \
    -Dartifact="io.github.padreati:rapaio-jupyter-kernel:$kernel_version" \
    -DoutputDirectory="$target/kernel" -f "$root/pom.xml" -N
fi

# Build the jars when one is missing or older than a source file of its own module (package only: never
# touch ~/.m2 snapshots). Module by module: Maven leaves an unchanged module's jar with its old time, so
# comparing every source with the oldest jar rebuilt everything on each run.
cp_file="$root/recipes/target/classpath.txt"
jars_stale() {
  local src module jar
  [ -f "$cp_file" ] || return 0
  for src in "$root"/*/src/main; do
    module="${src%/src/main}"
    jar="$(ls "$module"/target/spindle-*.jar 2>/dev/null | grep -v -e '-sources.jar$' -e '-tests.jar$' | head -1 || true)"
    [ -n "$jar" ] && [ -z "$(find "$src" -newer "$jar" -print -quit)" ] || return 0
  done
  return 1
}
if jars_stale; then
  echo "notebooks: building the project jars" >&2
  (cd "$root" && mvn -q -B -Dstyle.color=never -DskipTests package) >&2
fi

# Classpath: every module jar, then the runtime jars recipes resolved. RJK_CLASSPATH is split on ';'.
module_jars="$(ls "$root"/*/target/spindle-*.jar | grep -v -e '-sources.jar$' -e '-tests.jar$')"
classpath="$( { echo "$module_jars"; tr ':' '\n' < "$cp_file"; } | awk 'NF && !seen[$0]++' | paste -sd ';')"

mkdir -p "$kernel_dir" "$target/executed"
CLASSPATH_JSON="$classpath" KERNEL_JAR="$kernel_jar" OMP_THREADS="${NOTEBOOK_THREADS:-1}" "$python" - "$kernel_dir/kernel.json" <<'PY'
import json, os, sys
spec = {
    "display_name": "Java (Spindle)",
    "language": "java",
    "interrupt_mode": "message",
    "argv": ["java", "-Xmx6g", "-XX:+UseParallelGC", "-jar", os.environ["KERNEL_JAR"], "{connection_file}"],
    "env": {
        "RJK_CLASSPATH": os.environ["CLASSPATH_JSON"],
        "RJK_COMPILER_OPTIONS": "",      # the kernel's default asks for Java 22 preview features
        "RJK_TIMEOUT_MILLIS": "-1",      # the runner enforces the per-cell timeout
        "RJK_INIT_SCRIPT": "",
        # The notebooks' models are small: one ND4J thread beats two (whose OpenMP spin-waits
        # collapse when the machine is busy, 4x slower measured under load).
        "OMP_NUM_THREADS": os.environ["OMP_THREADS"],
        "OMP_WAIT_POLICY": "PASSIVE",    # as ./spindle: waiting OpenMP threads sleep, not spin
    },
}
with open(sys.argv[1], "w") as f:
    json.dump(spec, f, indent=1)
PY

export JUPYTER_PATH="$target/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
if [ $# -gt 0 ]; then notebooks=("$@"); else notebooks=("$nb_dir"/*.ipynb); fi
exec "$python" "$nb_dir/execute.py" --kernel spindle-java --timeout "${CELL_TIMEOUT:-600}" \
  --out "$target/executed" "${update[@]}" "${notebooks[@]}"
