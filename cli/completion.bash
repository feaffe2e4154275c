# bash completion for faultline and faultline-bench (installed as
# share/bash-completion/completions/faultline and .../faultline-bench).
# Completes verbs, each verb's options, backends, and scenario names (asked
# of `faultline list --json`, so job files' sections come with their file).

_faultline_scenarios()
{
	"$1" list --json 2>/dev/null | sed -n 's/^    "name": "\([^"]*\)",$/\1/p'
}

_faultline()
{
	local cur prev cmd
	cur=${COMP_WORDS[COMP_CWORD]}
	prev=${COMP_WORDS[COMP_CWORD-1]}
	cmd=${COMP_WORDS[1]}
	case $prev in
	--backend) COMPREPLY=($(compgen -W "threads fibers sim" -- "$cur")); return ;;
	--strategy) COMPREPLY=($(compgen -W "random pct pos dfs" -- "$cur")); return ;;
	--depth) COMPREPLY=($(compgen -W "1 2 3 auto" -- "$cur")); return ;;
	--report|--out|--json|--junit|--md|--save|--job|--schedule) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--clock) COMPREPLY=($(compgen -W "real virtual" -- "$cur")); return ;;
	--work) COMPREPLY=($(compgen -W "spin sleep" -- "$cur")); return ;;
	esac
	if [ "${COMP_WORDS[0]##*/}" = faultline-bench ]; then
		if [ "$COMP_CWORD" -eq 1 ]; then
			COMPREPLY=($(compgen -W "run sweep sweep-report gate --help --version" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "--rate --schedule --poisson --warmup --duration --items
				--stages --workers --buffer --limit --service --work --clock --seed
				--fault-plan --interval --backend --job --slo --out --json --md --reps
				--warmup-reps --cell --shard --save" -- "$cur"))
		fi
		return
	fi
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W "run list stress explore replay sweep report bench wrap --help --version" -- "$cur"))
		return
	fi
	case $cmd in
	report) COMPREPLY=($(compgen -W "compare merge" -- "$cur")); return ;;
	wrap)
		# after "--": the program, then its own arguments (files)
		local i
		for ((i = 2; i < COMP_CWORD; i++)); do
			if [ "${COMP_WORDS[i]}" = -- ]; then
				if [ $((i + 1)) -eq "$COMP_CWORD" ]; then
					COMPREPLY=($(compgen -c -- "$cur"))
				else
					COMPREPLY=($(compgen -f -- "$cur"))
				fi
				return
			fi
		done
		if [ "$prev" = --sweep ]; then
			COMPREPLY=($(compgen -W "libc/mem/malloc libc/mem/calloc libc/mem/realloc
				libc/io/read libc/io/write libc/io/open libc/io/close libc/io/fsync
				libc/net/connect libc/net/accept libc/net/send libc/net/recv
				libc/thread/create libc/time/nanosleep libc/io/pwrite libc/io/pread
				libc/io/openat libc/io/writev libc/io/readv libc/net/sendto
				libc/net/recvfrom libc/net/sendmsg libc/net/recvmsg
				libc/time/clock_nanosleep libc/mem/posix_memalign libc/mem/aligned_alloc
				libc/mem/memalign" -- "$cur"))
		elif [ "$prev" = --report-on ]; then
			COMPREPLY=($(compgen -W "USR1 USR2 HUP INT TERM QUIT WINCH" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "--faults --seed --report --json --junit --only-from --hang-after --report-on --sweep --max --" -- "$cur"))
		fi
		return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "--seed --backend --faults --iterations --duration --report
			--json --junit --skip-timing --no-isolate --batch --action --strategy --depth
			--steps --preemptions --runs --keep-going --check-determinism --schedule
			--help" -- "$cur"))
	else
		COMPREPLY=($(compgen -W "catalogue $(_faultline_scenarios "${COMP_WORDS[0]}")" -- "$cur")
			   $(compgen -f -X '!*.ini' -- "$cur"))
	fi
}
complete -F _faultline faultline faultline-bench
