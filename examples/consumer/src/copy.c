/*
 * copy.c - a plain C program of the user's, with no faultline in it:
 * copies a file through a reader thread and a writer (the main thread)
 * with read(2) and write(2), a block at a time through a small queue.
 * Every error is reported and makes the exit status 1. ci.sh runs it
 * under `faultline wrap` to see that it does.
 *
 *   copy IN OUT
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 4096

struct block {
	struct block *next;
	ssize_t n; /* 0: end of input; -1: the reader failed */
	char data[BLOCK];
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static struct block *head, *tail;
static int in_fd;
static int read_errno;

static void put(struct block *b)
{
	pthread_mutex_lock(&mu);
	b->next = NULL;
	if (tail)
		tail->next = b;
	else
		head = b;
	tail = b;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mu);
}

static struct block *get(void)
{
	pthread_mutex_lock(&mu);
	while (!head)
		pthread_cond_wait(&cv, &mu);
	struct block *b = head;
	head = b->next;
	if (!head)
		tail = NULL;
	pthread_mutex_unlock(&mu);
	return b;
}

static void *reader(void *arg)
{
	for (;;) {
		struct block *b = malloc(sizeof(*b));
		if (!b) {
			read_errno = ENOMEM;
			static struct block failed = {NULL, -1, {0}};
			put(&failed);
			return arg;
		}
		b->n = read(in_fd, b->data, BLOCK);
		if (b->n < 0)
			read_errno = errno;
		put(b);
		if (b->n <= 0)
			return arg;
	}
}

static int drain(int out)
{
	int rc = 0;
	for (;;) {
		struct block *b = get();
		ssize_t n = b->n;
		if (n < 0) {
			fprintf(stderr, "copy: read: %s\n", strerror(read_errno));
			rc = 1;
		} else if (n > 0 && rc == 0 && write(out, b->data, (size_t)n) != n) {
			fprintf(stderr, "copy: write: %s\n", strerror(errno));
			rc = 1;
		}
		if (n >= 0) /* n -1: the reader's static failure block */
			free(b);
		if (n <= 0)
			return rc;
	}
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: copy IN OUT\n");
		return 2;
	}
	in_fd = open(argv[1], O_RDONLY);
	if (in_fd < 0) {
		fprintf(stderr, "copy: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	int out = open(argv[2], O_CREAT | O_TRUNC | O_WRONLY, 0644);
	if (out < 0) {
		fprintf(stderr, "copy: %s: %s\n", argv[2], strerror(errno));
		close(in_fd);
		return 1;
	}
	pthread_t t;
	int e = pthread_create(&t, NULL, reader, NULL);
	if (e) {
		fprintf(stderr, "copy: thread: %s\n", strerror(e));
		close(in_fd);
		close(out);
		return 1;
	}
	int rc = drain(out);
	pthread_join(t, NULL);
	if (close(out) != 0 && rc == 0) {
		fprintf(stderr, "copy: close: %s\n", strerror(errno));
		rc = 1;
	}
	close(in_fd);
	return rc;
}
