/*
 * test_report_set.c - a report directory survives SIGKILLs as a set.
 *
 * A child process (this binary, --set-writer OUT MODE FIRST) writes
 * generation after generation of a report into OUT, each named "gen-<N>",
 * and writes a progress byte (fl_test_kill.h) after each; the parent kills
 * it after a seeded random number of them and a seeded random delay of up
 * to 2 ms, so the kill lands at a random point of a later write (the
 * directory is on tmpfs when there is one, where a set takes about that). After every kill the four files must exist and
 * all carry the same generation. MODE "set" is fl_report_write_all; MODE
 * "each", the four single-file writers one after another, is the negative
 * control: the same kills must catch it mixing generations. Afterwards a
 * write_all from the parent must remove what the killed writers left
 * (staging directories, "*.tmp.*" files) and keep the user's own file.
 */
#include <fl/report.h>

#include <sys/stat.h>

#include "fl_test_kill.h"
#include "test_report_util.h"

static const char *g_self;

static fl_report *gen_report(long gen)
{
	char name[32];
	snprintf(name, sizeof(name), "gen-%ld", gen);
	struct fl_report_opts o = {.seed = (uint64_t)gen,
				   .backend = "threads",
				   .start_unix_ns = 1700000000000000000LL};
	fl_report *r = NULL;
	ASSERT_OK(fl_report_new(name, &o, &r));
	ASSERT_OK(fl_report_set_duration(r, 1000000000LL));
	for (int i = 0; i < 40; i++) { /* some bulk, so a write takes a while */
		char c[32];
		snprintf(c, sizeof(c), "check %d", i);
		ASSERT_OK(fl_report_add_check(r, c, FL_REPORT_PASS, i, 100, "ops", "fine"));
		snprintf(c, sizeof(c), "counter %d", i);
		ASSERT_OK(fl_report_add_counter(r, c, i));
	}
	return r;
}

static void write_each(const fl_report *r, const char *out)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s/report.json", out);
	ASSERT_OK(fl_report_write_json(r, p));
	snprintf(p, sizeof(p), "%s/junit.xml", out);
	ASSERT_OK(fl_report_write_junit(r, p));
	snprintf(p, sizeof(p), "%s/summary.md", out);
	ASSERT_OK(fl_report_write_markdown(r, p));
	ASSERT_OK(fl_report_write_html(r, out));
}

/* `--set-writer OUT set|each FIRST`: generations FIRST, FIRST + 1, ...
 * until killed (or 10000 of them). */
static int writer_main(char **argv)
{
	bool set = strcmp(argv[3], "set") == 0;
	for (long gen = atol(argv[4]); gen < atol(argv[4]) + 10000; gen++) {
		fl_report *r = gen_report(gen);
		if (set)
			ASSERT_OK(fl_report_write_all(r, argv[2]));
		else
			write_each(r, argv[2]);
		fl_report_free(r);
		kill_progress();
	}
	return 0;
}

static const char *const set_files[] = {"report.json", "junit.xml", "summary.md", "index.html"};

/* The generation each of the four files carries; -1 when one is missing. */
static void generations(const char *out, long gens[4])
{
	for (int i = 0; i < 4; i++) {
		char p[1024];
		snprintf(p, sizeof(p), "%s/%s", out, set_files[i]);
		gens[i] = -1;
		if (access(p, F_OK) != 0)
			continue;
		char *s = slurp_file(p);
		const char *g = strstr(s, "gen-");
		gens[i] = g ? atol(g + 4) : -2;
		free(s);
	}
}

