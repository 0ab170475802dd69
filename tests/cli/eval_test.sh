#!/usr/bin/env bash
# zeta logz and zeta eval end to end on real Fashion-MNIST: exact log Z against AIS on a
# trained 784x16 model, the same AIS bits on 1, 2 and 3 ranks, reverse AIS and the gap, the
# results files' layout, eval with error bars on 2 ranks over splits much larger than a
# chunk with bounded memory, and bad inputs refused with one line on every rank.
source "$(dirname "$0")/common.sh"

json() {  # json FILE EXPR: a field of a JSON line, EXPR in Python over the object j.
  /usr/bin/python3 -c "import json, sys; j = json.load(open(sys.argv[1])); print($2)" "$1"
}

import_slice 6000 fm.h5
# PCD at lr 0.01: a model AIS can handle. (PCD at lr 0.05 for only 3 epochs grows a
# separated spurious mode that every AIS chain misses; see docs/partition.md.)
run_ranks 2 train --data fm.h5 --run_dir run --hidden 16 --epochs 3 --learning_rate 0.01 \
  --verbosity warn
MODEL=run/model.h5
model_sum=$(md5sum < "$MODEL")

# Exact log Z: 2^16 hidden states.
run_ranks 2 logz --model "$MODEL" --method exact --json > exact.json
[ -f run/model.logz.h5 ] || fail "no default results file next to the model"
exact=$(json exact.json "j['exact']['log_z']")

# AIS with the classic ladder lands within 3 sigma or 0.1 nats of exact for several seeds.
for seed in 1 2 3; do
  run_ranks 2 logz --model "$MODEL" --data fm.h5 --seed "$seed" --json --out "ais$seed.h5" \
    --verbosity warn > "ais$seed.json"
  /usr/bin/python3 - "ais$seed.json" "$exact" <<'PY' || fail "AIS seed $seed far from exact"
import json, sys
a = json.load(open(sys.argv[1]))["ais"]
exact = float(sys.argv[2])
low = a["log_z_low"] if a["log_z_low"] is not None else float("-inf")
inside = low <= exact <= a["log_z_high"]
print(f"seed: AIS {a['log_z']:.4f} [{low:.4f}, {a['log_z_high']:.4f}], exact {exact:.4f}, "
      f"ESS {a['ess']:.1f}")
assert a["steps"] == 14500 and a["chains"] == 100
assert inside or abs(a["log_z"] - exact) <= 0.1
PY
done

# The same seed gives the same bits on 1, 2 and 3 ranks (log weights and every number).
for n in 1 2 3; do
  run_ranks "$n" logz --model "$MODEL" --data fm.h5 --betas 1000 --chains 10 --seed 7 \
    --save-weights --json --out "bits$n.h5" --verbosity warn > "bits$n.json"
  sed 's/"seconds":[^,}]*//g; s/"ranks":[0-9]*//g; s/"out":"[^"]*"//g' "bits$n.json" > "bits$n.cmp"
done
cmp -s bits1.cmp bits2.cmp || fail "AIS differs between 1 and 2 ranks"
cmp -s bits1.cmp bits3.cmp || fail "AIS differs between 1 and 3 ranks"
h5diff -q bits1.h5 bits3.h5 /ais/log_weights /ais/log_weights || fail "log weights differ"

# Forward and reverse AIS: the gap is reported, and a warning when it exceeds the threshold.
run_ranks 2 logz --model "$MODEL" --data fm.h5 --method both --betas 2000 --gap-warning 0 \
  --json --out both.h5 > both.json 2> both.err
grep -q "forward and reverse AIS differ by" both.err || fail "no gap warning at --gap-warning 0"
[ "$(grep -c "differ by" both.err)" -eq 1 ] || fail "the gap warning must come from rank 0 only"
json both.json "j['gap'] == j['reverse_ais']['log_z'] - j['ais']['log_z']" | grep -q True ||
  fail "gap is not reverse minus forward"
run_ranks 2 logz --model "$MODEL" --data fm.h5 --method both --betas 200 --gap-warning 1000 \
  --out both2.h5 > both2.txt 2> both2.err
