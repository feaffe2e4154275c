/*
 * backtrace.c - a crashing child's backtrace, named by function, file and
 * line in the parent.
 *
 * The child cannot symbolise in its signal handler (nothing there may
 * allocate or take a lock), so it sends raw material over a pipe: before
 * any signal, one "M base end path" line per loaded object (from
 * dl_iterate_phdr); in the handler, one "A address" line per frame,
 * formatted by hand and written with write(2), both async-signal-safe.
 * The parent maps each address to its object and offset and asks binutils'
 * addr2line, once per object, for "function" and "file:line" (an address
 * is a return address: it looks up address - 1, the call). Frames are cut
 * at the scenario boundary: the handler's own frames and the system
 * library frames that delivered the signal (raise, abort) before the
 * crash, and everything from fl_scenario_run down (the runner, not the
 * scenario).
 * Without addr2line the frames stay "object+0xoffset".
 */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include "scn_internal.h"

#include <execinfo.h>
#include <inttypes.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fl_alloc_internal.h"

#define MAX_FRAMES 48
#define MAX_OBJS 64

static int bt_fd = -1;

/* Writes "A 0x<hex>\n" without stdio. */
static void write_addr(int fd, uintptr_t a)
{
	char buf[2 + 2 + 2 * sizeof(a) + 1];
	size_t n = sizeof(buf);
	buf[--n] = '\n';
	do {
		buf[--n] = "0123456789abcdef"[a & 15];
		a >>= 4;
	} while (a);
	buf[--n] = 'x';
	buf[--n] = '0';
	buf[--n] = ' ';
	buf[--n] = 'A';
	(void)!write(fd, buf + n, sizeof(buf) - n);
}

static void crash_handler(int sig)
{
	void *frames[MAX_FRAMES];
	int n = backtrace(frames, MAX_FRAMES);
	for (int i = 0; bt_fd >= 0 && i < n; i++)
		write_addr(bt_fd, (uintptr_t)frames[i]);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* One "M base end path" line per loaded object with a path. */
static int object_line(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	FILE *f = arg;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t a = info->dlpi_addr + ph->p_vaddr;
		lo = a < lo ? a : lo;
		hi = a + ph->p_memsz > hi ? a + ph->p_memsz : hi;
	}
	const char *path = info->dlpi_name;
	char self[4096];
	if (!path || !*path) { /* the program itself */
		ssize_t k = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (k <= 0)
			return 0;
		self[k] = '\0';
		path = self;
	}
	if (lo < hi)
		fprintf(f, "M %" PRIxPTR " %" PRIxPTR " %" PRIxPTR " %s\n", lo, hi,
			(uintptr_t)info->dlpi_addr, path);
	return 0;
}

void fl__scn_bt_install(int fd)
{
	void *warm[2];
	(void)backtrace(warm, 2); /* loads libgcc before any signal */
	FILE *f = fdopen(dup(fd), "w");
	if (f) {
		dl_iterate_phdr(object_line, f);
		fclose(f);
	}
	bt_fd = fd;
	static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = crash_handler;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESETHAND;
		(void)sigaction(sigs[i], &sa, NULL);
	}
}

typedef struct object {
	uintptr_t lo, hi, bias;
	char path[512];
} object;

/* What the parent reads and makes of one crash (on the heap: a library
 * function keeps no static buffers). */
typedef struct trace {
	object objs[MAX_OBJS];
	int nobj, naddr;
	uintptr_t addrs[MAX_FRAMES];  /* the call sites: return address - 1 */
	int obj[MAX_FRAMES];          /* index into objs, -1: none */
	char frames[MAX_FRAMES][800]; /* "function (file:line)" or "obj+0xoff" */
} trace;

/* One addr2line -f for every frame in object k (not one per frame):
 * frames[i] becomes "function (file:line)" or "function" where it can
 * tell, and stays empty where it cannot. */
