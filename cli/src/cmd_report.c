/*
 * cmd_report.c - `faultline report compare BASE NEW` (verdict changes, then
 * the reports side by side) and `faultline report merge OUT IN...` (the
 * shards' .json reports or .hlog interval logs added up).
 */
#include "cli_internal.h"

#include <fl/report.h>

#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* ---- report compare ------------------------------------------------------------------ */

static fl_err *load(const char *arg, fl_report **out)
{
	char path[PATH_MAX];
	struct stat st;
	if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
		snprintf(path, sizeof(path), "%s/report.json", arg);
	else
		snprintf(path, sizeof(path), "%s", arg);
	return fl_report_load_json(path, out);
}

static const fl_report_check *find_check(const fl_report *r, const char *name)
{
	for (size_t i = 0; i < r->nchecks; i++)
		if (strcmp(r->checks[i].name, name) == 0)
			return &r->checks[i];
	return NULL;
}

/* Splits argv into the output options (--report, --json, --junit, with
 * their values) and the positional BASE NEW; returns 0 or EXIT_USAGE. */
static int compare_args(int argc, char **argv, fl__cli_opts *o, char **pos, int *npos)
{
	char *opts[8];
	int nopt = 0;
	*npos = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		bool out = strncmp(a, "--report", 8) == 0 || strncmp(a, "--json", 6) == 0 ||
			   strncmp(a, "--junit", 7) == 0;
		if (out && nopt < 6) {
			opts[nopt++] = argv[i];
			if (!strchr(a, '=') && i + 1 < argc)
				opts[nopt++] = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "%s report compare: unknown option '%s'\n", fl__cli_prog,
				a);
			return EXIT_USAGE;
		} else if (*npos < 2) {
			pos[(*npos)++] = argv[i];
		} else {
			*npos = 3;
		}
	}
	return fl__cli_parse(nopt, opts, o, NULL, "report compare");
}

/* How the check c of the new report changed from base: the one place
 * that decides it for the printed changes, the exit code and the
 * comparison's own report. */
typedef struct change {
	const fl_report_check *b;  /* base's check of that name, or NULL: new */
	enum fl_report_verdict bv; /* its verdict, SKIP when new */
	bool worse;                /* failing now and not before: a regression */
	bool still;                /* failing in both */
	bool fixed;                /* failing before, passing now */
	bool shown;                /* a change the printed list shows */
} change;

static change classify(const fl_report *base, const fl_report_check *c)
{
	change k = {.b = find_check(base, c->name)};
	k.bv = k.b ? k.b->verdict : FL_REPORT_SKIP;
	k.worse = c->verdict == FL_REPORT_FAIL && k.bv != FL_REPORT_FAIL;
	k.still = c->verdict == FL_REPORT_FAIL && k.bv == FL_REPORT_FAIL;
	k.fixed = k.bv == FL_REPORT_FAIL && c->verdict == FL_REPORT_PASS;
	k.shown = k.b ? k.bv != c->verdict : c->verdict == FL_REPORT_FAIL;
	return k;
}

/* One check per check of either report: a newly failing one fails, one
 * failing in both or missing from cur is skipped (not a regression, not a
 * pass), the rest pass; messages say "base -> new". */
static fl_err *compare_report(const fl_report *base, const fl_report *cur, fl__cli_opts *o,
			      fl_report **out)
{
	struct fl_report_opts ro = fl__cli_report_opts(o, cur->fault_plan);
	ro.seed = cur->seed;
	ro.backend = cur->backend;
	fl_err *err = fl_report_new("compare", &ro, out);
	char msg[160];
	for (size_t i = 0; i < cur->nchecks && !err; i++) {
		const fl_report_check *c = &cur->checks[i];
		change k = classify(base, c);
		snprintf(msg, sizeof(msg), "%s -> %s%s",
			 k.b ? fl_report_verdict_name(k.bv) : "(new)",
			 fl_report_verdict_name(c->verdict), k.still ? " (failing in both)" : "");
		err = fl_report_add_check(*out, c->name,
					  k.worse   ? FL_REPORT_FAIL
					  : k.still ? FL_REPORT_SKIP
						    : FL_REPORT_PASS,
					  c->measured, c->threshold, c->unit, msg);
	}
	for (size_t i = 0; i < base->nchecks && !err; i++)
		if (!find_check(cur, base->checks[i].name)) {
			snprintf(msg, sizeof(msg), "%s -> (missing)",
				 fl_report_verdict_name(base->checks[i].verdict));
			err = fl_report_add_check(*out, base->checks[i].name, FL_REPORT_SKIP, NAN,
						  NAN, NULL, msg);
		}
	return err;
}

