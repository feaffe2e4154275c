/*
 * batch.c - what stress and explore share: iterations of one scenario in
 * batches, one forked child per batch running its iterations in-process
 * (a fork per iteration would dominate the cost of small scenarios), each
 * a fresh fl_scenario_run with one pipeline run (fl__cli_iter_params).
 *
 * Before each iteration the child writes "B index seed plan" to a pipe, so
 * whatever kills or hangs the child, the parent knows which seed to hand
 * to replay. A failed iteration is reported as "F ..." followed by its
 * failed checks ("C ..."); the child then exits, unless the batch keeps
 * going (explore's measurement). Explore's children also write, after
 * each run, "H index hash steps tasks failed strategy preemptions last": the
 * schedule's trace hash, its steps and tasks, the strategy spec that
 * replays it, its preemptions and whether dfs has run its last schedule
 * (the child then stops: the search is exhausted).
 *
 * Stress draws each iteration's seed as splitmix64(base + index) and a
 * fault plan from the scenario's stress_faults; explore uses base + index
 * (base for every run under dfs) and no plan (only the schedule varies).
 */
#include "cli_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t fl__cli_splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint64_t fl__cli_random_seed(void)
{
	uint64_t s = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &s, sizeof(s)) != (ssize_t)sizeof(s))
			s = 0;
		close(fd);
	}
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return s ^ (uint64_t)t.tv_nsec ^ ((uint64_t)getpid() << 32);
}

size_t fl__cli_nplans(const fl_scenario *s)
{
	size_t n = 0;
	while (s->stress_faults && s->stress_faults[n])
		n++;
	return n;
}

static void write_line(int fd, const char *fmt, ...) FL_PRINTF(2, 3);
static void write_line(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	for (ssize_t off = 0, k; off < n; off += k)
		if ((k = write(fd, buf + off, (size_t)(n - off))) <= 0)
			return;
}

static void failed_checks(int fd, const fl_scenario_result *r)
{
	if (r->run_err[0])
		write_line(fd, "C ran: %s\n", r->run_err);
	for (size_t k = 0; k < r->nchecks; k++)
		if (r->checks[k].verdict == FL_REPORT_FAIL)
			write_line(fd, "C %s: %s\n", r->checks[k].name, r->checks[k].message);
}

static void batch_child(const fl__cli_batch *b, int fd)
{
	const fl_scenario *s = b->s;
	size_t np = b->explore ? 0 : fl__cli_nplans(s);
	write_line(fd, "K %s\n", fl_sched_backend());
	for (long i = b->from; i < b->to; i++) {
		uint64_t seed = b->same_seed ? b->base
				: b->explore ? b->base + (uint64_t)i
					     : fl__cli_splitmix(b->base + (uint64_t)i);
		long pi = np ? (long)(seed % np) : -1;
		write_line(fd, "B %ld %" PRIu64 " %ld\n", i, seed, pi);
		fl_scenario_params p =
			fl__cli_iter_params(s, seed, pi >= 0 ? s->stress_faults[pi] : NULL);
		fl_scenario_result r;
		fl_scenario_result_init(&r, s);
		fl_err_drop(fl_scenario_run(s, &p, &r));
		bool passed = fl_scenario_result_passed(&r), last = fl_sim_space_exhausted();
		if (b->explore) {
			char strat[64];
			fl_sim_strategy_used(strat, sizeof(strat));
			write_line(fd,
				   "H %ld %" PRIu64 " %" PRIu64 " %" PRIu64 " %d %s %" PRIu64
				   " %d\n",
				   i, fl_sim_trace_hash(), fl_sim_steps(), fl_sim_tasks(), !passed,
				   strat, fl_sim_preemptions(), last);
		}
		if (!passed && !b->keep_going) {
			write_line(fd, "F %ld %" PRIu64 " %ld %d\n", i, seed, pi, r.hung ? 1 : 0);
			failed_checks(fd, &r);
			fl_scenario_result_destroy(&r);
			_exit(1);
		}
		fl_scenario_result_destroy(&r);
		if (b->same_seed && last)
			break;
	}
	write_line(fd, "E\n");
	_exit(0);
}

static void read_batch(int fd, const fl__cli_batch *bt, fl__cli_batch_out *b)
{
	FILE *f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return;
	}
	char line[1200];
	size_t len = 0;
	while (fgets(line, sizeof(line), f)) {
		long i, pi;
		uint64_t seed;
		int hung;
		if (line[0] == 'K') {
			snprintf(b->backend, sizeof(b->backend), "%.*s",
				 (int)strcspn(line + 2, "\n"), line + 2);
		} else if (line[0] == 'B' &&
			   sscanf(line + 2, "%ld %" SCNu64 " %ld", &i, &seed, &pi) == 3) {
			b->last = i, b->seed = seed, b->plan = pi;
		} else if (line[0] == 'H' && bt->on_run) {
			bt->on_run(bt->arg, line + 2);
		} else if (line[0] == 'F' &&
			   sscanf(line + 2, "%ld %" SCNu64 " %ld %d", &i, &seed, &pi, &hung) == 4) {
			b->failed = true, b->hung = hung != 0;
		} else if (line[0] == 'C' && len < sizeof(b->checks) - 1) {
			len += (size_t)snprintf(b->checks + len, sizeof(b->checks) - len, "  %s",
						line + 2);
		}
	}
	fclose(f);
}

int fl__cli_batch_run(const fl__cli_batch *bt, fl__cli_batch_out *b, int *status)
{
	*b = (fl__cli_batch_out){.last = -1, .plan = -1};
	int pfd[2];
	if (pipe(pfd) != 0) {
		fprintf(stderr, "%s: pipe: %s\n", fl__cli_prog, strerror(errno));
		return EXIT_USAGE;
	}
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		fprintf(stderr, "%s: fork: %s\n", fl__cli_prog, strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return EXIT_USAGE;
	}
	if (pid == 0) {
		close(pfd[0]);
		batch_child(bt, pfd[1]);
	}
	close(pfd[1]);
	read_batch(pfd[0], bt, b);
	*status = 0;
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	b->clean = WIFEXITED(*status) && WEXITSTATUS(*status) == 0 && !b->failed;
	return 0;
}

void fl__cli_replay_line(char *out, size_t cap, const char *spec, const char *backend,
			 uint64_t seed, const char *plan, const char *strategy)
{
	char q[1200], t[400];
	fl__cli_shell_quote(spec, t, sizeof(t));
	int n = snprintf(out, cap, "%s replay %" PRIu64 " %s", fl__cli_argv0, seed, t);
	if (plan && n >= 0 && (size_t)n < cap) {
		fl__cli_shell_quote(plan, q, sizeof(q));
		n += snprintf(out + n, cap - (size_t)n, " --faults %s", q);
	}
	if (backend[0] && n >= 0 && (size_t)n < cap)
		n += snprintf(out + n, cap - (size_t)n, " --backend %s", backend);
	if (strategy && n >= 0 && (size_t)n < cap) {
		int depth = 0;
		unsigned long long steps = 0;
		if (sscanf(strategy, "pct:%d:%llu", &depth, &steps) == 2)
			snprintf(out + n, cap - (size_t)n,
				 " --strategy pct --depth %d --steps %llu", depth, steps);
		else
			snprintf(out + n, cap - (size_t)n, " --strategy %s", strategy);
	}
}
