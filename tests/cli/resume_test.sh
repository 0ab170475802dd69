#!/usr/bin/env bash
# Restarts: a run stopped by SIGUSR1 or stop_after_steps, or killed with kill -9 at random
# moments (also during checkpoint writes), and resumed on another rank count, ends with the
# same bits as a run straight through. Bad checkpoints are refused without damage.
source "$(dirname "$0")/common.sh"

import_slice 12000 fm.h5
cat > run.ini <<'INI'
data = fm.h5
hidden = 96
epochs = 4
batch = 120
shards = 6
seed = 5
learning_rate = 0.05
monitor_samples = 200
INI
run_ranks 2 train --config run.ini --run_dir straight --verbosity warn

# 1. stop_after_steps half-way (exit 75), resume on 3 ranks from the run directory alone.
rc=0
run_ranks 2 train --config run.ini --run_dir stopped --stop_after_steps 150 --verbosity warn || rc=$?
[ $rc -eq 75 ] || fail "stop_after_steps exited $rc, expected 75"
grep -q '"status": "checkpointed"' stopped/run.json || fail "run.json does not say checkpointed"
run_ranks 3 train --run_dir stopped --resume --verbosity warn
same_model straight/model.h5 stopped/model.h5
cmp <(cut -d, -f1,2,5-8 straight/metrics.csv) <(cut -d, -f1,2,5-8 stopped/metrics.csv) ||
  fail "metrics after a resume differ from the straight run"

# 2. SIGUSR1 to mpirun (forwarded to every rank) once the first epoch is done; a second
# signal right after it is harmless.
"$MPIEXEC" -n 2 "$ZETA" train --config run.ini --run_dir signalled --verbosity warn &
pid=$!
until [ "$(wc -l < signalled/metrics.csv 2>/dev/null || echo 0)" -ge 3 ]; do
  kill -0 $pid 2>/dev/null || fail "the run ended before it could be signalled"
  sleep 0.05
done
kill -USR1 $pid
sleep 0.01
kill -USR1 $pid 2>/dev/null || true
rc=0
wait $pid || rc=$?
[ $rc -eq 75 ] || fail "SIGUSR1 exit code $rc, expected 75"
[ ! -e signalled/model.h5 ] || fail "the signalled run finished before the signal"
run_ranks 1 train --config run.ini --run_dir signalled --resume --verbosity warn
same_model straight/model.h5 signalled/model.h5

# 3. kill -9 at random moments while a checkpoint is written after every step, then resume.
for attempt in 1 2 3; do
  "$MPIEXEC" -n 2 "$ZETA" train --config run.ini --run_dir killed --checkpoint_every 1 \
    --keep_checkpoints 2 --resume --verbosity warn &
  pid=$!
  sleep "0.$((RANDOM % 6 + 3))"
  pkill -9 -f -- "--run_dir killed" || true
  wait $pid 2>/dev/null || true
done
[ ! -e killed/model.h5 ] || echo "note: the killed run had already finished"
run_ranks 2 train --config run.ini --run_dir killed --resume --verbosity warn
same_model straight/model.h5 killed/model.h5
ls -a killed/checkpoints | grep -q tmp && fail "a temporary checkpoint was left behind"

# The tiny config: stopped twice, resumed on 4 and then 3 ranks.
tiny=$SOURCE_DIR/configs/tiny.ini
import_slice 2000 fm2k.h5
run_ranks 1 train --config "$tiny" --data fm2k.h5 --run_dir tiny_straight --verbosity warn
rc=0
run_ranks 2 train --config "$tiny" --data fm2k.h5 --run_dir tiny_stopped --stop_after_steps 40 \
  --verbosity warn || rc=$?
[ $rc -eq 75 ] || fail "tiny stop exited $rc"
rc=0
run_ranks 4 train --config "$tiny" --data fm2k.h5 --run_dir tiny_stopped --resume \
  --stop_after_steps 50 --verbosity warn || rc=$?
