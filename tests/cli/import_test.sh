#!/usr/bin/env bash
# zeta data import: real Fashion-MNIST IDX files, CSV, and every kind of bad input.
source "$(dirname "$0")/common.sh"

export FMNIST
import_slice 500 fm.h5
h5ls fm.h5/train/visible | grep -q "{500, 784}" || fail "train/visible is not 500x784"
h5ls fm.h5/test/labels | grep -q "{500}" || fail "test/labels is not 500 long"
/usr/bin/python3 - <<'PY' || fail "h5py cannot read the data file as expected"
import gzip, h5py, numpy as np, os
f = h5py.File("fm.h5", "r")
v = f["train/visible"][:]
assert v.dtype == np.uint8 and set(np.unique(v)) <= {0, 1}
raw = gzip.open(os.environ["FMNIST"] + "/train-images-idx3-ubyte.gz").read()
pixels = np.frombuffer(raw, np.uint8, offset=16)[: 500 * 784].reshape(500, 784)
assert (v == (pixels / 255.0 > 0.5)).all(), "threshold binarization differs"
labels = np.frombuffer(gzip.open(os.environ["FMNIST"] + "/train-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
assert (f["train/labels"][:] == labels[:500]).all()
PY

# Stochastic binarization is seeded: same seed same bits, other seed other bits.
for seed in 1 1 2; do
  "$ZETA" data import --train-images "$FMNIST/t10k-images-idx3-ubyte.gz" --limit 50 \
    --binarize stochastic --seed $seed --out "s$seed-$RANDOM.h5" 2>/dev/null
done
a=(s1-*.h5)
h5diff -q "${a[0]}" "${a[1]}" || fail "stochastic binarization with one seed differs"
! h5diff -q "${a[0]}" s2-*.h5 >/dev/null || fail "stochastic binarization ignores the seed"

# CSV with labels.
printf '3,0,255,128,10\n7,255,0,0,0\n' > ok.csv
"$ZETA" data import --train-csv ok.csv --csv-label-first --out csv.h5 2>/dev/null
h5ls csv.h5/train/visible | grep -q "{2, 4}" || fail "CSV import has the wrong shape"
# Spaces and tabs around a CSV number are ignored: the same file as without them.
printf '3 , 0,255 ,\t128\t,10\n\t7,255 , 0,0,  0\n' > blanks.csv
"$ZETA" data import --train-csv blanks.csv --csv-label-first --out blanks.h5 2>/dev/null ||
  fail "blanks around CSV numbers were refused"
h5diff -q csv.h5 blanks.h5 /train /train || fail "blanks around CSV numbers changed the import"

# --verbosity: INFO lines at the default, none at warn; --help lists it.
"$ZETA" data import --train-csv ok.csv --out v1.h5 2>info.log
grep -q "v1.h5: /train holds 2 images of 5 pixels" info.log ||
  { cat info.log; fail "no INFO line at the default verbosity"; }
"$ZETA" data import --train-csv ok.csv --out v2.h5 --verbosity warn 2>warn.log
[ ! -s warn.log ] || { cat warn.log; fail "--verbosity warn still printed lines"; }
"$ZETA" data import --help | grep -q -- "--verbosity" || fail "data import --help lacks --verbosity"

# Bad inputs: one line naming the file and the place, exit 1, no output file.
export FMNIST
cp "$FMNIST/train-labels-idx1-ubyte.gz" labels.gz
expect_error 1 "labels.gz: magic number 0x00000801 at offset 0, expected 0x00000803" \
  "$ZETA" data import --train-images labels.gz --out bad.h5
gunzip -c "$FMNIST/t10k-images-idx3-ubyte.gz" > full.idx
head -c 100000 full.idx > short.idx
expect_error 1 "short.idx: truncated at offset 100000" \
  "$ZETA" data import --train-images short.idx --out bad.h5
expect_error 1 "holds 60000 labels" \
  "$ZETA" data import --train-images "$FMNIST/t10k-images-idx3-ubyte.gz" \
  --train-labels "$FMNIST/train-labels-idx1-ubyte.gz" --out bad.h5
printf '0,1,2\n0,nan,2\n' > nan.csv
expect_error 1 "nan.csv: line 2, column 2" "$ZETA" data import --train-csv nan.csv --out bad.h5
printf '0,1,2\n0,1\n' > ragged.csv
expect_error 1 "ragged.csv: line 2 has 2 pixel values" \
  "$ZETA" data import --train-csv ragged.csv --out bad.h5
printf '0,1,256\n' > range.csv
expect_error 1 "range.csv: line 1, column 3: value 256 outside" \
  "$ZETA" data import --train-csv range.csv --out bad.h5
printf '0,1,2\n0,2 5,1\n' > inner.csv
expect_error 1 "inner.csv: line 2, column 2: '2 5' is not a finite number" \
  "$ZETA" data import --train-csv inner.csv --out bad.h5
expect_error 2 "option --out" "$ZETA" data import --train-csv ok.csv
expect_error 2 "option --verbosity: 'loud' is not one of debug, info, warn, error" \
  "$ZETA" data import --train-csv ok.csv --out bad.h5 --verbosity loud
# Labels without their images, and --limit 0, are usage errors (no empty split is written).
expect_error 2 "option --test-labels: given without --test-images" \
  "$ZETA" data import --train-images "$FMNIST/t10k-images-idx3-ubyte.gz" \
  --test-labels "$FMNIST/t10k-labels-idx1-ubyte.gz" --out bad.h5
expect_error 2 "option --train-labels: given without --train-images" \
  "$ZETA" data import --train-csv ok.csv --train-labels "$FMNIST/t10k-labels-idx1-ubyte.gz" \
  --out bad.h5
expect_error 2 "option --limit: 0 is out of range, expected at least 1" \
  "$ZETA" data import --train-images "$FMNIST/t10k-images-idx3-ubyte.gz" --limit 0 --out bad.h5
expect_error 2 "binarize" "$ZETA" data import --train-csv ok.csv --out x.h5 --binarize maybe
[ ! -e bad.h5 ] || fail "a failed import left bad.h5 behind"
ls -a | grep -q "tmp" && fail "a failed import left a temporary file"
# Bad input on 2 ranks: the same one line, exit 1, no hang.
expect_error 1 "nan.csv: line 2" run_ranks 2 data import --train-csv nan.csv --out bad.h5
echo "import_test: all checks passed"
