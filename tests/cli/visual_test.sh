#!/usr/bin/env bash
# zeta sample, score and inspect, and the pictures of training, on a model trained briefly
# on a real Fashion-MNIST slice. PNGs are decoded by a reader independent of libpng (Python's
# zlib and the PNG filters written out below); scores are checked against h5py/numpy.
source "$(dirname "$0")/common.sh"

# png_info FILE: "WIDTH HEIGHT CHANNELS FIRST_PIXEL" of an 8-bit gray or RGB PNG, after
# inflating and unfiltering every row (a broken file fails here).
png_info() {
  /usr/bin/python3 - "$1" <<'PY'
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "no PNG signature"
pos, idat, header = 8, b"", None
while pos < len(data):
    length, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + length]
    crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
    assert zlib.crc32(kind + body) == crc, "bad chunk checksum"
    if kind == b"IHDR":
        header = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + length
width, height, depth, color = header[:4]
assert depth == 8 and color in (0, 2), f"unexpected depth {depth} / color type {color}"
channels = 1 if color == 0 else 3
raw = zlib.decompress(idat)
stride = width * channels
assert len(raw) == height * (stride + 1), "pixel data of the wrong size"
rows, previous = [], bytearray(stride)
for r in range(height):
    kind, line = raw[r * (stride + 1)], bytearray(raw[r * (stride + 1) + 1:(r + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - channels] if i >= channels else 0
        b = previous[i]
        c = previous[i - channels] if i >= channels else 0
        if kind == 1: line[i] = (line[i] + a) & 255
        elif kind == 2: line[i] = (line[i] + b) & 255
        elif kind == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        else: assert kind == 0, f"bad filter {kind}"
    rows.append(line)
    previous = line
print(width, height, channels, rows[0][0])
PY
}

# expect_png FILE WIDTH HEIGHT CHANNELS [FIRST_PIXEL]
expect_png() {
  local info
  info=$(png_info "$1") || fail "$1 does not decode"
  local want="$2 $3 $4"
  [ "${info% *}" = "$want" ] || fail "$1 is '$info', expected '$want ...'"
  [ -z "${5:-}" ] || [ "${info##* }" = "$5" ] || fail "$1 starts with pixel ${info##* }, not $5"
}

import_slice 1000 fm.h5

# A brief run: 16 hidden units (a 4 x 4 grid of filters, and log Z exact by enumeration),
# filters every 2 epochs.
"$ZETA" train --data fm.h5 --run_dir run --hidden 16 --epochs 3 --batch 20 --shards 2 \
  --learning_rate 0.05 --filters_every 2 2>train.log || { cat train.log; fail "training failed"; }
# Grids: 1 pixel of padding (gray 64) around 28 x 28 tiles.
expect_png run/filters.png $((4 * 28 + 5)) $((4 * 28 + 5)) 1 64
expect_png run/filters/epoch-0002.png $((4 * 28 + 5)) $((4 * 28 + 5)) 1 64
[ "$(ls run/filters)" = "epoch-0002.png" ] || fail "filters every 2 epochs of 3: $(ls run/filters)"
expect_png run/learning_curve.png $((2 * 480 + 3 * 4)) $((2 * 300 + 3 * 4)) 3 200
# Output to a file: periodic progress lines, not a bar.
grep -q "epoch 1: 50/50 (100%)" train.log || fail "no progress line in the training log"
grep -q $'\r' train.log && fail "a progress bar went to a file"

# zeta sample: 16 chains in a 4 x 4 grid, the same on 1 and 2 ranks.
"$ZETA" sample --model run/model.h5 --chains 16 --burn-in 50 --steps 2 --png s1.png \
  --out-h5 s1.h5 >sample.out 2>sample.log
expect_png s1.png $((4 * 28 + 5)) $((4 * 28 + 5)) 1 64
grep -q "sampling: 52/52 (100%)" sample.log || fail "no progress line of sampling"
run_ranks 2 sample --model run/model.h5 --chains 16 --burn-in 50 --steps 2 --png s2.png \
  --out-h5 s2.h5 >/dev/null 2>&1
h5diff -q s1.h5 s2.h5 /samples /samples || fail "samples differ between 1 and 2 ranks"
cmp -s s1.png s2.png || fail "sample pictures differ between 1 and 2 ranks"
/usr/bin/python3 - <<'PY' || fail "the sample file is not as documented"
import h5py, numpy as np
f = h5py.File("s1.h5", "r")
v, m = f["samples/visible"][:], f["samples/means"][:]
assert v.shape == (2, 16, 784) and v.dtype == np.uint8 and set(np.unique(v)) <= {0, 1}
assert m.shape == (16, 784) and (m >= 0).all() and (m <= 1).all()
assert f.attrs["format"] in (b"zeta-samples", "zeta-samples")
PY
# Snapshots from data starts: one row per chain, one column per snapshot.
"$ZETA" sample --model run/model.h5 --chains 3 --burn-in 20 --snapshots 5 --start data \
  --data fm.h5 --split test --png snap.png --out-h5 snap.h5 >/dev/null 2>&1
expect_png snap.png $((5 * 28 + 6)) $((3 * 28 + 4)) 1 64
h5ls snap.h5/samples/snapshots | grep -q "{5, 3, 784}" || fail "snapshots are not 5 x 3 x 784"

# zeta score: the same CSV on 1 and 2 ranks; log p = -F - log Z; AUROC as numpy counts it.
"$ZETA" score --model run/model.h5 --data fm.h5 --split test --out sc1.csv --logz 10 \
  --normal-class 1 >score.out 2>/dev/null
run_ranks 2 score --model run/model.h5 --data fm.h5 --split test --out sc2.csv --logz 10 \
  --normal-class 1 --chunk 300 >score2.out 2>/dev/null
cmp -s sc1.csv sc2.csv || fail "scores differ between 1 and 2 ranks"
cmp -s <(head -n -1 score.out) <(head -n -1 score2.out) ||
  fail "the score summaries differ between 1 and 2 ranks"
grep -q "per class:" score.out || fail "no per-class means in the summary"
AUROC=$(sed -n 's/^AUROC of F .*: \([0-9.]*\)$/\1/p' score.out)
[ -n "$AUROC" ] || { cat score.out; fail "no AUROC in the summary"; }
AUROC=$AUROC /usr/bin/python3 - <<'PY' || fail "the scores or the AUROC are wrong"
import csv, os, h5py, numpy as np
rows = list(csv.DictReader(open("sc1.csv")))
f = np.array([float(r["free_energy"]) for r in rows])
logp = np.array([float(r["log_p"]) for r in rows])
labels = np.array([int(r["label"]) for r in rows])
data = h5py.File("fm.h5", "r")
assert (labels == data["test/labels"][:]).all() and len(rows) == 1000
assert np.allclose(logp, -f - 10, rtol=0, atol=1e-9)
# F recomputed in double from the model. Float products of 784 terms of |F| below 10^3:
# rounding stays below 1e-4, a wrong formula is off by far more than 1e-3.
m = h5py.File("run/model.h5", "r")
W, b, c = (m["model/" + k][:].astype(np.float64)
           for k in ("weights", "visible_bias", "hidden_bias"))
v = data["test/visible"][:].astype(np.float64)
x = v @ W + c
exact = -v @ b - (np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))).sum(axis=1)
assert np.abs(exact - f).max() < 1e-3, np.abs(exact - f).max()
# AUROC by counting all (anomaly, normal) pairs, ties as one half.
anomaly, normal = f[labels != 1], f[labels == 1]
d = anomaly[:, None] - normal[None, :]
expected = ((d > 0).sum() + 0.5 * (d == 0).sum()) / d.size
assert abs(expected - float(os.environ["AUROC"])) < 1e-6, (expected, os.environ["AUROC"])
PY
# log Z from files: a text file, and the exact results of 'zeta logz' next to the model.
echo 10 > logz.txt
"$ZETA" score --model run/model.h5 --data fm.h5 --out sc3.csv --logz-file logz.txt >/dev/null 2>&1
cmp -s <(cut -d, -f3 sc1.csv) <(cut -d, -f3 sc3.csv) ||
  fail "--logz-file (text) differs from --logz"