[ $rc -eq 75 ] || fail "tiny second stop exited $rc"
run_ranks 3 train --config "$tiny" --data fm2k.h5 --run_dir tiny_stopped --resume --verbosity warn
same_model tiny_straight/model.h5 tiny_stopped/model.h5

# 4. A checkpoint that disagrees or is damaged is refused with its reason, untouched; so is a
# resume asking for fewer epochs than the checkpoint has begun.
rc=0
run_ranks 2 train --config run.ini --run_dir short --stop_after_steps 150 --verbosity warn || rc=$?
[ $rc -eq 75 ] || fail "short stop exited $rc"
expect_error 2 "option --epochs: the run was resumed at step 150, in epoch 2" \
  run_ranks 2 train --run_dir short --resume --epochs 1
cp -r short counters
victim=$(ls counters/checkpoints/ckpt-*.h5 | tail -1)
/usr/bin/python3 -c "import h5py, sys; h5py.File(sys.argv[1], 'r+')['/train'].attrs['position'] = 99999" \
  "$victim"
expect_error 1 "$victim: its counters (step 150, epoch 1, position 99999) do not agree with 100" \
  run_ranks 2 train --run_dir counters --resume
newest=$(ls straight/checkpoints/ckpt-*.h5 | tail -1)
sum=$(md5sum < "$newest")
expect_error 1 "does not match this run: the checkpoint has 'hidden = 96', the config 'hidden = 80'" \
  run_ranks 2 train --config run.ini --run_dir straight --resume --hidden 80
import_slice 12001 fm-other.h5
expect_error 1 "made from data with checksum" \
  run_ranks 2 train --config run.ini --run_dir straight --resume --data fm-other.h5
[ "$(md5sum < "$newest")" = "$sum" ] || fail "a refused resume changed the checkpoint"
cp -r straight broken
victim=$(ls broken/checkpoints/ckpt-*.h5 | tail -1)
truncate -s 20000 "$victim"
expect_error 1 "$(basename "$victim")" run_ranks 2 train --config run.ini --run_dir broken --resume
[ "$(stat -c %s "$victim")" -eq 20000 ] || fail "the truncated checkpoint was overwritten"
# One flipped bit in the weights of the newest checkpoint: the values stay finite, and only
# the stored checksum tells. Refused by rank 0 (with --config) and by every rank (settings
# read from the checkpoint), and left in place as it was.
cp -r straight damaged
victim=$(ls damaged/checkpoints/ckpt-*.h5 | tail -1)
/usr/bin/python3 - "$victim" <<'PY'
import sys
import h5py
path = sys.argv[1]
with h5py.File(path, "r") as f:
    offset = f["/model/weights"].id.get_chunk_info(0).byte_offset + 41
with open(path, "r+b") as raw:
    raw.seek(offset)
    byte = raw.read(1)[0]
    raw.seek(offset)
    raw.write(bytes([byte ^ 1]))
PY
sum=$(md5sum < "$victim")
damage="$victim: /model/weights: the stored Fletcher32 checksum does not match the data"
expect_error 1 "$damage" run_ranks 2 train --config run.ini --run_dir damaged --resume
expect_error 1 "$damage" run_ranks 3 train --run_dir damaged --resume
[ "$(md5sum < "$victim")" = "$sum" ] || fail "a refused resume changed the damaged checkpoint"
# The error points to the older checkpoint the run keeps; with the damaged one moved aside,
# the run resumes from it and ends as the uninterrupted run did.
older=$(ls damaged/checkpoints/ckpt-*.h5 | tail -2 | head -1)
[ "$older" != "$victim" ] || fail "the run kept one checkpoint; the test needs two"
grep -q "move $(basename "$victim") out of damaged/checkpoints to resume from $(basename "$older")" \
  "$SCRATCH/err.txt" || { cat "$SCRATCH/err.txt" >&2; fail "the error does not name $older"; }
mv "$victim" damaged-newest.h5
run_ranks 2 train --run_dir damaged --resume --verbosity warn || fail "resume from $older failed"
same_model straight/model.h5 damaged/model.h5
echo "resume_test: all checks passed"
