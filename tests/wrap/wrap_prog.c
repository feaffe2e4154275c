/*
 * wrap_prog.c - a plain pthreads program, no faultline headers: what a
 * user's program looks like to `faultline wrap` (test_wrap.c drives it).
 * Every mode prints what its calls returned, so a test can compare what
 * the program saw with what wrap says it injected.
 *
 *   io DIR      writes 5 chunks to DIR/out with write(2), reads them back
 *               with read(2), mallocs a buffer; exits 3 if a call failed
 *   writes DIR N  N writes, prints the count that failed and which (. ok,
 *               x failed); exits 0
 *   threads N   4 threads, each N mallocs; prints each thread's failures
 *               as a string of . and x, in creation order
 *   crash       dereferences NULL (a crash wrap must report)
 *   libcfirst DIR  fopen (libc allocates the FILE) then a malloc of its
 *               own; prints which failed
 *   hang        a thread and main both wait forever in pause(), making no
 *               wrapped call (a hang --hang-after must catch)
 *   sweep       three mallocs; the first two checked (a failure frees what
 *               it has and exits 1), the third, in planted_copy, not: the
 *               sweep must find the crash at n=3 and nowhere else
 *   calls DIR [keep]  one each of pwrite, pread, openat, writev, readv,
 *               sendto, recvfrom, sendmsg, recvmsg (on a socketpair),
 *               clock_nanosleep, posix_memalign, aligned_alloc, memalign;
 *               prints "NAME: ok" or "NAME: strerror"; with keep, the
 *               posix_memalign block is left unfreed (a leak); exits 0
 *   fort DIR    open(2) with flags and read(2) with a length the compiler
 *               cannot see (volatile): in a _FORTIFY_SOURCE build these
 *               go to glibc's __open64_2 and __read_chk; prints each
 *               result as "NAME: ok" or "NAME: strerror"; exits 0
 *   snap DIR    opens DIR/snap and mallocs 100 bytes, raises SIGUSR2,
 *               then closes and frees both and exits 0 (a leak snapshot
 *               on the signal sees them; the check at exit does not)
 *   leaky DIR   leaves an fd open on DIR/kept, 100 bytes unfreed and a
 *               thread blocked, then exits 0 (each a leak wrap must find)
 */
#define _GNU_SOURCE /* openat, pwrite, clock_nanosleep, memalign under -std=c11 */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

static int io(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/out", dir);
	int failed = 0;
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0) {
		printf("open: %s\n", strerror(errno));
		return 3;
	}
	for (int i = 1; i <= 5; i++) {
		ssize_t n = write(fd, "chunk\n", 6);
		if (n < 0) {
			printf("write %d: %s\n", i, strerror(errno));
			failed = 1;
		} else {
			printf("write %d: ok\n", i);
		}
	}
	close(fd);
	char *buf = malloc(64);
	if (!buf) {
		printf("malloc: %s\n", strerror(errno));
		return 3;
	}
	fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, 64);
	printf("read: %zd bytes\n", n);
	if (n < 0)
		failed = 1;
	if (fd >= 0)
		close(fd);
	free(buf);
	return failed ? 3 : 0;
}

static int writes(const char *dir, int n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/writes", dir);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0)
		return 3;
	int failed = 0;
	static char seen[4096];
	n = n < 4095 ? n : 4095;
	for (int i = 0; i < n; i++) {
		bool bad = write(fd, "x", 1) < 0;
		failed += bad;
		seen[i] = bad ? 'x' : '.';
	}
	close(fd);
	printf("writes failed: %d of %d\nwrites seen: %s\n", failed, n, seen);
	return 0;
}

#define NTHREADS 4
static int per_thread;
static char seen[NTHREADS][1024];

static void *worker(void *arg)
{
	char *s = arg;
	for (int i = 0; i < per_thread; i++) {
		void *p = malloc(32);
		s[i] = p ? '.' : 'x';
		free(p);
	}
	return NULL;
}

static int threads(int n)
{
	per_thread = n < 1000 ? n : 1000;
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		if (pthread_create(&t[i], NULL, worker, seen[i]) != 0)
			return 3;
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < NTHREADS; i++)
		printf("thread %d: %s\n", i + 1, seen[i]);
	return 0;
}

/* The planted bug: the allocation is used unchecked. */
__attribute__((noinline)) static char *planted_copy(const char *s)
{
	char *p = malloc(strlen(s) + 1);
	strcpy(p, s);
	return p;
}

static int sweep(void)
{
	char *a = malloc(16);
	if (!a)
		return 1;
	char *b = malloc(32);
	if (!b) {
		free(a);
		return 1;
	}
	char *c = planted_copy("planted");
	printf("%s\n", c);
	free(c);
	free(b);
	free(a);
	return 0;
}

static void said(const char *name, bool ok, int err)
{
	printf("%s: %s\n", name, ok ? "ok" : strerror(err));
}