"$ZETA" logz --model run/model.h5 --method exact >/dev/null 2>&1 || fail "zeta logz failed"
"$ZETA" score --model run/model.h5 --data fm.h5 --out sc.h5 --logz-file run/model.logz.h5 \
  >score.h5.out 2>/dev/null
grep -q "log Z = .* (exact, run/model.logz.h5)" score.h5.out || fail "no exact log Z in the summary"
/usr/bin/python3 - <<'PY' || fail "log p with the exact log Z is wrong"
import h5py, numpy as np
m = h5py.File("run/model.h5", "r")
W, b, c = (m["model/" + k][:].astype(np.float64)
           for k in ("weights", "visible_bias", "hidden_bias"))
# log Z = logsumexp over the 2^16 hidden states of c.h + sum_i softplus(b_i + (W h)_i).
h = ((np.arange(1 << 16)[:, None] >> np.arange(16)) & 1).astype(np.float64)
terms = np.concatenate([
    hh @ c + np.logaddexp(0, b + hh @ W.T).sum(axis=1) for hh in np.split(h, 16)])
log_z = terms.max() + np.log(np.exp(terms - terms.max()).sum())
s = h5py.File("sc.h5", "r")["scores"]
f, logp = s["free_energy"][:], s["log_p"][:]
assert f.shape == (1000,) and abs(s.attrs["log_z"] - log_z) < 1e-6, (s.attrs["log_z"], log_z)
assert np.abs(logp - (-f - log_z)).max() < 1e-6
# An average log-likelihood of binary images lies between 784 log(1/2) and 0.
assert -784 * np.log(2) < logp.mean() < 0, logp.mean()
PY

