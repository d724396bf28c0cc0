#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Writes the King James Bible (about 4.1 MB of text, one verse per line, a blank line between chapters)
# from Debian's bible-kjv package. Not committed: run it when a larger corpus is wanted.
# The KJV text (1611) is in the public domain in most countries (in the UK it is under Crown patent).
# Usage: bash data/scripts/fetch_kjv.sh [OUT_FILE]      (default: data/target/corpora/kjv.txt)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-$here/../target/corpora/kjv.txt}"
if ! command -v bible >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    apt-get install -y -qq bible-kjv >/dev/null
  else
    echo "fetch_kjv.sh: needs the 'bible' program: sudo apt-get install -y bible-kjv" >&2
    exit 1
  fi
fi
mkdir -p "$(dirname "$out")"
# -f turns pretty-printing off: one "Book C:V text" line per verse. Drop the reference, and start a new
# paragraph whenever the chapter changes.
bible -f Gen1:1-Rev22:21 </dev/null \
  | awk '{ ref = $1; sub(/:[0-9]+$/, "", ref); $1 = ""; sub(/^ /, "");
           if (NR > 1 && ref != last) print ""; last = ref; print }' > "$out"
lines=$(grep -c . "$out")
if [ "$lines" -ne 31102 ]; then
  echo "fetch_kjv.sh: expected 31102 verses, got $lines in $out" >&2
  exit 1
fi
echo "$out: $lines verses, $(wc -c < "$out") bytes"