/* Entries of dir whose name contains needle. */
static int count_named(const char *dir, const char *needle)
{
	DIR *d = opendir(dir);
	ASSERT_NOT_NULL(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += strstr(de->d_name, needle) != NULL;
	closedir(d);
	return n;
}

struct tally {
	long kills, mixed, leftovers;
	char first_mixed[200];
};

static void kill_writers(const char *root, const char *mode, long kills, struct tally *t)
{
	char out[1024], first[32];
	snprintf(out, sizeof(out), "%s/out", root);
	uint64_t seed = kill_seed();
	memset(t, 0, sizeof(*t));
	char *argv[] = {(char *)g_self, (char *)"--set-writer", out, (char *)mode, first, NULL};
	for (long k = 0; k < kills; k++) {
		snprintf(first, sizeof(first), "%ld", (k + 1) * 10000);
		long n = kill_draw(&seed, 1, 3), delay = kill_draw(&seed, 0, 2000) * 1000;
		ASSERT(kill_after_ns(kill_spawn(argv), n, delay));
		t->kills++;
		long g[4];
		generations(out, g);
		if ((g[0] != g[1] || g[1] != g[2] || g[2] != g[3] || g[0] < 0) && !t->mixed++)
			snprintf(t->first_mixed, sizeof(t->first_mixed),
				 "kill %ld: json %ld, junit %ld, md %ld, html %ld", k, g[0], g[1],
				 g[2], g[3]);
		t->leftovers += count_named(root, ".set-") + count_named(out, ".tmp.");
	}
	fprintf(stderr,
		"report set (%s, seed %#llx): %ld kills, %ld mixed sets, %ld leftovers"
		" seen\n",
		mode, (unsigned long long)kill_seed(), t->kills, t->mixed, t->leftovers);
}

static char *prepared_root(void)
{
	char *root;
	if (access("/dev/shm", W_OK | X_OK) == 0) {
		char t[] = "/dev/shm/fl-report-set-XXXXXX";
		ASSERT_NOT_NULL(mkdtemp(t));
		root = strdup(t);
		ASSERT_NOT_NULL(root);
	} else {
		root = scratch_dir();
	}
	char out[1024];
	snprintf(out, sizeof(out), "%s/out", root);
	ASSERT_EQ(mkdir(out, 0755), 0);
	fl_report *r = gen_report(0);
	ASSERT_OK(fl_report_write_all(r, out));
	fl_report_free(r);
	snprintf(out, sizeof(out), "%s/out/keep.txt", root);
	spit_file(out, "the user's own file");
	return root;
}

static void free_root(char *root)
{
	char out[1024];
	snprintf(out, sizeof(out), "%s/out", root);
	char *o = strdup(out);
	ASSERT_NOT_NULL(o);
	scratch_free(o);
	scratch_free(root);
}

/* 100 kills (FL_KILLS for more; 40 in sanitized builds, where a writer
 * starts slower). */
FL_TEST(killed_writer_leaves_a_whole_set)
{
	char *root = prepared_root();
	struct tally t;
	kill_writers(root, "set", kill_count(KILL_BUDGET(100, 40, 40)), &t);
	if (t.mixed)
		FL_FAIL("%ld of %ld kills left a mixed set; first: %s", t.mixed, t.kills,
			t.first_mixed);
	ASSERT_GT(t.leftovers, 0); /* kills did land mid-write */
	/* The next write removes what the dead writers left. */
	char out[1024];
	snprintf(out, sizeof(out), "%s/out", root);
	fl_report *r = gen_report(1);
	ASSERT_OK(fl_report_write_all(r, out));
	fl_report_free(r);
	bool tmp;
	ASSERT_EQ(dir_entries(root, &tmp), 1);
	ASSERT_EQ(dir_entries(out, &tmp), 5);
	ASSERT(!tmp);
	char kp[1100];
	snprintf(kp, sizeof(kp), "%s/keep.txt", out);
	char *keep = slurp_file(kp);
	ASSERT_STR_EQ(keep, "the user's own file");
	free(keep);
	long g[4];
	generations(out, g);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(g[i], 1);
	free_root(root);
}

/* Negative control: the four files written one by one do mix under the
 * same kills; the check above would see it. */
FL_TEST(killed_single_writers_mix_the_set)
{
	char *root = prepared_root();
	struct tally t;
	kill_writers(root, "each", kill_count(KILL_BUDGET(100, 40, 40)), &t);
	ASSERT_GT(t.mixed, 0);
	free_root(root);
}

/* A directory holding a subdirectory cannot be exchanged: the set is then
 * written file by file, and the subdirectory stays. */
FL_TEST(subdirectory_falls_back_to_file_by_file)
{
	char *root = prepared_root();
	char out[1024], sub[1100];
	snprintf(out, sizeof(out), "%s/out", root);
	snprintf(sub, sizeof(sub), "%s/hlogs", out);
	ASSERT_EQ(mkdir(sub, 0755), 0);
	struct stat before, after;
	ASSERT_EQ(stat(out, &before), 0);
	fl_report *r = gen_report(7);
	ASSERT_OK(fl_report_write_all(r, out));
	fl_report_free(r);
	ASSERT_EQ(stat(out, &after), 0);
	ASSERT(before.st_ino == after.st_ino); /* written in place */
	long g[4];
	generations(out, g);
	for (int i = 0; i < 4; i++)
		ASSERT_EQ(g[i], 7);
	ASSERT_EQ(rmdir(sub), 0);
	/* Without it the directory is exchanged: a new inode, same mode, and
	 * the user's files kept, even one whose name has ".tmp." in it. */
	snprintf(sub, sizeof(sub), "%s/notes.tmp.txt", out);
	spit_file(sub, "mine");
	r = gen_report(8);
	ASSERT_OK(fl_report_write_all(r, out));
	fl_report_free(r);
	ASSERT_EQ(stat(out, &after), 0);
	ASSERT(before.st_ino != after.st_ino);
	ASSERT_EQ(after.st_mode & 07777, before.st_mode & 07777);
	char *mine = slurp_file(sub);
	ASSERT_STR_EQ(mine, "mine");
	free(mine);
	free_root(root);
}

static const fl_test_case cases[] = {FL_CASE(killed_writer_leaves_a_whole_set),
				     FL_CASE(killed_single_writers_mix_the_set),
				     FL_CASE(subdirectory_falls_back_to_file_by_file),
				     {0, 0}};

int main(int argc, char **argv)
{
	g_self = argv[0];
	if (argc == 5 && strcmp(argv[1], "--set-writer") == 0)
		return writer_main(argv);
	return fl_test_main(argc, argv, cases);
}
