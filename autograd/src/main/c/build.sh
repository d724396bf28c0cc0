#!/usr/bin/env sh
# Compiles every *.c here into libspindle_kernels.so under OUT (the module's classes folder, so the library ships
# inside the jar), against the JNI headers of the JDK at JAVA_HOME. Called by Maven (autograd/pom.xml).
# The flags keep IEEE float semantics, which the kernels' bitwise equality with torch and with the Java path
# needs: -ffp-contract=off (no fused multiply-add, which rounds once instead of twice), no -ffast-math.
# -mavx2 matches ND4J's linux-x86_64-avx2 natives, which the project already requires.
# Without gcc the library is skipped with a warning and the Java kernels run (NativeKernels.whyNot says so).
set -eu
out="$1/spindle/native/linux-x86_64"
jdk="$2"
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v gcc >/dev/null 2>&1; then
  echo "[spindle] gcc not found: building without the native kernels (the Java kernels run instead)" >&2
  exit 0
fi
case "$(uname -m)" in
  x86_64) ;;
  *) echo "[spindle] native kernels are built for x86_64 only; the Java kernels run on $(uname -m)" >&2; exit 0 ;;
esac
mkdir -p "$out"
gcc -std=c11 -O3 -mavx2 -ffp-contract=off -fno-math-errno -fPIC -shared -Wall -Werror \
  -I"$jdk/include" -I"$jdk/include/linux" -o "$out/libspindle_kernels.so" "$here"/*.c -lm
