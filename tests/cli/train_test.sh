#!/usr/bin/env bash
# zeta train end to end on real Fashion-MNIST over 2 ranks: the model learns, the outputs
# have the documented layout, and bad configs are refused on every rank with one line.
source "$(dirname "$0")/common.sh"

import_slice 6000 fm.h5
cat > run.ini <<'INI'
data = fm.h5
run_dir = run
hidden = 64
epochs = 3
batch = 100
shards = 4
learning_rate = 0.05
monitor_samples = 500
INI
run_ranks 2 train --config run.ini 2> log.txt
grep -q "epoch 3/3" log.txt || fail "no log line for epoch 3"
[ "$(grep -c "epoch [0-9]/3 " log.txt)" -eq 4 ] || fail "expected one log line per epoch (0-3)"
grep -q "rank 1/2" log.txt && fail "rank 1 logged at INFO level"

# metrics.csv: a row per epoch (0 = initialisation); the model must have learned.
head -1 run/metrics.csv | grep -q \
  "^epoch,step,seconds,samples_per_second,reconstruction_error,pseudo_log_likelihood,free_energy_train,free_energy_heldout,exchange_seconds$" ||
  fail "metrics.csv header"
[ "$(wc -l < run/metrics.csv)" -eq 5 ] || fail "metrics.csv should have 4 rows"
# The exchange of the statistics takes a part of each epoch, never all of it.
x3=$(metric run/metrics.csv 4 exchange_seconds)
s3=$(metric run/metrics.csv 4 seconds)
awk -v x="$x3" -v s="$s3" 'BEGIN { exit !(x > 0 && x < s) }' ||
  fail "exchange_seconds $x3 should lie between 0 and the epoch's $s3 seconds"
r0=$(metric run/metrics.csv 1 reconstruction_error)
r3=$(metric run/metrics.csv 4 reconstruction_error)
p0=$(metric run/metrics.csv 1 pseudo_log_likelihood)
p3=$(metric run/metrics.csv 4 pseudo_log_likelihood)
awk -v a="$r0" -v b="$r3" 'BEGIN { exit !(b < 0.9 * a) }' ||
  fail "reconstruction error did not fall: $r0 -> $r3"
awk -v a="$p0" -v b="$p3" 'BEGIN { exit !(b > a + 10) }' ||
  fail "pseudo-log-likelihood did not rise: $p0 -> $p3"

# model.h5: documented datasets, shapes and attributes, readable by h5py.
/usr/bin/python3 - <<'PY' || fail "model.h5 layout"
import h5py, json, numpy as np
f = h5py.File("run/model.h5", "r")
assert f["model/weights"].shape == (784, 64) and f["model/weights"].dtype == np.float32
assert f["model/visible_bias"].shape == (784,) and f["model/hidden_bias"].shape == (64,)
assert "row-major" in f["model/weights"].attrs["layout"]
assert np.isfinite(f["model/weights"][:]).all()
config = f["config"][()].decode()
assert "hidden = 64" in config and "shards = 4" in config, config
assert f["train"].attrs["step"] == 3 * 60
run = json.load(open("run/run.json"))
assert run["status"] == "completed" and run["ranks"] == 2 and run["data_checksum"] != "absent"
PY

# Bad configs: refused before any work, on every rank, with one line; no rank hangs.
printf 'data = fm.h5\nhiden = 10\n' > unknown.ini
expect_error 2 "unknown.ini: unrecognised option 'hiden'" run_ranks 2 train --config unknown.ini
expect_error 2 "option --learning_rate: -1 is out of range" \
  run_ranks 2 train --config run.ini --run_dir r2 --learning_rate -1
expect_error 1 "missing.h5: no such file" run_ranks 2 train --data missing.h5 --run_dir r3
expect_error 2 "--config nowhere.ini: cannot open" run_ranks 2 train --config nowhere.ini
expect_error 2 "option --batch: 30 does not split evenly over 4 shards" \
  run_ranks 2 train --config run.ini --run_dir r4 --batch 30
expect_error 2 "every rank needs at least one shard" \
  run_ranks 2 train --config run.ini --run_dir r5 --shards 1 --batch 10
expect_error 2 "already holds a run" run_ranks 2 train --config run.ini
expect_error 2 "option --run_dir: must not be empty" run_ranks 2 train --config run.ini --run_dir ""
expect_error 2 "option --momentum: nan is not a number" run_ranks 2 train --config run.ini \
  --run_dir r6 --momentum nan
expect_error 2 "option --heldout_split: fm.h5 has no split 'valid'" \
  run_ranks 2 train --config run.ini --run_dir r7 --heldout_split valid
[ ! -e r7 ] || fail "a refused run left its run directory r7"
touch plain_file
expect_error 1 "option --run_dir: cannot create plain_file/checkpoints" \
  run_ranks 2 train --config run.ini --run_dir plain_file
# A second run in a run directory that is in use is refused (the lock dies with its holder).
run_ranks 1 train --config run.ini --run_dir locked --epochs 50 --verbosity warn &
holder=$!
until [ -e locked/run.json ]; do sleep 0.05; done
expect_error 1 "locked is in use by another zeta process" \
  run_ranks 1 train --config run.ini --run_dir locked --resume
kill -9 $holder 2>/dev/null || true
pkill -9 -f -- "--run_dir locked" || true
wait $holder 2>/dev/null || true
# Data whose width disagrees with the model being resumed.
for i in $(seq 400); do echo "$((i % 4)),1,2,3"; done > narrow.csv
"$ZETA" data import --train-csv narrow.csv --csv-max 3 --out narrow.h5 2>/dev/null
expect_error 1 "the model has 784 visible units, but narrow.h5:/train has 4 columns" \
  run_ranks 2 train --config run.ini --data narrow.h5 --resume
[ ! -e r2 ] && [ ! -e r4 ] || fail "a refused config left a run directory"
# Divergence: W <- (1 - lr wd) W grows without bound when lr wd > 2; the run stops with
# advice, exit 1, and the checkpoints written before stay valid.
expect_error 1 "training diverged at step .*lower learning_rate (now 100)" \
  run_ranks 2 train --config run.ini --run_dir diverged --learning_rate 100 --weight_decay 0.1 \
  --momentum 0 --checkpoint_every 5
grep -q '"status": "failed"' diverged/run.json || fail "run.json does not record the failure"
last=$(ls diverged/checkpoints/ckpt-*.h5 | tail -1)
[ -n "$last" ] || fail "no checkpoint was kept before the divergence"
"$ZETA" train --run_dir diverged --resume --stop_after_steps 1 --learning_rate 1e-9 \
  --weight_decay 0 > /dev/null 2>&1 && fail "resume with other settings was accepted"
/usr/bin/python3 -c "
import h5py, numpy as np, sys
f = h5py.File('$last', 'r')
sys.exit(0 if np.isfinite(f['model/weights'][:]).all() else 1)" || fail "$last is not finite"
echo "train_test: all checks passed"