/* errno read after the call (an argument's order of evaluation is not) */
#define SAID(name, call)                  \
	do {                              \
		bool ok_ = (call);        \
		said((name), ok_, errno); \
	} while (0)

static void calls_io(const char *dir)
{
	char path[4096], b[8] = "abcdefg";
	snprintf(path, sizeof(path), "%s/calls", dir);
	int fd = openat(AT_FDCWD, path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	said("openat", fd >= 0, errno);
	if (fd < 0)
		fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0600);
	SAID("pwrite", pwrite(fd, b, 4, 0) == 4);
	SAID("pread", pread(fd, b, 4, 0) >= 0);
	struct iovec v = {b, 4};
	SAID("writev", writev(fd, &v, 1) == 4);
	lseek(fd, 0, SEEK_SET);
	SAID("readv", readv(fd, &v, 1) >= 0);
	close(fd);
}

static void calls_net(void)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
		return;
	char b[8] = "ping";
	SAID("sendto", sendto(sv[0], b, 4, 0, NULL, 0) == 4);
	SAID("recvfrom", recvfrom(sv[1], b, 4, MSG_DONTWAIT, NULL, NULL) == 4);
	struct iovec v = {b, 4};
	struct msghdr m = {.msg_iov = &v, .msg_iovlen = 1};
	SAID("sendmsg", sendmsg(sv[0], &m, 0) == 4);
	SAID("recvmsg", recvmsg(sv[1], &m, MSG_DONTWAIT) == 4);
	close(sv[0]);
	close(sv[1]);
}

static int calls(const char *dir, bool keep)
{
	calls_io(dir);
	calls_net();
	struct timespec ts = {0, 1000};
	int r = clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
	said("clock_nanosleep", r == 0, r);
	void *p = NULL;
	r = posix_memalign(&p, 64, 48);
	said("posix_memalign", r == 0, r);
	void *q = aligned_alloc(64, 64);
	said("aligned_alloc", q != NULL, errno);
	void *m = memalign(64, 32);
	said("memalign", m != NULL, errno);
	if (!keep)
		free(p);
	free(q);
	free(m);
	return 0;
}

static int fort(const char *dir)
{
	char path[4096], b[16];
	snprintf(path, sizeof(path), "%s/fort", dir);
	/* created through openat (another point); open's flags then need no mode */
	int fd = openat(AT_FDCWD, path, O_CREAT | O_WRONLY, 0600);
	if (fd < 0 || write(fd, "abcd", 4) != 4)
		return 3;
	close(fd);
	volatile int flags = O_RDONLY;
	volatile size_t n = 4;
	fd = open(path, flags);
	said("open", fd >= 0, errno);
	if (fd < 0)
		return 0;
	SAID("read", read(fd, b, n) >= 0);
	close(fd);
	return 0;
}

static int snap(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/snap", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	char *held = malloc(100);
	if (fd < 0 || !held)
		return 3;
	held[0] = 'x';
	raise(SIGUSR2);
	printf("raised\n");
	free(held);
	close(fd);
	return 0;
}

static void *blocked(void *arg)
{
	pause();
	return arg;
}

static int leaky(const char *dir)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/kept", dir);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	char *lost = malloc(100);
	pthread_t t;
	if (fd < 0 || !lost || pthread_create(&t, NULL, blocked, NULL) != 0)
		return 3;
	lost[0] = 'x';
	printf("leaked fd %d, 100 bytes, a thread\n", fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc >= 3 && strcmp(argv[1], "io") == 0)
		return io(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "writes") == 0)
		return writes(argv[2], atoi(argv[3]));
	if (argc >= 3 && strcmp(argv[1], "threads") == 0)
		return threads(atoi(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "libcfirst") == 0) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/f", argv[2]);
		FILE *f = fopen(path, "w");
		printf("fopen: %s\n", f ? "ok" : "failed");
		void *p = malloc(10);
		printf("malloc: %s\n", p ? "ok" : "failed");
		free(p);
		if (f)
			fclose(f);
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "hang") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, blocked, NULL) != 0)
			return 3;
		pause();
		return 0;
	}
	if (argc >= 2 && strcmp(argv[1], "sweep") == 0)
		return sweep();
	if (argc >= 3 && strcmp(argv[1], "calls") == 0)
		return calls(argv[2], argc >= 4 && strcmp(argv[3], "keep") == 0);
	if (argc >= 3 && strcmp(argv[1], "fort") == 0)
		return fort(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "snap") == 0)
		return snap(argv[2]);
	if (argc >= 3 && strcmp(argv[1], "leaky") == 0)
		return leaky(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "crash") == 0) {
		volatile int *p = NULL;
		return *p;
	}
	fprintf(stderr, "usage: wrap_prog io DIR | writes DIR N | threads N | crash\n");
	return 2;
}