grep -q "differ by" both2.err && fail "gap warning below the threshold"
grep -q "^gap " both2.txt || fail "the readable summary has no gap line"
grep -q "^reverse AIS  log Z = " both2.txt || fail "the readable summary has no reverse AIS line"

# Results file layout (read with h5py), and the model file is untouched.
/usr/bin/python3 - <<'PY' || fail "logz results layout"
import h5py, numpy as np
f = h5py.File("bits1.h5", "r")
assert f.attrs["format"] == "zeta-logz" and f.attrs["format_version"] == 1
assert f.attrs["visible"] == 784 and f.attrs["hidden"] == 16
assert len(f.attrs["model_checksum"]) == 16
a = f["ais"]
for key in ["log_z", "log_z_low", "log_z_high", "log_z_sd", "log_z0", "ess", "seconds"]:
    assert np.isfinite(a.attrs[key]) or key == "log_z_low", key
assert a.attrs["chains"] == 10 and a.attrs["steps"] == 1000 and a.attrs["seed"] == "7"
assert a["log_weights"].shape == (10,) and a["inverse_temperatures"].shape == (1001,)
assert a["base_visible_bias"].shape == (784,)
w = a["log_weights"][:]
m = w.max()
assert abs(a.attrs["log_z"] - (a.attrs["log_z0"] + m + np.log(np.mean(np.exp(w - m))))) < 1e-9
e = h5py.File("run/model.logz.h5", "r")["exact"]
assert e.attrs["enumerated_layer"] == "hidden" and e.attrs["units"] == 16
b = h5py.File("both.h5", "r")
assert "reverse_ais" in b and b["reverse_ais"].attrs["heldout"] == "fm.h5:/test"
assert abs(b.attrs["gap"] - (b["reverse_ais"].attrs["log_z"] - b["ais"].attrs["log_z"])) < 1e-12
PY
[ "$(md5sum < "$MODEL")" = "$model_sum" ] || fail "zeta logz modified the model file"

# zeta eval on 2 ranks over 6000 test rows in 24 chunks: one JSON line with error bars.
run_ranks 2 eval --model "$MODEL" --data fm.h5 --logz-file both.h5 --chunk-rows 250 --json \
  --verbosity warn > eval2.json
[ "$(wc -l < eval2.json)" -eq 1 ] || fail "eval --json must print one line"
/usr/bin/python3 - <<'PY' || fail "eval results"
import json, h5py
j = json.load(open("eval2.json"))
assert j["rows"] == 6000 and j["chunks"] == 24 and j["ranks"] == 2 and j["log_z_method"] == "ais"
assert abs(j["log_likelihood"] - (j["mean_negative_free_energy"] - j["log_z"])) < 1e-9
assert j["log_likelihood_low"] <= j["log_likelihood"] <= j["log_likelihood_high"]
assert j["log_likelihood_reverse"] < j["log_likelihood"] + 1.0
assert 0 < j["log_likelihood_se"] < 5 and -784 < j["log_likelihood"] < 0
assert j["pseudo_log_likelihood"] < 0 and 0 < j["reconstruction_error"] < 0.25
f = h5py.File(j["out"], "r")
assert j["out"] == "run/model.eval.test.h5" and f.attrs["format"] == "zeta-eval"
g = f["eval"]
assert g.attrs["log_likelihood"] == j["log_likelihood"] and g.attrs["rows"] == 6000
assert g.attrs["split"] == "test" and g.attrs["log_z_source"] == "both.h5"
print(f"eval: average log-likelihood {j['log_likelihood']:.3f} "
      f"[{j['log_likelihood_low']:.3f}, {j['log_likelihood_high']:.3f}] "
      f"± {j['log_likelihood_se']:.3f} (rows)")
PY
# The same bits on 1 rank; one big chunk agrees to rounding.
run_ranks 1 eval --model "$MODEL" --data fm.h5 --logz-file both.h5 --chunk-rows 250 --json \
  --verbosity warn --out eval1.h5 > eval1.json
