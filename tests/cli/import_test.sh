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

# 'zeta data --help': the subcommands, one line each, exit 0; without one, a usage error.
"$ZETA" data --help >help.txt 2>help.err || { cat help.err; fail "zeta data --help failed"; }
[ ! -s help.err ] || { cat help.err; fail "zeta data --help wrote to standard error"; }
grep -q "^Usage: zeta data <subcommand>" help.txt || fail "zeta data --help: no usage line"
[ "$(grep -c "^  import " help.txt)" -eq 1 ] || fail "zeta data --help: no line for import"
expect_error 2 "zeta data: expected the subcommand 'import'" "$ZETA" data

# An existing file that is no output of data import is refused before any work and kept:
# an HDF5 file of another program, a raw IDX label file, a CSV, an earlier data file.
/usr/bin/python3 -c "import h5py; h5py.File('foreign.h5', 'w')['x'] = [1, 2, 3]"
gunzip -c "$FMNIST/t10k-labels-idx1-ubyte.gz" > labels.idx
for target in foreign.h5 labels.idx ok.csv fm.h5; do
  before=$(md5sum < "$target")
  case $target in
    foreign.h5) holds="foreign.h5 holds an HDF5 file without a Zeta format, expected a new file" ;;
    labels.idx) holds="labels.idx holds binary data of 10008 bytes (not HDF5 or PNG)" ;;
    ok.csv) holds="ok.csv holds text whose first line is '3,0,255,128,10'" ;;
    fm.h5) holds="fm.h5 holds a Zeta data file; Zeta never overwrites one" ;;
  esac
  expect_error 2 "option --out: $holds" \
    "$ZETA" data import --train-images "$FMNIST/t10k-images-idx3-ubyte.gz" --out "$target"
  expect_error 2 "option --out: $holds" run_ranks 2 data import \
    --train-images "$FMNIST/t10k-images-idx3-ubyte.gz" --out "$target"
  [ "$(md5sum < "$target")" = "$before" ] || fail "a refused import changed $target"
done

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

# IDX headers that lie, gzipped and plain: one line naming the input file, exit 1.
/usr/bin/python3 - <<'PY'
import gzip, struct
def idx(name, magic, dims, payload):
    data = struct.pack(">%dI" % (1 + len(dims)), magic, *dims) + bytes(payload)
    open(name + ".idx", "wb").write(data)
    gzip.open(name + ".idx.gz", "wb").write(data)
idx("huge", 0x803, [0xFFFFFFFF, 28, 28], 3 * 784)  # 3.4 TB claimed, 3 images there
idx("overflow", 0x803, [1, 65536, 65536], 100)  # 2^32 pixels an image
idx("empty", 0x803, [0, 28, 28], 0)
idx("five", 0x803, [5, 2, 2], 20)
idx("three_labels", 0x801, [3], 3)
PY
# one_line_error CODE PATTERN command...: expect_error, and nothing else on standard error.
one_line_error() {
  expect_error "$@"
  [ "$(wc -l <"$SCRATCH/err.txt")" -eq 1 ] || { cat "$SCRATCH/err.txt"; fail "not one line: $*"; }
}
for z in "" .gz; do
  one_line_error 1 "huge.idx$z: truncated at offset 2368: its header claims 4294967295 images of \
28x28 (3367254359280 bytes of pixels), the file holds 2352 bytes of pixels (3 whole images)" \
    "$ZETA" data import --train-images "huge.idx$z" --out bad.h5
  one_line_error 1 "overflow.idx$z: image size 65536x65536 in the header is 4294967296 pixels, \
expected at most 2147483647 pixels per image" \
    "$ZETA" data import --train-images "overflow.idx$z" --out bad.h5
  one_line_error 1 "empty.idx$z: holds no images" \
    "$ZETA" data import --train-images "empty.idx$z" --out bad.h5
  one_line_error 1 "empty.idx$z: holds no images" \
    "$ZETA" data import --train-images five.idx --test-images "empty.idx$z" --out bad.h5
  one_line_error 1 "three_labels.idx$z: holds 3 labels, five.idx holds 5 images; expected one" \
    "$ZETA" data import --train-images five.idx --train-labels "three_labels.idx$z" --limit 2 \
    --out bad.h5
done
# --limit hides no mismatch of images and labels, and messages give the files' real counts.
for limit in 5000 20000; do
  one_line_error 1 "t10k-labels-idx1-ubyte.gz: holds 10000 labels, $FMNIST/train-images-idx3-\
ubyte.gz holds 60000 images; expected one label per image" \
    "$ZETA" data import --train-images "$FMNIST/train-images-idx3-ubyte.gz" \
    --train-labels "$FMNIST/t10k-labels-idx1-ubyte.gz" --limit $limit --out bad.h5
done
[ ! -e bad.h5 ] || fail "a failed import left bad.h5 behind"
ls -a | grep -q "tmp" && fail "a failed import left a temporary file"
# Bad input on 2 ranks: the same one line, exit 1, no hang.
expect_error 1 "nan.csv: line 2" run_ranks 2 data import --train-csv nan.csv --out bad.h5
echo "import_test: all checks passed"
