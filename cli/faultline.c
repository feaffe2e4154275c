/*
 * faultline.c - the faultline command: fl_main over the built-in
 * catalogue, which it registers first (a user's binary gets only its own
 * scenarios), and git-style external commands: `faultline X ...` for a
 * verb fl_main does not know runs faultline-X next to this binary, or on
 * PATH as git finds git-X.
 */
#include "cli_internal.h"
#include "fl_version_internal.h"

#include <fl/main.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int dispatch(char **argv)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		char path[PATH_MAX];
		if (slash &&
		    snprintf(path, sizeof(path), "%.*s/faultline-%s", (int)(slash - self), self,
			     argv[1]) < (int)sizeof(path) &&
		    strchr(argv[1], '/') == NULL && access(path, X_OK) == 0) {
			argv[1] = path;
			execv(path, argv + 1);
			fprintf(stderr, "faultline: cannot run %s: %s\n", path, strerror(errno));
			return EXIT_USAGE;
		}
	}
	/* Not beside us (a copied binary): on PATH. */
	char name[NAME_MAX + 1];
	if (strchr(argv[1], '/') == NULL &&
	    snprintf(name, sizeof(name), "faultline-%s", argv[1]) < (int)sizeof(name)) {
		char *sub = argv[1];
		argv[1] = name;
		execvp(name, argv + 1);
		argv[1] = sub;
		if (errno != ENOENT) {
			fprintf(stderr, "faultline: cannot run %s: %s\n", name, strerror(errno));
			return EXIT_USAGE;
		}
	}
	fprintf(stderr, "faultline: unknown command '%s' (faultline --help)\n", argv[1]);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	fl_err *err = fl_scenario_register_builtins();
	if (err) {
		fprintf(stderr, "faultline: ");
		fl_err_print(stderr, err);
		fl_err_drop(err);
		return EXIT_USAGE;
	}
	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0)) {
		printf("faultline %s (%s)\n", FL_VERSION, FL_REVISION);
		return EXIT_PASS;
	}
	if (argc >= 2 && argv[1][0] != '-' && !fl__cli_known_verb(argv[1]))
		return dispatch(argv);
	int rc = fl_main(argc, argv);
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0))
		printf("Any other COMMAND runs faultline-COMMAND from faultline's directory or\n"
		       "from PATH, as git runs git-COMMAND.\n");
	return rc;
}
