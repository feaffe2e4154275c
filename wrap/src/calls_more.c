/*
 * calls_more.c - the positioned, vectored and message calls of
 * libfaultline-preload.so (pwrite, pread, openat, writev, readv, sendto,
 * recvfrom, sendmsg, recvmsg) and clock_nanosleep, each a fault point as
 * in calls.c: ask fl__wrap_enter (preload.c), then fail with the errno the
 * plan chose or make the real call, found with dlsym(RTLD_NEXT).
 *
 * A program built with _FILE_OFFSET_BITS=64 (SQLite is) links pwrite64,
 * pread64 and openat64 instead: the same calls on 64-bit glibc, wrapped
 * under the same points. So is a program built with _FORTIFY_SOURCE
 * (Debian's are): where the compiler cannot check a call's size or flags
 * it calls glibc's checking entry points (__read_chk, __open_2, ...)
 * instead, wrapped here under the points of the calls they check.
 */
#define _GNU_SOURCE
#include "preload_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* ---- files ------------------------------------------------------------------------ */

FL_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	FL_WRAP_REAL(pwrite);
	FL_WRAP_FAULT(FL_WRAP_PWRITE);
	return real_pwrite(fd, buf, n, off);
}

FL_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off)
{
	FL_WRAP_REAL(pwrite64);
	FL_WRAP_FAULT(FL_WRAP_PWRITE);
	return real_pwrite64(fd, buf, n, off);
}

FL_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	FL_WRAP_REAL(pread);
	FL_WRAP_FAULT(FL_WRAP_PREAD);
	return real_pread(fd, buf, n, off);
}

FL_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off64_t off)
{
	FL_WRAP_REAL(pread64);
	FL_WRAP_FAULT(FL_WRAP_PREAD);
	return real_pread64(fd, buf, n, off);
}

FL_EXPORT int openat(int dir, const char *path, int flags, ...)
{
	FL_WRAP_REAL(openat);
	mode_t mode = FL_WRAP_OPEN_MODE(flags, flags);
	FL_WRAP_FAULT(FL_WRAP_OPENAT);
	return real_openat(dir, path, flags, mode);
}

FL_EXPORT int openat64(int dir, const char *path, int flags, ...)
{
	FL_WRAP_REAL(openat64);
	mode_t mode = FL_WRAP_OPEN_MODE(flags, flags);
	FL_WRAP_FAULT(FL_WRAP_OPENAT);
	return real_openat64(dir, path, flags, mode);
}

FL_EXPORT ssize_t writev(int fd, const struct iovec *iov, int n)
{
	FL_WRAP_REAL(writev);
	FL_WRAP_FAULT(FL_WRAP_WRITEV);
	return real_writev(fd, iov, n);
}

FL_EXPORT ssize_t readv(int fd, const struct iovec *iov, int n)
{
	FL_WRAP_REAL(readv);
	FL_WRAP_FAULT(FL_WRAP_READV);
	return real_readv(fd, iov, n);
}

/* ---- sockets ---------------------------------------------------------------------- */

FL_EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *a,
			 socklen_t len)
{
	FL_WRAP_REAL(sendto);
	FL_WRAP_FAULT(FL_WRAP_SENDTO);
	return real_sendto(fd, buf, n, flags, a, len);
}

FL_EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *a,
			   socklen_t *len)
{
	FL_WRAP_REAL(recvfrom);
	FL_WRAP_FAULT(FL_WRAP_RECVFROM);
	return real_recvfrom(fd, buf, n, flags, a, len);
}

FL_EXPORT ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	FL_WRAP_REAL(sendmsg);
	FL_WRAP_FAULT(FL_WRAP_SENDMSG);
	return real_sendmsg(fd, m, flags);
}

FL_EXPORT ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	FL_WRAP_REAL(recvmsg);
	FL_WRAP_FAULT(FL_WRAP_RECVMSG);
	return real_recvmsg(fd, m, flags);
}

/* ---- time ------------------------------------------------------------------------- */

/* clock_nanosleep returns its error rather than setting errno. */
FL_EXPORT int clock_nanosleep(clockid_t clock, int flags, const struct timespec *req,
			      struct timespec *rem)
{
	FL_WRAP_REAL(clock_nanosleep);
	int e = fl__wrap_enter(FL_WRAP_CLOCK_NANOSLEEP, FL_WRAP_RA);
	if (e) {
		if (rem && !(flags & TIMER_ABSTIME))
			*rem = *req; /* interrupted before any of it slept */
		return e;
	}
	return real_clock_nanosleep(clock, flags, req, rem);
}

/* ---- _FORTIFY_SOURCE's entry points ----------------------------------------------- */

/* Declared by glibc's headers only in a fortified build. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dir, const char *path, int flags);
int __openat64_2(int dir, const char *path, int flags);
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags, struct sockaddr *a,
		       socklen_t *len);

FL_EXPORT int __open_2(const char *path, int flags)
{
	FL_WRAP_REAL(__open_2);
	FL_WRAP_FAULT(FL_WRAP_OPEN);
	return real___open_2(path, flags);
}

FL_EXPORT int __open64_2(const char *path, int flags)
{
	FL_WRAP_REAL(__open64_2);
	FL_WRAP_FAULT(FL_WRAP_OPEN);
	return real___open64_2(path, flags);
}

FL_EXPORT int __openat_2(int dir, const char *path, int flags)
{
	FL_WRAP_REAL(__openat_2);
	FL_WRAP_FAULT(FL_WRAP_OPENAT);
	return real___openat_2(dir, path, flags);
}

FL_EXPORT int __openat64_2(int dir, const char *path, int flags)
{
	FL_WRAP_REAL(__openat64_2);
	FL_WRAP_FAULT(FL_WRAP_OPENAT);
	return real___openat64_2(dir, path, flags);
}

FL_EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	FL_WRAP_REAL(__read_chk);
	FL_WRAP_FAULT(FL_WRAP_READ);
	return real___read_chk(fd, buf, n, buflen);
}

FL_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	FL_WRAP_REAL(__pread_chk);
	FL_WRAP_FAULT(FL_WRAP_PREAD);
	return real___pread_chk(fd, buf, n, off, buflen);
}

FL_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off64_t off, size_t buflen)
{
	FL_WRAP_REAL(__pread64_chk);
	FL_WRAP_FAULT(FL_WRAP_PREAD);
	return real___pread64_chk(fd, buf, n, off, buflen);
}

FL_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	FL_WRAP_REAL(__recv_chk);
	FL_WRAP_FAULT(FL_WRAP_RECV);
	return real___recv_chk(fd, buf, n, buflen, flags);
}

FL_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
				 struct sockaddr *a, socklen_t *len)
{
	FL_WRAP_REAL(__recvfrom_chk);
	FL_WRAP_FAULT(FL_WRAP_RECVFROM);
	return real___recvfrom_chk(fd, buf, n, buflen, flags, a, len);
}
