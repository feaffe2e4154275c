/*
 * report_host.c - the host fingerprint: the platform code of the report.
 *
 * Reads the hostname (gethostname), the kernel (uname), the online CPU
 * count (sysconf) and the CPU model (the first "model name" line of
 * /proc/cpuinfo, which x86 and most arm64 kernels provide; otherwise the
 * machine architecture). Missing pieces become "" rather than errors: a
 * report without a CPU model is still a report.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <fl/report.h>

#include "report_internal.h"

/* Copies the value of the first "model name : X" line into buf, or "". */
static void cpu_model(char *buf, size_t cap)
{
	buf[0] = '\0';
	FILE *f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return;
	char line[512];
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) != 0)
			continue;
		const char *v = strchr(line, ':');
		if (!v)
			continue;
		v += 1 + strspn(v + 1, " \t");
		snprintf(buf, cap, "%.*s", (int)strcspn(v, "\n"), v);
		break;
	}
	fclose(f);
}

fl_err *fl_report_detect_host(fl_report *r)
{
	struct utsname u;
	if (uname(&u) != 0)
		return fl_err_errno(errno, "uname");
	char host[256] = "";
	if (gethostname(host, sizeof(host) - 1) != 0)
		host[0] = '\0';
	char cpu[256];
	cpu_model(cpu, sizeof(cpu));
	if (!cpu[0])
		snprintf(cpu, sizeof(cpu), "%s", u.machine);
	char kernel[3 * sizeof(u.release) + 3];
	snprintf(kernel, sizeof(kernel), "%s %s %s", u.sysname, u.release, u.machine);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	return fl_report_set_host(r, host, cpu, cores > 0 ? (int32_t)cores : 0, kernel);
}
