#!/usr/bin/env bash
# jobs/*.sbatch on a real single-node Slurm cluster (munged, slurmctld, slurmd started here,
# all state in a temporary folder, stopped by pid at the end): a training job completes; a
# job warned with SIGUSR1 half-way checkpoints, requeues, resumes and ends with the same
# model to the bit (on another launcher and rank count); a 2 x 2 sweep runs as a job array
# and `zeta sweep collect` gives a 4-row table; an evaluation job writes the log-likelihood
# next to the model (its log Z checked against exact enumeration) and the table shows it.
source "$(dirname "$0")/../cli/common.sh"
source "$(dirname "$0")/cluster.sh"
repo=$(cd "$(dirname "$0")/../.." && pwd)
jobs=${repo}/jobs
export ZETA

# Only this test's cluster: nothing inherited from a Slurm job that may be running ctest.
for variable in $(compgen -e | grep -E '^(SLURM|SBATCH|SRUN|SALLOC)_' || true); do
  unset "${variable}"
done

# Unix socket paths are short: the daemons' folder lives in /tmp, not in the scratch folder.
slurm_cluster_reap "/tmp/zeta-slurm.*"
state=$(mktemp -d /tmp/zeta-slurm.XXXXXX)
finish() {
  local code=$?
  if ((code != 0)); then
    echo "--- job outputs and daemon logs (the test failed) ---" >&2
    tail -n 30 "${SCRATCH}"/*.out "${state}"/log/*.log >&2 2>/dev/null || true
  fi
  slurm_cluster_stop
  rm -rf "${state}"
  exit "${code}"
}
trap finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# 8 CPUs declared on a 2-core machine, so that the jobs below run side by side. Open MPI
# then believes each rank has a core and spins in its waits; make the ranks yield instead.
slurm_cluster_start "${state}" 8 || fail "the Slurm cluster did not start"
export OMPI_MCA_mpi_yield_when_idle=1

# submit ARGS...: sbatch on the test partition; prints the job id.
submit() {
  sbatch --parsable --partition="${SLURM_PARTITION}" --time=10 "$@"
}

# ended_ok ID: every task of the job completed with exit code 0.
ended_ok() {
  slurm_wait_job "$1" 200 || fail "job $1 did not end"
  local states
  states=$(slurm_job_state "$1" | sort -u | xargs)
  [[ ${states} == COMPLETED ]] || fail "job $1 ended as '${states}'"
}

# json FILE EXPRESSION: a value of a JSON file (EXPRESSION in Python over `r`).
json() {
  /usr/bin/python3 -c "import json, sys; r = json.load(open(sys.argv[1])); print($2)" "$1"
}

mkdir -p data
import_slice 2000 data/fmnist-2k.h5
config=${repo}/configs/tiny.ini
grep -q "^data = data/fmnist-2k.h5$" "${config}" || fail "${config} reads other data"

# 1 and 2. The tiny config, run to the end and warned half-way, side by side. 16 epochs
# instead of 4 give the signal time to arrive mid-run; everything else is the config's.
epochs=16
plain=$(submit --ntasks=2 "${jobs}/train.sbatch" "${config}" --run_dir runs/plain \
  --epochs "${epochs}")
warned=$(ZETA_LAUNCHER=mpirun submit --ntasks=3 "${jobs}/train.sbatch" "${config}" \
  --run_dir runs/warned --epochs "${epochs}")

# Half-way: metrics.csv has its header, epoch 0 and then a row per epoch done.
deadline=$((SECONDS + 150))
metrics=runs/warned/metrics.csv
until [[ -f ${metrics} ]] && (($(wc -l <"${metrics}") >= epochs / 2 + 2)); do
  ((SECONDS < deadline)) || fail "job ${warned} never got half-way"
  [[ $(slurm_job_state "${warned}") == COMPLETED ]] && fail "job ${warned} ended before the signal"
  sleep 0.2
done
scancel --signal=USR1 --batch "${warned}"

ended_ok "${plain}"
[[ -f runs/plain/model.h5 ]] || fail "train.sbatch made no model"
[[ $(json runs/plain/run.json 'r["status"]') == completed ]] || fail "plain run not completed"
[[ $(json runs/plain/run.json 'r["slurm"]["job_id"]') == "${plain}" ]] ||
  fail "run.json does not name the Slurm job"
[[ $(json runs/plain/run.json 'r["ranks"]') == 2 ]] || fail "plain run not on 2 ranks"

ended_ok "${warned}"
out=zeta-train-${warned}.out
grep -q "train.sbatch: zeta train exited with 75" "${out}" || fail "job ${warned}: no stop on USR1"
grep -q "requeueing job ${warned}" "${out}" || fail "job ${warned} did not requeue itself"
grep -q "resumed from runs/warned/checkpoints/" "${out}" || fail "job ${warned} did not resume"
[[ $(grep -c "train.sbatch: job ${warned} start" "${out}") == 2 ]] || fail "${out}: not 2 starts"
# Under mpirun the ranks' standard output is a pseudo-terminal even in a batch job: progress
# must still come as lines, never as a redrawn bar.
! grep -q $'\r' "${out}" || fail "${out}: a progress bar (carriage returns) in a batch log"
# The record holds both sessions: the first stopped mid-run, the second finished it.
total=$(json runs/plain/run.json 'r["step"]')
sessions=$(json runs/warned/run.json '" ".join("%s:%d-%d:%s" % (s["status"], s["first_step"],
  s["last_step"], s["slurm"].get("restart_count", "0")) for s in r["sessions"])')
read -r first second rest <<<"${sessions}"
[[ -z ${rest:-} && ${first} == checkpointed:0-* && ${second} == completed:* ]] ||
  fail "sessions of the interrupted run: ${sessions}"
stop=${first#checkpointed:0-}
stop=${stop%%:*}
((stop > 0 && stop < total)) || fail "stopped at step ${stop} of ${total}: not mid-run"
[[ ${second} == "completed:${stop}-${total}:1" ]] || fail "second session: ${second}"
same_model runs/plain/model.h5 runs/warned/model.h5
# The metrics too, but for the timings.
diff <(cut -d, -f1,2,5-8 runs/plain/metrics.csv) <(cut -d, -f1,2,5-8 runs/warned/metrics.csv) >&2 ||
  fail "the metrics of the interrupted run differ"

# 3. A 2 x 2 sweep as a job array, then one table. Each task stops after 50 of its 99 steps
# and requeues itself once, as on a time limit: the others must not run again with it
# (one task's job id is the array's, and requeueing that id requeues every task).
cat >grid.ini <<'INI'
data = data/fmnist-2k.h5
hidden = 16, 24
learning_rate = 0.02, 0.05
epochs = 3
batch = 60
shards = 12
monitor_samples = 300
seed = 5
stop_after_steps = 50
INI
"${ZETA}" sweep expand grid.ini --out runs/grid >expand.txt 2>/dev/null
grep -q "sbatch --array=0-3 jobs/sweep.sbatch runs/grid" expand.txt ||
  fail "expand printed: $(cat expand.txt)"
array=$(submit --array=0-3 "${jobs}/sweep.sbatch" runs/grid)
ended_ok "${array}"
"${ZETA}" sweep collect runs/grid >table.md 2>/dev/null
cat table.md
[[ $(grep -c '^| [0-3] | ' table.md) == 4 ]] || fail "collect did not print 4 rows"
[[ $(grep -c '| completed |' table.md) == 4 ]] || fail "not every run of the sweep completed"
[[ $(wc -l <runs/grid/sweep.csv) == 5 ]] || fail "sweep.csv is not a header and 4 rows"
grep -q '^3,hidden=24_learning_rate=0.05,completed,24,0.05,3,' runs/grid/sweep.csv ||
  fail "row 3 of sweep.csv: $(sed -n 5p runs/grid/sweep.csv)"
for i in 0 1 2 3; do
  dir=$(sed -n "$((i + 1))p" runs/grid/configs.txt)
  dir=${dir%/config.ini}
  [[ $(json "${dir}/run.json" 'r["slurm"]["array_task_id"]') == "${i}" ]] ||
    fail "${dir}: not run by array task ${i}"
  sessions=$(json "${dir}/run.json" '" ".join("%s:%d-%d:%s" % (s["status"], s["first_step"],
    s["last_step"], s["slurm"].get("restart_count", "0")) for s in r["sessions"])')
  [[ ${sessions} == "checkpointed:0-50:0 completed:50-99:1" ]] ||
    fail "${dir}: sessions ${sessions}, expected one stop at step 50 and one requeue"
  grep -q "sweep.sbatch: requeueing job ${array}_${i} " "zeta-sweep-${array}_${i}.out" ||
    fail "task ${i} did not requeue itself alone: $(grep requeueing "zeta-sweep-${array}_${i}.out")"
done

# 4. Evaluate a point of the sweep: AIS and eval on 2 tasks, results next to the model. With
# 16 hidden units log Z is also known exactly: AIS with 2,000 steps on so small a model
# lands within a few hundredths of a nat; 0.5 nat is far from flaky yet catches any real
# error (a wrong start model or temperature path is off by tens of nats).
point=runs/grid/hidden=16_learning_rate=0.05
evaluation=$(ZETA_LOGZ_OPTIONS="--betas 2000 --chains 100" submit --ntasks=2 \
  "${jobs}/eval.sbatch" "${point}/model.h5" data/fmnist-2k.h5)
ended_ok "${evaluation}"
[[ -f ${point}/model.logz.h5 && -f ${point}/model.eval.test.h5 ]] ||
  fail "eval.sbatch wrote no results next to ${point}/model.h5: $(ls "${point}")"
"${ZETA}" logz --model "${point}/model.h5" --method exact --out exact.h5 2>/dev/null >&2
/usr/bin/python3 - "${point}" <<'PY' || fail "the evaluation of ${point}"
import h5py, math, sys
point = sys.argv[1]
ais = h5py.File(point + "/model.logz.h5", "r")["ais"].attrs
exact = h5py.File("exact.h5", "r")["exact"].attrs["log_z"]
e = h5py.File(point + "/model.eval.test.h5", "r")["eval"].attrs
assert abs(ais["log_z"] - exact) < 0.5, (ais["log_z"], exact)
assert e["log_z_source"].endswith("model.logz.h5") and e["log_z"] == ais["log_z"], dict(e)
assert e["split"] == "test" and e["rows"] == 2000, dict(e)
ll = e["log_likelihood"]
assert -784 * math.log(2) < ll < 0, ll
assert abs(ll - (e["mean_negative_free_energy"] - e["log_z"])) < 1e-9, dict(e)
print(f"{point}: log Z {ais['log_z']:.4f} by AIS, {exact:.4f} exact; test log-likelihood {ll:.4f}")
PY
# ... and the table shows it in the row of that point.
"${ZETA}" sweep collect runs/grid >table.md 2>/dev/null
grep -q '^1,hidden=16_learning_rate=0.05,completed,.*,-[0-9.]*,[0-9.e-]*,test,$' \
  runs/grid/sweep.csv || fail "no log-likelihood in row 1: $(sed -n 3p runs/grid/sweep.csv)"

echo "slurm_test: all scenarios passed in ${SECONDS} s"
