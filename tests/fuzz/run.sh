#!/bin/bash
# tests/fuzz/run.sh BUILD SECONDS NAME...: runs the libFuzzer targets
# BUILD/fuzz_NAME. For each one it first replays every input kept in
# tests/fuzz/regress/NAME/, then fuzzes for SECONDS on a fresh copy of the
# seed corpus tests/fuzz/corpus/NAME/ (with tests/fuzz/dict/NAME.dict when
# there is one), so runs never grow the corpus in the tree. A crash, leak or
# timeout fails the target; its input is kept in BUILD/artifacts/NAME/.
# Ends with a table of executions per second, coverage and corpus size, and
# exits 1 when any target failed.
set -u

build=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
# The same limits for the replay and the timed run. One allocation over
# 512 MB is a failure too: the largest the service allows (a 8192x4320
# image as 16-bit RGBA) is 283 MB, and a small input that makes a huge one
# is a memory-exhaustion bug even when it is freed at once.
limits=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512)
failed=()
rows=()

# The value after "key:" on the last line of log that has it.
last_field() {
	grep -o "$2: *[0-9]*" "$1" | tail -n 1 | grep -o '[0-9]*$'
}

for name in "$@"; do
	bin=$build/fuzz_$name
	log=$build/logs/$name.log
	corpus=$build/corpus/$name
	artifacts=$build/artifacts/$name/
	mkdir -p "$build/logs" "$artifacts"

	regress=("$here/regress/$name"/*)
	if [ -e "${regress[0]}" ]; then
		echo "== fuzz_$name: replaying ${#regress[@]} regression inputs"
		if ! "$bin" "${limits[@]}" -artifact_prefix="$artifacts" "${regress[@]}" \
			>"$build/logs/$name.regress.log" 2>&1; then
			tail -n 40 "$build/logs/$name.regress.log"
			failed+=("$name (regress)")
			rows+=("$(printf '%-12s %10s %8s %8s %14s  %s' "$name" - - - - 'FAILED (regress)')")
			continue
		fi
	fi

	rm -rf "$corpus"
	mkdir -p "$corpus"
	cp "$here/corpus/$name"/* "$corpus/"
	dict=()
	if [ -f "$here/dict/$name.dict" ]; then
		dict=(-dict="$here/dict/$name.dict")
	fi
	echo "== fuzz_$name: ${seconds}s on $(ls "$corpus" | wc -l) seed inputs (log: $log)"
	"$bin" "${limits[@]}" -max_total_time="$seconds" -print_final_stats=1 \
		-artifact_prefix="$artifacts" "${dict[@]}" "$corpus" >"$log" 2>&1
	status=$?

	execs=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$')
	cov=$(last_field "$log" cov)
	ft=$(last_field "$log" ft)
	files=$(ls "$corpus" | wc -l)
	bytes=$(cat "$corpus"/* | wc -c)
	result=ok
	if [ $status -ne 0 ]; then
		tail -n 40 "$log"
		result="FAILED (exit $status, see $log)"
		failed+=("$name")
	fi
	rows+=("$(printf '%-12s %10s %8s %8s %14s  %s' "$name" "${execs:--}" "${cov:--}" \
		"${ft:--}" "$files/$bytes" "$result")")
done

echo
echo "fuzzing summary (${seconds}s a target)"
printf '%-12s %10s %8s %8s %14s  %s\n' target exec/s cov ft 'corpus (n/B)' result
printf '%s\n' "${rows[@]}"
if [ ${#failed[@]} -ne 0 ]; then
	echo "failed: ${failed[*]}"
	exit 1
fi
