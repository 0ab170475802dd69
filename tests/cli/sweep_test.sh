#!/usr/bin/env bash
# zeta sweep as a command with subcommands: its --help lists them, and sweep expand and
# sweep collect take --verbosity like every other command.
source "$(dirname "$0")/common.sh"

# 'zeta sweep --help': one line per subcommand, exit 0.
"$ZETA" sweep --help >help.txt 2>help.err || { cat help.err; fail "zeta sweep --help failed"; }
[ ! -s help.err ] || { cat help.err; fail "zeta sweep --help wrote to standard error"; }
grep -q "^Usage: zeta sweep <subcommand>" help.txt || fail "zeta sweep --help: no usage line"
[ "$(grep -c "^  expand " help.txt)" -eq 1 ] || fail "zeta sweep --help: no line for expand"
[ "$(grep -c "^  collect " help.txt)" -eq 1 ] || fail "zeta sweep --help: no line for collect"
"$ZETA" sweep -h | cmp -s - help.txt || fail "zeta sweep -h differs from --help"
run_ranks 2 sweep --help >help2.txt 2>help.err || { cat help.err; fail "sweep --help on 2 ranks"; }
[ "$(grep -c "^  expand " help2.txt)" -eq 1 ] || fail "sweep --help on 2 ranks: not printed once"
# Without a subcommand it is still a usage error.
expect_error 2 "zeta sweep: expected the subcommand 'expand' or 'collect'" "$ZETA" sweep

# --verbosity of sweep expand and collect: documented, INFO at the default, nothing at warn,
# a bad level refused like any out-of-range value.
cat >grid.ini <<'INI'
data = fm.h5
hidden = 16, 24
epochs = 1
INI
for sub in expand collect; do
  "$ZETA" sweep $sub --help | grep -q -- "--verbosity" || fail "sweep $sub --help lacks --verbosity"
done
"$ZETA" sweep expand grid.ini --out grid >expand.out 2>info.log || fail "sweep expand failed"
grep -q "grid.ini: 2 points in grid" info.log || { cat info.log; fail "expand: no INFO line"; }
grep -q "grid/configs.txt: 2 configs" expand.out || fail "expand printed: $(cat expand.out)"
"$ZETA" sweep expand grid.ini --out grid --verbosity warn >expand.out 2>warn.log ||
  fail "sweep expand --verbosity warn failed"
[ ! -s warn.log ] || { cat warn.log; fail "sweep expand --verbosity warn still logged"; }
grep -q "grid/configs.txt: 2 configs" expand.out || fail "expand --verbosity warn: no result"
"$ZETA" sweep collect grid >collect.out 2>info.log || fail "sweep collect failed"
grep -q "grid: 2 runs, 0 completed" info.log || { cat info.log; fail "collect: no INFO line"; }
"$ZETA" sweep collect grid --verbosity error >collect.out 2>warn.log ||
  fail "sweep collect --verbosity error failed"
[ ! -s warn.log ] || { cat warn.log; fail "sweep collect --verbosity error still logged"; }
grep -q "not-started" collect.out || fail "collect --verbosity error printed no table"
LOUD="option --verbosity: 'loud' is not one of debug, info, warn, error"
expect_error 2 "$LOUD" "$ZETA" sweep expand grid.ini --out other --verbosity loud
[ ! -e other ] || fail "sweep expand with a bad --verbosity wrote its folder"
expect_error 2 "$LOUD" run_ranks 2 sweep collect grid --verbosity loud
echo "sweep_test: all checks passed"