static void symbolise(trace *t, int k)
{
	char cmd[4096], q[1100];
	size_t o = 0;
	q[o++] = '\'';
	for (const char *s = t->objs[k].path; *s && o + 5 < sizeof(q); s++) {
		if (*s == '\'') {
			memcpy(q + o, "'\\''", 4);
			o += 4;
		} else {
			q[o++] = *s;
		}
	}
	q[o++] = '\'';
	q[o] = '\0';
	int n = snprintf(cmd, sizeof(cmd), "addr2line -f -e %s", q);
	for (int i = 0; i < t->naddr && n > 0 && (size_t)n < sizeof(cmd) - 24; i++)
		if (t->obj[i] == k)
			n += snprintf(cmd + n, sizeof(cmd) - (size_t)n, " 0x%" PRIxPTR,
				      t->addrs[i] - t->objs[k].bias);
	snprintf(cmd + n, sizeof(cmd) - (size_t)n, " 2>/dev/null");
	FILE *p = popen(cmd, "r");
	if (!p)
		return;
	for (int i = 0; i < t->naddr; i++) { /* two lines per address, in order */
		if (t->obj[i] != k)
			continue;
		char fn[256] = "", where[512] = "";
		if (!fgets(fn, sizeof(fn), p) || !fgets(where, sizeof(where), p))
			break;
		fn[strcspn(fn, "\n")] = '\0';
		where[strcspn(where, "\n ")] = '\0';
		if (!fn[0] || strcmp(fn, "??") == 0)
			continue;
		const char *base = strrchr(where, '/');
		base = base ? base + 1 : where;
		if (strncmp(base, "??", 2) == 0)
			snprintf(t->frames[i], sizeof(t->frames[i]), "%s", fn);
		else
			snprintf(t->frames[i], sizeof(t->frames[i]), "%s (%s)", fn, base);
	}
	pclose(p);
}

/* Reads the child's lines: objects and frame addresses. */
static void read_lines(int fd, trace *t)
{
	FILE *f = fdopen(fd, "r");
	char line[700];
	uintptr_t a;
	while (f && fgets(line, sizeof(line), f)) {
		object *ob = &t->objs[t->nobj];
		if (line[0] == 'M' && t->nobj < MAX_OBJS &&
		    sscanf(line, "M %" SCNxPTR " %" SCNxPTR " %" SCNxPTR " %511[^\n]", &ob->lo,
			   &ob->hi, &ob->bias, ob->path) == 4)
			t->nobj++;
		else if (line[0] == 'A' && t->naddr < MAX_FRAMES &&
			 sscanf(line, "A %" SCNxPTR, &a) == 1)
			t->addrs[t->naddr] = a - (t->naddr ? 1 : 0), t->naddr++; /* the call */
	}
	if (f)
		fclose(f);
	else
		close(fd);
}

static bool is_system(const trace *t, int i)
{
	const char *p = t->obj[i] < 0 ? NULL : t->objs[t->obj[i]].path;
	return !p || strncmp(p, "/lib", 4) == 0 || strncmp(p, "/usr/lib", 8) == 0;
}

void fl__scn_bt_read(int fd, char *out, size_t cap)
{
	out[0] = '\0';
	trace *t = fl__calloc(1, sizeof(*t));
	if (!t) {
		close(fd);
		return;
	}
	read_lines(fd, t);
	for (int i = 0; i < t->naddr; i++) {
		t->obj[i] = -1;
		for (int k = 0; k < t->nobj && t->obj[i] < 0; k++)
			if (t->addrs[i] >= t->objs[k].lo && t->addrs[i] < t->objs[k].hi)
				t->obj[i] = k;
	}
	for (int k = 0; k < t->nobj; k++)
		symbolise(t, k);
	int start = 0;
	for (int i = 0; i < t->naddr; i++) {
		const object *ob = t->obj[i] < 0 ? NULL : &t->objs[t->obj[i]];
		if (!t->frames[i][0] && ob) /* addr2line could not say */
			snprintf(t->frames[i], sizeof(t->frames[i]), "%s+0x%" PRIxPTR,
				 strrchr(ob->path, '/') ? strrchr(ob->path, '/') + 1 : ob->path,
				 t->addrs[i] - ob->bias);
		fprintf(stderr, "faultline: child frame %d: %s\n", i, t->frames[i]);
		if (strncmp(t->frames[i], "crash_handler", 13) == 0)
			start = i + 1; /* the handler and the signal frame above it */
	}
	while (start < t->naddr && is_system(t, start)) /* signal delivery, raise, abort */
		start++;
	size_t o = 0;
	for (int i = start; i < t->naddr && o + 8 < cap; i++) {
		if (strncmp(t->frames[i], "fl_scenario_run ", 16) == 0)
			break;                  /* the runner below the scenario */
		if (!strchr(t->frames[i], '(')) /* no source line */
			continue;
		o += (size_t)snprintf(out + o, cap - o, "%s%s", o ? " < " : "", t->frames[i]);
	}
	free(t);
}
