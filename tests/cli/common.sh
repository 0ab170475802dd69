# Shared set-up of the CLI tests: sourced with the arguments that ctest passes,
#   $1 the zeta executable, $2 the Fashion-MNIST folder, $3 a scratch folder (emptied here).
set -euo pipefail
ZETA=$1
FMNIST=$2
SCRATCH=$3
MPIEXEC=${MPIEXEC:-mpirun}
# The repository (configs/, jobs/), found from this file before leaving for the scratch folder.
SOURCE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
rm -rf "$SCRATCH"
mkdir -p "$SCRATCH"
cd "$SCRATCH"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# run_ranks N args...: zeta on N ranks.
run_ranks() {
  local n=$1
  shift
  "$MPIEXEC" -n "$n" "$ZETA" "$@"
}

# import_slice N OUT: the first N train and N test images of Fashion-MNIST, with labels.
import_slice() {
  "$ZETA" data import --limit "$1" --out "$2" \
    --train-images "$FMNIST/train-images-idx3-ubyte.gz" \
    --train-labels "$FMNIST/train-labels-idx1-ubyte.gz" \
    --test-images "$FMNIST/t10k-images-idx3-ubyte.gz" \
    --test-labels "$FMNIST/t10k-labels-idx1-ubyte.gz" 2>/dev/null
}

# expect_error CODE PATTERN command...: the command exits with CODE and its error output
# holds exactly one line starting "zeta: error:" that contains PATTERN.
expect_error() {
  local code=$1 pattern=$2
  shift 2
  local rc=0
  "$@" >"$SCRATCH/out.txt" 2>"$SCRATCH/err.txt" || rc=$?
  [ "$rc" -eq "$code" ] || { cat "$SCRATCH/err.txt" >&2; fail "exit $rc, expected $code: $*"; }
  local lines
  lines=$(grep -c "error:" "$SCRATCH/err.txt" || true)
  [ "$lines" -eq 1 ] || { cat "$SCRATCH/err.txt" >&2; fail "$lines error lines, expected 1: $*"; }
  grep -q -- "$pattern" "$SCRATCH/err.txt" ||
    { cat "$SCRATCH/err.txt" >&2; fail "no '$pattern' in the error of: $*"; }
}

# same_model A B: the two model files hold bitwise identical parameters and training state.
same_model() {
  h5diff -q "$1" "$2" /model /model || fail "$1 and $2 differ in /model"
  h5diff -q "$1" "$2" /train/velocity /train/velocity || fail "$1 and $2 differ in velocity"
  h5diff -q "$1" "$2" /train/chains /train/chains || fail "$1 and $2 differ in chains"
}

# metric FILE ROW COLUMN: a field of metrics.csv (ROW 1 is the first data row).
metric() {
  awk -F, -v row="$(($2 + 1))" -v col="$3" \
    'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i } NR == row { print $c }' "$1"
}