# zeta inspect: every kind of file, and a run directory with log Z results next to the model.
"$ZETA" inspect run/model.h5 >inspect.out || fail "inspect of the model failed"
for want in "784 visible x 16 hidden" "status: completed (train)" "metrics.csv: 4 rows" \
  "filters.png (117 x 117)" "log Z results in run/model.logz.h5:" "this model" \
  "exact        log Z = " "/model/weights" "float32 \[784, 16\]"; do
  grep -q "$want" inspect.out || { cat inspect.out; fail "inspect of the model lacks '$want'"; }
done
"$ZETA" inspect run | grep -q "Run directory run" || fail "inspect of the run directory"
"$ZETA" inspect fm.h5 | grep -q "split train: 1000 rows x 784 visible units (images 28 x 28)" ||
  fail "inspect of the data file"
"$ZETA" inspect s1.h5 | grep -q "Zeta samples" || fail "inspect of the sample file"
"$ZETA" inspect sc.h5 | grep -q "log_z_method: exact" || fail "inspect of the score file"
"$ZETA" inspect run/model.logz.h5 | grep -q "Zeta log Z results" || fail "inspect of log Z"
"$ZETA" inspect s1.png | grep -q "PNG image, 117 x 117 pixels, gray" || fail "inspect of a PNG"
"$ZETA" inspect sc1.csv | grep -q "CSV table, 1000 rows" || fail "inspect of a CSV file"
for command in sample score inspect; do
  "$ZETA" $command --help | grep -q "^Usage: zeta $command" || fail "zeta $command --help"
  "$ZETA" $command --help | grep -q -- "--verbosity" || fail "zeta $command --help: no --verbosity"