static void print_changes(const fl_report *base, const fl_report *cur, const char *bn,
			  const char *cn, long *worse, long *better)
{
	printf("verdict changes (%s -> %s):\n", bn, cn);
	for (size_t i = 0; i < cur->nchecks; i++) {
		const fl_report_check *c = &cur->checks[i];
		change k = classify(base, c);
		if (!k.shown)
			continue;
		printf("  %-60s %s -> %s\n", c->name, k.b ? fl_report_verdict_name(k.bv) : "(new)",
		       fl_report_verdict_name(c->verdict));
		*worse += k.worse;
		*better += k.fixed;
	}
	for (size_t i = 0; i < base->nchecks; i++)
		if (!find_check(cur, base->checks[i].name))
			printf("  %-60s %s -> (missing)\n", base->checks[i].name,
			       fl_report_verdict_name(base->checks[i].verdict));
	printf("  %ld newly failing, %ld fixed\n\n", *worse, *better);
}

int fl__cli_compare(int argc, char **argv)
{
	fl__cli_opts o = {0};
	char *pos[2];
	int npos, rc = compare_args(argc, argv, &o, pos, &npos);
	if (rc)
		return rc;
	if (npos != 2) {
		fprintf(stderr,
			"%s report compare: expected BASE NEW (report.json files "
			"or report directories)\n",
			fl__cli_prog);
		return EXIT_USAGE;
	}
	fl_report *base = NULL, *cur = NULL, *rep = NULL;
	fl_err *err = load(pos[0], &base);
	if (!err)
		err = load(pos[1], &cur);
	if (err) {
		fprintf(stderr, "%s report compare: ", fl__cli_prog);
		fl_err_print(stderr, err);
		fl_err_drop(err);
		fl_report_free(base);
		return EXIT_USAGE;
	}
	long worse = 0, better = 0;
	print_changes(base, cur, pos[0], pos[1], &worse, &better);
	err = fl_report_compare(base, cur, stdout);
	if (!err && (o.report_dir || o.json || o.junit) &&
	    !(err = compare_report(base, cur, &o, &rep)))
		err = fl__cli_write_report(&o, rep);
	if (err) {
		fprintf(stderr, "%s report compare: ", fl__cli_prog);
		fl_err_print(stderr, err);
		fl_err_drop(err);
	}
	fl_report_free(rep);
	fl_report_free(base);
	fl_report_free(cur);
	return err ? EXIT_USAGE : worse ? EXIT_CHECK_FAILED : EXIT_PASS;
}

/* ---- report merge ---------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n > k && strcmp(s + n - k, suffix) == 0;
}

static fl_err *merge_json(const char *out, char **in, int n)
{
	fl_report *acc = NULL; /* set only when loading succeeds */
	fl_err *err = fl_report_load_json(in[0], &acc);
	for (int i = 1; i < n && !err; i++) {
		fl_report *r;
		if ((err = fl_report_load_json(in[i], &r)))
			break;
		if ((err = fl_report_merge(acc, r)))
			err = fl_err_wrap(err, "merging %s", in[i]);
		fl_report_free(r);
	}
	if (!err)
		err = fl_report_write_json(acc, out);
	fl_report_free(acc);
	return err;
}

/* faultline report merge OUT IN... (argv: OUT IN...). */
int fl__cli_merge(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "%s report merge: expected OUT IN...\n", fl__cli_prog);
		return EXIT_USAGE;
	}
	const char *out = argv[0];
	bool hlog = ends_with(out, ".hlog");
	if (!hlog && !ends_with(out, ".json")) {
		fprintf(stderr, "%s: report merge: OUT must end in .json or .hlog: '%s'\n",
			fl__cli_prog, out);
		return EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++)
		if (!ends_with(argv[i], hlog ? ".hlog" : ".json")) {
			fprintf(stderr, "%s: report merge: '%s' is not a %s file\n", fl__cli_prog,
				argv[i], hlog ? ".hlog" : ".json");
			return EXIT_USAGE;
		}
	fl_err *err = hlog ? fl_report_merge_hlogs(out, (const char *const *)(argv + 1),
						   (size_t)(argc - 1))
			   : merge_json(out, argv + 1, argc - 1);
	if (err) {
		fprintf(stderr, "%s: report merge: ", fl__cli_prog);
		fl_err_print(stderr, err);
		fl_err_drop(err);
		return EXIT_USAGE;
	}
	printf("merged %d file%s into %s\n", argc - 1, argc == 2 ? "" : "s", out);
	return EXIT_PASS;
}
