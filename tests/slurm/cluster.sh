# shellcheck shell=bash
# A private single-node Slurm cluster for tests: munged, slurmctld and slurmd from Debian's
# slurm-wlm and munge, running as root with every key, socket, spool, log and pid file in
# one folder, on ports that are free at start. Source this file, then:
#   slurm_cluster_start DIR CPUS   starts the daemons and waits for the node to be idle;
#                                  exports SLURM_CONF, SLURM_PARTITION
#   slurm_cluster_reap PATTERN     stops the clusters in the folders matching PATTERN whose
#                                  starting shell has died without stopping them
#   slurm_cluster_stop             cancels what still runs, stops the daemons by their pid
#                                  files (safe to call twice)
#   slurm_job_state ID             the state of a job (or of an array's tasks), one per line
#   slurm_wait_job ID SECONDS      polls until the job (every array task) has ended

slurm_cluster_die() {
  echo "slurm cluster: $*" >&2
  return 1
}

# A TCP port on 127.0.0.1 with nobody listening (bash's /dev/tcp connects or fails).
slurm_free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
      echo "${port}"
      return 0
    fi
  done
  slurm_cluster_die "found no free TCP port"
}

slurm_cluster_start() {
  local dir=$1 cpus=$2
  SLURM_CLUSTER_DIR=${dir}
  echo "$$" >"${dir}/owner.pid"
  local node
  node=$(hostname -s)
  mkdir -p "${dir}"/{munge,ctld,spool,log,tmp}
  # munged refuses a socket whose folders are group-writable or not searchable by others.
  chmod 755 "${dir}" "${dir}/munge"
  # Unix socket paths are limited to 107 bytes.
  local socket=${dir}/munge/munge.socket
  ((${#socket} < 100)) || slurm_cluster_die "${socket}: path too long for a Unix socket" ||
    return 1

  mungekey --create --keyfile="${dir}/munge/munge.key" >/dev/null 2>&1 ||
    dd if=/dev/urandom of="${dir}/munge/munge.key" bs=1024 count=1 status=none
  chmod 600 "${dir}/munge/munge.key"
  munged --socket="${socket}" --key-file="${dir}/munge/munge.key" \
    --pid-file="${dir}/munge/munged.pid" --log-file="${dir}/log/munged.log" \
    --seed-file="${dir}/munge/munged.seed" ||
    slurm_cluster_die "munged did not start (see ${dir}/log/munged.log)" || return 1

  local ctld_port slurmd_port
  ctld_port=$(slurm_free_port) || return 1
  slurmd_port=$(slurm_free_port) || return 1
  cat >"${dir}/slurm.conf" <<CONF
ClusterName=zetatest
SlurmctldHost=${node}(127.0.0.1)
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${socket},cred_expire=10
StateSaveLocation=${dir}/ctld
SlurmdSpoolDir=${dir}/spool
TmpFS=${dir}/tmp
SlurmctldPidFile=${dir}/slurmctld.pid
SlurmdPidFile=${dir}/slurmd.pid
SlurmctldLogFile=${dir}/log/slurmctld.log
SlurmdLogFile=${dir}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=pmix
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MailProg=/bin/true
KillWait=5
MinJobAge=900
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=${dir}/slurm.conf
  export SLURM_PARTITION=test
  slurmctld -i || slurm_cluster_die "slurmctld did not start (see ${dir}/log/slurmctld.log)" ||
    return 1
  slurmd || slurm_cluster_die "slurmd did not start (see ${dir}/log/slurmd.log)" || return 1

  local state
  for _ in $(seq 1 100); do
    state=$(sinfo --noheader --nodes="${node}" --format=%t 2>/dev/null)
    [[ ${state} == idle ]] && return 0
    sleep 0.2
  done
  slurm_cluster_die "node ${node} is '${state}', not idle, after 20 s (see ${dir}/log)"
}

slurm_cluster_stop() {
  local dir=${SLURM_CLUSTER_DIR:-}
  [[ -n ${dir} ]] || return 0
  # Jobs first, so that no job process outlives slurmd.
  if [[ -s ${dir}/slurmctld.pid ]]; then
    scancel --quiet --partition="${SLURM_PARTITION:-test}" 2>/dev/null || true
    for _ in $(seq 1 40); do
      [[ -z $(squeue --noheader --format=%i 2>/dev/null) ]] && break
      sleep 0.25
    done
  fi
  local pidfile pid
  for pidfile in "${dir}/slurmd.pid" "${dir}/slurmctld.pid" "${dir}/munge/munged.pid"; do
    [[ -s ${pidfile} ]] || continue
    pid=$(<"${pidfile}")
    kill "${pid}" 2>/dev/null || continue
    for _ in $(seq 1 50); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${pid}" 2>/dev/null || true
  done
  SLURM_CLUSTER_DIR=
}

# A test killed outright (a ctest timeout sends SIGKILL) leaves its daemons running.
slurm_cluster_reap() {
  local dir owner
  for dir in $1; do
    [[ -s ${dir}/owner.pid ]] || continue
    owner=$(<"${dir}/owner.pid")
    kill -0 "${owner}" 2>/dev/null && continue
    echo "slurm cluster: stopping the daemons left in ${dir} by process ${owner}" >&2
    SLURM_CONF=${dir}/slurm.conf SLURM_CLUSTER_DIR=${dir} slurm_cluster_stop
    rm -rf "${dir}"
  done
}

slurm_job_state() {
  squeue --noheader --states=all --jobs="$1" --format=%T 2>/dev/null
}

# The states in which a job has ended.
SLURM_END_STATES="COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE"
SLURM_END_STATES+="|PREEMPTED"

slurm_wait_job() {
  local id=$1 seconds=$2
  local deadline=$((SECONDS + seconds)) states
  while ((SECONDS < deadline)); do
    # Finished jobs stay listed (with --states=all) for MinJobAge seconds.
    states=$(slurm_job_state "${id}")
    if [[ -n ${states} ]] && ! grep -qvE "^(${SLURM_END_STATES})$" <<<"${states}"; then
      return 0
    fi
    sleep 0.5
  done
  slurm_cluster_die "job ${id} still queued after ${seconds} s: $(slurm_job_state "${id}" | xargs)"
}