for key in log_likelihood log_likelihood_se pseudo_log_likelihood reconstruction_error; do
  [ "$(json eval1.json "repr(j['$key'])")" = "$(json eval2.json "repr(j['$key'])")" ] ||
    fail "eval $key differs between 1 and 2 ranks"
done
run_ranks 2 eval --model "$MODEL" --data fm.h5 --logz-file both.h5 --chunk-rows 6000 --json \
  --verbosity warn --out big.h5 > big.json
# Float GEMMs round differently with the batch shape: the means agree to ~1e-11 relative,
# the PLL (a difference of two float free energies per row) to ~1e-8; tolerances 100x that.
/usr/bin/python3 -c "
import json
a, b = json.load(open('eval2.json')), json.load(open('big.json'))
assert b['chunks'] == 1
for k, tolerance in [('log_likelihood', 1e-9), ('reconstruction_error', 1e-9),
                     ('pseudo_log_likelihood', 1e-6)]:
    assert abs(a[k] - b[k]) <= tolerance * abs(b[k]), k
" || fail "eval depends on the chunk size beyond rounding"
# Without --logz-file a 16-unit layer is enumerated exactly; the readable summary.
run_ranks 2 eval --model "$MODEL" --data fm.h5 --out exact_eval.h5 > eval.txt 2> eval.err
grep -q "^average log-likelihood" eval.txt || fail "no log-likelihood line"
grep -q "exact, computed" eval.txt || fail "eval did not compute log Z exactly"
grep -q "$(printf '%.6f' "$exact")" eval.txt || fail "eval's exact log Z differs from zeta logz"

# Memory stays bounded on a split 120 times larger than a chunk: the 60,000 train images.
"$ZETA" data import --out full.h5 --train-images "$FMNIST/train-images-idx3-ubyte.gz" 2>/dev/null
run_ranks 2 eval --model "$MODEL" --data full.h5 --split train --chunk-rows 500 \
  --logz-file run/model.logz.h5 --json --verbosity warn --out full_eval.h5 > full.json
/usr/bin/python3 -c "
import json
j = json.load(open('full.json'))
as_floats = 60000 * 784 * 4  # the split held as one float batch: 188 MB
print(f'peak memory per rank {j[\"peak_resident_bytes\"] / 1e6:.0f} MB over {j[\"chunks\"]} chunks')
assert j['rows'] == 60000 and j['chunks'] == 120
assert j['peak_resident_bytes'] < as_floats / 2
" || fail "eval memory is not bounded by the chunk"

# --help documents every option.
run_ranks 1 logz --help > help.txt
for option in model method data chains betas seed gap-warning out save-weights json; do
  grep -q -- "--$option" help.txt || fail "logz --help lacks --$option"
done
run_ranks 1 eval --help > help.txt
for option in model data split logz-file chunk-rows json out; do
  grep -q -- "--$option" help.txt || fail "eval --help lacks --$option"
done

# Bad inputs: one line, the right exit code, on 2 ranks (no rank hangs).
run_ranks 2 train --data fm.h5 --run_dir other --hidden 16 --epochs 1 --seed 9 --verbosity warn
expect_error 1 "missing.h5: no such file" run_ranks 2 logz --model missing.h5
expect_error 2 "option --method: 'magic' is not one of" \
  run_ranks 2 logz --model "$MODEL" --method magic
expect_error 2 "--data is required" run_ranks 2 logz --model "$MODEL" --method reverse-ais
expect_error 2 "the limit is 10 units" \
  run_ranks 2 logz --model "$MODEL" --method exact --max-exact-units 10
grep -q "2^16" "$SCRATCH/err.txt" || fail "the refusal of exact does not state its cost"
expect_error 2 "is the model file" run_ranks 2 logz --model "$MODEL" --out "$MODEL"
expect_error 2 "which has only 6000 rows" \
  run_ranks 2 logz --model "$MODEL" --data fm.h5 --method reverse-ais --chains 7000
expect_error 2 "option --chains: 1 is out of range" run_ranks 2 logz --model "$MODEL" --chains 1
expect_error 1 "no split 'validation'" \
  run_ranks 2 logz --model "$MODEL" --data fm.h5 --train-split validation