done
# Outputs: running a command again replaces its own earlier output; an existing file of
# another kind is refused before any work (exit 2, one line naming it, on every rank) and kept.
cp s1.png s1.before.png
"$ZETA" sample --model run/model.h5 --chains 16 --burn-in 50 --steps 2 --png s1.png \
  --out-h5 s1.h5 >/dev/null 2>&1 || fail "sample could not replace its own outputs"
cmp -s s1.png s1.before.png || fail "sample run again drew another picture"
h5diff -q s1.h5 s2.h5 /samples /samples || fail "sample run again wrote other samples"
cp sc1.csv sc1.before.csv
"$ZETA" score --model run/model.h5 --data fm.h5 --split test --out sc1.csv --logz 10 \
  --normal-class 1 >/dev/null 2>&1 || fail "score could not replace its own CSV"
cmp -s sc1.csv sc1.before.csv || fail "score run again wrote other scores"
"$ZETA" score --model run/model.h5 --data fm.h5 --out sc.h5 >/dev/null 2>&1 ||
  fail "score could not replace its own HDF5 scores"
printf 'name,value\nkeep,1\n' > keep.csv
echo "not a picture" > fake.png
for case in "score|--out|keep.csv|text whose first line is 'name,value', expected a new file \
or a CSV file with the header 'row,free_energy,label' to replace" \
  "score|--out|sc1.csv|text whose first line is 'row,free_energy,log_p,label', expected a new \
file or a CSV file with the header 'row,free_energy,label'" \
  "score|--out|s1.h5|an HDF5 file of format zeta-samples, expected a new file or a zeta-scores \
HDF5 file to replace" \
  "sample|--out-h5|keep.csv|text whose first line is 'name,value', expected a new file or a \
zeta-samples HDF5 file to replace" \
  "sample|--out-h5|sc.h5|an HDF5 file of format zeta-scores, expected a new file or a \
zeta-samples HDF5 file" \
  "sample|--png|sc.h5|an HDF5 file of format zeta-scores, expected a new file or a PNG image" \
  "sample|--png|fake.png|text whose first line is 'not a picture', expected a new file or a PNG \
image to replace" \
  "sample|--png|sc1.csv|text whose first line is 'row,free_energy,log_p,label', expected a new \
file or a PNG image"; do
  IFS='|' read -r command option target holds <<<"$case"
  if [ "$command" = score ]; then
    args=(score --model run/model.h5 --data fm.h5 "$option" "$target")
  else
    args=(sample --model run/model.h5 --chains 2 --burn-in 1 --steps 1 "$option" "$target")
  fi
  before=$(md5sum < "$target")
  expect_error 2 "option $option: $target holds $holds" "$ZETA" "${args[@]}"
  expect_error 2 "option $option: $target holds $holds" run_ranks 2 "${args[@]}"
  [ "$(md5sum < "$target")" = "$before" ] || fail "a refused $command changed $target"
done

# --verbosity warn: no INFO lines and no progress on standard error; the results still come.
"$ZETA" sample --model run/model.h5 --chains 4 --burn-in 5 --steps 1 --png quiet.png \
  --verbosity warn >quiet.out 2>quiet.log || fail "sample --verbosity warn failed"
[ ! -s quiet.log ] || { cat quiet.log; fail "sample --verbosity warn printed log lines"; }
grep -q "picture: quiet.png" quiet.out || fail "sample --verbosity warn printed no results"
"$ZETA" score --model run/model.h5 --data fm.h5 --verbosity info >/dev/null 2>loud.log
grep -q "scoring 1000 rows of fm.h5:/test" loud.log || fail "score --verbosity info logged nothing"
"$ZETA" score --model run/model.h5 --data fm.h5 --verbosity warn >quiet.out 2>quiet.log
[ ! -s quiet.log ] || { cat quiet.log; fail "score --verbosity warn printed log lines"; }
grep -q "per class:" quiet.out || fail "score --verbosity warn printed no summary"
"$ZETA" inspect fm.h5 --verbosity error >/dev/null 2>quiet.log || fail "inspect --verbosity"
[ ! -s quiet.log ] || { cat quiet.log; fail "inspect --verbosity error printed log lines"; }

