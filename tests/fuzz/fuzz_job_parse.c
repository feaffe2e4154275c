/*
 * fuzz_job_parse.c - libFuzzer target for the job-file parser
 * (fl_jobs_parse), built with FL_FUZZ=ON under clang and run by
 * tests/fuzz/jobs.sh (`make fuzz`) from a corpus seeded with the example
 * job files of scenarios/jobs/.
 *
 * For every input (as text, up to its first NUL):
 *   - a refusal is FL_ERR_INVAL (or FL_ERR_NOMEM) and its message starts
 *     "fuzz.ini:<line>: " with a line inside the input (0 for the whole
 *     file), or names the file alone;
 *   - an accepted file has at least one scenario; each has a non-empty
 *     name that fl_jobs_find maps back to it, and a pipeline inside the
 *     documented ranges (2-6 stages, workers 1-256, width 1-256, buffer
 *     0-65536, items 1-1e8, a finite rate 0-1e9, work 0-60 s).
 * Any crash, leak or sanitizer report (ASan, UBSan) is a finding.
 */
#include <fl/job.h>
#include <fl/scenario.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int ok, const char *what, const char *text)
{
	if (!ok) {
		fprintf(stderr, "invariant broken: %s\n--- input ---\n%s\n", what, text);
		abort();
	}
}

static int lines_of(const char *text)
{
	int n = 1;
	for (const char *p = text; *p; p++)
		n += *p == '\n' || (*p == '\r' && p[1] != '\n');
	return n;
}

static void check_refusal(fl_err *e, const char *text)
{
	char msg[2048];
	fl_err_format(e, msg, sizeof(msg));
	must(fl_err_is(e, FL_ERR_INVAL) || fl_err_is(e, FL_ERR_NOMEM), "refusal kind", text);
	must(strncmp(msg, "fuzz.ini", 8) == 0, "refusal names the file", text);
	int line = -1;
	if (sscanf(msg, "fuzz.ini:%d:", &line) == 1)
		must(line >= 0 && line <= lines_of(text), "refusal line inside the input", text);
}

static void check_jobs(const fl_jobs *j, const char *text)
{
	size_t n = fl_jobs_count(j);
	must(n > 0, "an accepted file has a scenario", text);
	for (size_t i = 0; i < n; i++) {
		const fl_scenario *s = fl_jobs_scenario(j, i);
		must(s && s->name && s->name[0], "scenario named", text);
		must(fl_jobs_find(j, s->name) == s, "find maps the name back", text);
		fl_job_pipeline p;
		must(fl_jobs_pipeline(j, i, &p), "pipeline", text);
		must(p.nstages >= 2 && p.nstages <= 6, "stages 2-6", text);
		for (int k = 0; k < p.nstages; k++)
			must(p.stages[k] && p.stages[k][0], "stage named", text);
		must(p.workers >= 1 && p.workers <= 256, "workers", text);
		must(p.width >= 1 && p.width <= 256, "width", text);
		must(p.buffer >= 0 && p.buffer <= 65536, "buffer", text);
		must(p.items >= 1 && p.items <= 100000000, "items", text);
		must(isfinite(p.rate) && p.rate >= 0 && p.rate <= 1e9, "rate", text);
		must(p.work_ns >= 0 && p.work_ns <= 60000000000LL, "work", text);
		must(p.faults != NULL, "faults text", text);
	}
	fl_job_pipeline p;
	must(!fl_jobs_pipeline(j, n, &p), "pipeline past the end", text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1 << 16)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	fl_jobs *j = NULL;
	fl_err *e = fl_jobs_parse(text, "fuzz.ini", &j);
	if (e) {
		must(j == NULL, "no jobs on error", text);
		check_refusal(e, text);
		fl_err_drop(e);
	} else {
		check_jobs(j, text);
		fl_jobs_free(j);
	}
	free(text);
	return 0;
}