expect_error 1 "computed for a model with checksum" \
  run_ranks 2 eval --model other/model.h5 --data fm.h5 --logz-file both.h5
expect_error 1 "not a results file of 'zeta logz'" \
  run_ranks 2 eval --model "$MODEL" --data fm.h5 --logz-file fm.h5
expect_error 1 "no split 'nosuch'" run_ranks 2 eval --model "$MODEL" --data fm.h5 --split nosuch
expect_error 2 "option --data: a data file is required" run_ranks 2 eval --model "$MODEL"
expect_error 2 "is the model file" run_ranks 2 eval --model "$MODEL" --data fm.h5 --out "$MODEL"
expect_error 2 "option --chunk-rows: 0 is out of range" \
  run_ranks 2 eval --model "$MODEL" --data fm.h5 --chunk-rows 0
# No output replaces an input, a model, a checkpoint or a data file; bad folders are found
# before any work.
expect_error 2 "option --out: fm.h5 is also an input" \
  run_ranks 2 eval --model "$MODEL" --data fm.h5 --out fm.h5
ckpt=$(ls "$(dirname "$MODEL")"/checkpoints/ckpt-*.h5 | tail -1)
ckpt_sum=$(md5sum < "$ckpt")
expect_error 2 "holds a Zeta checkpoint; Zeta never overwrites one" \
  run_ranks 2 logz --model "$MODEL" --method exact --out "$ckpt"
cp "$ckpt" other_model.h5
expect_error 2 "other_model.h5 holds a Zeta checkpoint" \
  "$ZETA" data import --train-csv /dev/null --out other_model.h5
[ "$(md5sum < "$ckpt")" = "$ckpt_sum" ] || fail "a checkpoint changed"
# A results file is replaced only by one of its kind: a second run replaces its own output,
# any other existing file is refused before any work (exit 2, every rank) and kept.
run_ranks 2 logz --model "$MODEL" --method exact --verbosity warn >/dev/null ||
  fail "logz could not replace its own results next to the model"
run_ranks 2 eval --model "$MODEL" --data fm.h5 --logz-file run/model.logz.h5 --out exact_eval.h5 \
  --verbosity warn >/dev/null || fail "eval could not replace its own results"
/usr/bin/python3 -c "
import h5py
assert h5py.File('exact_eval.h5', 'r').attrs['format'] in (b'zeta-eval', 'zeta-eval')
" || fail "eval run again did not write an evaluation file"
/usr/bin/python3 -c "import h5py; h5py.File('foreign.h5', 'w')['x'] = [1, 2, 3]"
printf 'my notes\n' > notes.txt
for case in "logz|notes.txt|text whose first line is 'my notes', expected a new file or a \
zeta-logz HDF5 file to replace" \
  "logz|foreign.h5|an HDF5 file without a Zeta format, expected a new file or a zeta-logz" \
  "logz|exact_eval.h5|an HDF5 file of format zeta-eval, expected a new file or a zeta-logz" \
  "eval|both.h5|an HDF5 file of format zeta-logz, expected a new file or a zeta-eval HDF5 file" \
  "eval|notes.txt|text whose first line is 'my notes', expected a new file or a zeta-eval"; do
  IFS='|' read -r command target holds <<<"$case"
  args=(logz --model "$MODEL" --method exact --out "$target")
  [ "$command" = logz ] || args=(eval --model "$MODEL" --data fm.h5 --out "$target")
  before=$(md5sum < "$target")
  expect_error 2 "option --out: $target holds $holds" run_ranks 2 "${args[@]}"
  [ "$(md5sum < "$target")" = "$before" ] || fail "a refused $command changed $target"
done
touch plainfile
expect_error 1 "option --out: cannot write into the folder plainfile" \
  run_ranks 2 logz --model "$MODEL" --method ais --out plainfile/zeta.h5
[ "$(md5sum < "$MODEL")" = "$model_sum" ] || fail "the model file changed"
echo "eval_test: all checks passed"