# Bad input: one line naming the option or file, exit 2 for usage and 1 for the rest.
M=run/model.h5
expect_error 2 "option --model" "$ZETA" sample --png x.png
expect_error 2 "nothing to write" "$ZETA" sample --model $M
expect_error 2 "option --start data: needs --data" \
  "$ZETA" sample --model $M --start data --png x.png
expect_error 2 "option --snapshots: 5 is more than the 3 sweeps" \
  "$ZETA" sample --model $M --burn-in 2 --steps 1 --snapshots 5 --png x.png
expect_error 2 "option --start: 'middle' is not one of" \
  "$ZETA" sample --model $M --start middle --png x.png
expect_error 1 "fm.h5: missing dataset /model/weights" "$ZETA" sample --model fm.h5 --png x.png
touch afile
expect_error 1 "option --png: cannot write into the folder afile" \
  "$ZETA" sample --model $M --png afile/x.png
expect_error 2 "option --data" "$ZETA" score --model $M
LOUD="option --verbosity: 'loud' is not one of debug, info, warn, error"
expect_error 2 "$LOUD" "$ZETA" sample --model $M --png x.png --verbosity loud
expect_error 2 "$LOUD" "$ZETA" score --model $M --data fm.h5 --verbosity loud
expect_error 2 "$LOUD" "$ZETA" inspect $M --verbosity loud
expect_error 1 "option --out: cannot write into the folder afile" \
  "$ZETA" score --model $M --data fm.h5 --out afile/x.csv
expect_error 1 "fm.h5: no split 'valid'" "$ZETA" score --model $M --data fm.h5 --split valid
expect_error 2 "option --normal-class 12: fm.h5:/test has 0 rows of that class" \
  "$ZETA" score --model $M --data fm.h5 --normal-class 12
expect_error 2 "option --out: 'x.txt' must end in .csv, .h5 or .hdf5" \
  "$ZETA" score --model $M --data fm.h5 --out x.txt
expect_error 2 "give at most one of them" "$ZETA" score --model $M --data fm.h5 --logz 1 \
  --logz-file logz.txt
echo "not a number" > bad.txt
expect_error 1 "bad.txt: expected a results file of 'zeta logz' or a text file" \
  "$ZETA" score --model $M --data fm.h5 --logz-file bad.txt
expect_error 1 "fm.h5: not a results file of 'zeta logz'" \
  "$ZETA" score --model $M --data fm.h5 --logz-file fm.h5
expect_error 1 "run/model.logz.h5: computed for a model with checksum" \
  "$ZETA" score --model run/checkpoints/ckpt-0000000100.h5 --data fm.h5 \
  --logz-file run/model.logz.h5
printf '0,255,0,255\n255,0,0,0\n' > four.csv
"$ZETA" data import --train-csv four.csv --out four.h5 2>/dev/null
expect_error 1 "four.h5: /train has 4 columns, the model has 784 visible units" \
  "$ZETA" score --model $M --data four.h5 --split train
expect_error 1 "nothing.h5: no such file" "$ZETA" inspect nothing.h5
expect_error 1 "bad.txt: not a run directory, HDF5, PNG or CSV file" "$ZETA" inspect bad.txt
expect_error 2 "expected a FILE" "$ZETA" inspect
# On 2 ranks: the same single line, no hang.
expect_error 1 "fm.h5: no split 'valid'" run_ranks 2 score --model $M --data fm.h5 --split valid
expect_error 1 "four.h5: /train has 4 columns" \
  run_ranks 2 sample --model $M --start data --data four.h5 --png x.png
[ ! -e x.png ] && [ ! -e x.txt ] || fail "a failed command left an output file"
ls -a | grep -q "\.tmp" && fail "a command left a temporary file"
echo "visual test passed"
