/* fl-test-labels: fibers onebackend */
/* onebackend: every case starts the fibers backend itself (white-box). */
/*
 * test_fibers.c - the fibers backend's stacks and context switch,
 * white-box: the switch keeps callee-saved and floating-point control
 * state, many fibers ping-pong, foreign threads ping-pong with fibers, a
 * stack overflow hits the guard, and the memory of 100,000 parked fibers.
 * Scheduling (stealing, the runnext handoff, fl_blocking) is in
 * test_fibers_sched.c, timers and deadlines in test_fibers_timers.c; the
 * shared helpers in fiber_test_util.h.
 *
 * Every case selects the backend itself (two workers, whatever
 * FAULTLINE_BACKEND says), so the file is registered once. Not labelled
 * "concurrency" or "memcheck": Valgrind does not follow hand-written stack
 * switches, so the Helgrind and memcheck gates skip it.
 */
#define _GNU_SOURCE
#include <fl/chan.h>
#include <fl/ctx.h>
#include <fl/group.h>
#include <fl/task.h>

#include <signal.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fiber_internal.h"
#include "chan_test_util.h"
#include "fiber_test_util.h"

/* ---- the context switch ------------------------------------------------- */

/*
 * regs_across_switch(from, to) loads a known pattern into every
 * callee-saved register, switches to `to`, and once switched back returns
 * a bit mask of the registers that came back changed. The fiber side,
 * regs_clobber_loop(pair), overwrites them all and switches back, forever.
 */
typedef struct ctx_pair {
	fl__fctx *fiber;
	fl__fctx *main;
} ctx_pair;

unsigned regs_across_switch(fl__fctx *from, fl__fctx *to);
void regs_clobber_loop(void *pair);

#if defined(__x86_64__)
#define HAVE_REG_TEST 1
__asm__(".text\n"
	".p2align 4\n"
	"regs_across_switch:\n"
	"	pushq %rbx\n	pushq %rbp\n	pushq %r12\n"
	"	pushq %r13\n	pushq %r14\n	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	movabsq $0x1111111111111111, %rbx\n"
	"	movabsq $0x2222222222222222, %rbp\n"
	"	movabsq $0x3333333333333333, %r12\n"
	"	movabsq $0x4444444444444444, %r13\n"
	"	movabsq $0x5555555555555555, %r14\n"
	"	movabsq $0x6666666666666666, %r15\n"
	"	call fl__fctx_switch\n"
	"	xorl %eax, %eax\n"
	"	movabsq $0x1111111111111111, %rcx\n	cmpq %rcx, %rbx\n	je 1f\n	orl $1, %eax\n1:\n"
	"	movabsq $0x2222222222222222, %rcx\n	cmpq %rcx, %rbp\n	je 1f\n	orl $2, %eax\n1:\n"
	"	movabsq $0x3333333333333333, %rcx\n	cmpq %rcx, %r12\n	je 1f\n	orl $4, %eax\n1:\n"
	"	movabsq $0x4444444444444444, %rcx\n	cmpq %rcx, %r13\n	je 1f\n	orl $8, %eax\n1:\n"
	"	movabsq $0x5555555555555555, %rcx\n	cmpq %rcx, %r14\n	je 1f\n	orl $16, %eax\n1:\n"
	"	movabsq $0x6666666666666666, %rcx\n	cmpq %rcx, %r15\n	je 1f\n	orl $32, %eax\n1:\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n	popq %r14\n	popq %r13\n"
	"	popq %r12\n	popq %rbp\n	popq %rbx\n"
	"	ret\n"
	"\n"
	".p2align 4\n"
	"regs_clobber_loop:\n"
	"	pushq %rdi\n"
	"2:	movq $-1, %rbx\n	movq $-1, %rbp\n	movq $-1, %r12\n"
	"	movq $-1, %r13\n	movq $-1, %r14\n	movq $-1, %r15\n"
	"	movq (%rsp), %rax\n"
	"	movq 0(%rax), %rdi\n"
	"	movq 8(%rax), %rsi\n"
	"	call fl__fctx_switch\n"
	"	jmp 2b\n");
#elif defined(__aarch64__)
#define HAVE_REG_TEST 1
__asm__(".text\n"
	".p2align 4\n"
	"regs_across_switch:\n"
	"	sub sp, sp, #160\n"
	"	stp x19, x20, [sp, #0]\n	stp x21, x22, [sp, #16]\n"
	"	stp x23, x24, [sp, #32]\n	stp x25, x26, [sp, #48]\n"
	"	stp x27, x28, [sp, #64]\n	stp x29, x30, [sp, #80]\n"
	"	stp d8, d9, [sp, #96]\n	stp d10, d11, [sp, #112]\n"
	"	stp d12, d13, [sp, #128]\n	stp d14, d15, [sp, #144]\n"
	"	mov x19, #19\n	mov x20, #20\n	mov x21, #21\n	mov x22, #22\n"
	"	mov x23, #23\n	mov x24, #24\n	mov x25, #25\n	mov x26, #26\n"
	"	mov x27, #27\n	mov x28, #28\n"
	"	fmov d8, #8.0\n	fmov d9, #9.0\n	fmov d10, #10.0\n	fmov d11, #11.0\n"
	"	fmov d12, #12.0\n	fmov d13, #13.0\n	fmov d14, #14.0\n	fmov d15, #15.0\n"
	"	bl fl__fctx_switch\n"
	"	mov w0, #0\n"
	"	cmp x19, #19\n	b.eq 1f\n	orr w0, w0, #1\n1:\n"
	"	cmp x20, #20\n	b.eq 1f\n	orr w0, w0, #2\n1:\n"
	"	cmp x21, #21\n	b.eq 1f\n	orr w0, w0, #4\n1:\n"
	"	cmp x22, #22\n	b.eq 1f\n	orr w0, w0, #8\n1:\n"
	"	cmp x23, #23\n	b.eq 1f\n	orr w0, w0, #16\n1:\n"
	"	cmp x24, #24\n	b.eq 1f\n	orr w0, w0, #32\n1:\n"
	"	cmp x25, #25\n	b.eq 1f\n	orr w0, w0, #64\n1:\n"
	"	cmp x26, #26\n	b.eq 1f\n	orr w0, w0, #128\n1:\n"
	"	cmp x27, #27\n	b.eq 1f\n	orr w0, w0, #256\n1:\n"
	"	cmp x28, #28\n	b.eq 1f\n	orr w0, w0, #512\n1:\n"
	"	fmov d0, #8.0\n	fcmp d8, d0\n	b.eq 1f\n	orr w0, w0, #1024\n1:\n"
	"	fmov d0, #9.0\n	fcmp d9, d0\n	b.eq 1f\n	orr w0, w0, #2048\n1:\n"
	"	fmov d0, #10.0\n	fcmp d10, d0\n	b.eq 1f\n	orr w0, w0, #4096\n1:\n"
	"	fmov d0, #11.0\n	fcmp d11, d0\n	b.eq 1f\n	orr w0, w0, #8192\n1:\n"
	"	fmov d0, #12.0\n	fcmp d12, d0\n	b.eq 1f\n	orr w0, w0, #16384\n1:\n"
	"	fmov d0, #13.0\n	fcmp d13, d0\n	b.eq 1f\n	orr w0, w0, #32768\n1:\n"
	"	fmov d0, #14.0\n	fcmp d14, d0\n	b.eq 1f\n	orr w0, w0, #65536\n1:\n"
	"	fmov d0, #15.0\n	fcmp d15, d0\n	b.eq 1f\n	orr w0, w0, #131072\n1:\n"
	"	ldp x19, x20, [sp, #0]\n	ldp x21, x22, [sp, #16]\n"
	"	ldp x23, x24, [sp, #32]\n	ldp x25, x26, [sp, #48]\n"
	"	ldp x27, x28, [sp, #64]\n	ldp x29, x30, [sp, #80]\n"
	"	ldp d8, d9, [sp, #96]\n	ldp d10, d11, [sp, #112]\n"
	"	ldp d12, d13, [sp, #128]\n	ldp d14, d15, [sp, #144]\n"
	"	add sp, sp, #160\n"
	"	ret\n"
	"\n"
	".p2align 4\n"
	"regs_clobber_loop:\n"
	"	sub sp, sp, #16\n"
	"	str x0, [sp]\n"
	"2:	mov x19, #-1\n	mov x20, #-1\n	mov x21, #-1\n	mov x22, #-1\n"
	"	mov x23, #-1\n	mov x24, #-1\n	mov x25, #-1\n	mov x26, #-1\n"
	"	mov x27, #-1\n	mov x28, #-1\n	mov x29, #0\n"
	"	fmov d8, #-1.0\n	fmov d9, #-1.0\n	fmov d10, #-1.0\n	fmov d11, #-1.0\n"
	"	fmov d12, #-1.0\n	fmov d13, #-1.0\n	fmov d14, #-1.0\n	fmov d15, #-1.0\n"
	"	ldr x9, [sp]\n"
	"	ldr x0, [x9]\n"
	"	ldr x1, [x9, #8]\n"
	"	bl fl__fctx_switch\n"
	"	b 2b\n");
#endif

static void *stack_map(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT(p != MAP_FAILED);
	return p;
}

FL_TEST(switch_preserves_callee_saved)
{
#ifdef HAVE_REG_TEST
	size_t size = 64 * 1024;
	void *stack = stack_map(size);
	fl__fctx main_ctx, fiber_ctx;
	ctx_pair pair = {&fiber_ctx, &main_ctx};
	fl__fctx_make(&fiber_ctx, stack, size, regs_clobber_loop, &pair);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(regs_across_switch(&main_ctx, &fiber_ctx), 0);
	munmap(stack, size); /* the fiber never ends; its stack just goes */
	fprintf(stderr, "context switch: %s\n", fl__fctx_impl);
#else
	fprintf(stderr, "no register test for this architecture (%s)\n", fl__fctx_impl);
#endif
}

#if defined(__x86_64__)
#define HAVE_FP_TEST 1
static unsigned mxcsr_get(void)
{
	unsigned v;
	__asm__ volatile("stmxcsr %0" : "=m"(v));
	return v & ~0x3Fu; /* without the sticky exception flags */
}
static void mxcsr_set(unsigned v) { __asm__ volatile("ldmxcsr %0" : : "m"(v)); }
static unsigned x87cw_get(void)
{
	unsigned short v;
	__asm__ volatile("fnstcw %0" : "=m"(v));
	return v;
}
static void x87cw_set(unsigned v)
{
	unsigned short s = (unsigned short)v;
	__asm__ volatile("fldcw %0" : : "m"(s));
}

enum {
	MXCSR_DEFAULT = 0x1F80,
	MXCSR_UP = 0x5F80,
	MXCSR_ZERO = 0x7F80,
	X87_DEFAULT = 0x037F,
	X87_UP = 0x0B7F,
	X87_ZERO = 0x0F7F,
};

typedef struct fp_fiber {
	fl__fctx *self, *main;
	unsigned start_mxcsr, start_x87;
	int bad;
} fp_fiber;

static void fp_fiber_main(void *arg)
{
	fp_fiber *p = arg;
	p->start_mxcsr = mxcsr_get();
	p->start_x87 = x87cw_get();
	mxcsr_set(MXCSR_ZERO);
	x87cw_set(X87_ZERO);
	for (;;) {
		fl__fctx_switch(p->self, p->main);
		if (mxcsr_get() != MXCSR_ZERO || x87cw_get() != X87_ZERO)
			p->bad++;
	}
}
#endif

/* Each context keeps its own MXCSR and x87 control word across switches,
 * and a new context starts from the ABI defaults, not its creator's. */
FL_TEST(switch_keeps_float_control_per_context)
{
#ifdef HAVE_FP_TEST
	size_t size = 64 * 1024;
	void *stack = stack_map(size);
	fl__fctx main_ctx, fiber_ctx;
	fp_fiber p = {.self = &fiber_ctx, .main = &main_ctx};
	unsigned old_mxcsr = mxcsr_get(), old_x87 = x87cw_get();
	fl__fctx_make(&fiber_ctx, stack, size, fp_fiber_main, &p);
	mxcsr_set(MXCSR_UP);
	x87cw_set(X87_UP);
	for (int i = 0; i < 3; i++) {
		fl__fctx_switch(&main_ctx, &fiber_ctx);
		ASSERT_EQ(mxcsr_get(), MXCSR_UP);
		ASSERT_EQ(x87cw_get(), X87_UP);
	}
	mxcsr_set(old_mxcsr);
	x87cw_set(old_x87);
	ASSERT_EQ(p.bad, 0);
#ifndef FL_FIBER_UCONTEXT /* swapcontext starts from getcontext's state */
	ASSERT_EQ(p.start_mxcsr, MXCSR_DEFAULT);
	ASSERT_EQ(p.start_x87, X87_DEFAULT);
#endif
	munmap(stack, size);
#else
	fprintf(stderr, "no floating-point control test for this architecture\n");
#endif
}

/* ---- many fibers ping-ponging ------------------------------------------ */

enum { PAIRS = 5000, ROUNDS = 20 };

typedef struct pp {
	fl_chan *ab, *ba;
	long sum;
} pp;

static fl_err *pinger(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	pp *p = arg;
	for (int i = 0; i < ROUNDS; i++) {
		int v = i, back = -1;
		ASSERT_EQ(fl_chan_send(p->ab, &v, NULL, FL_FOREVER), FL_OK);
		ASSERT_EQ(fl_chan_recv(p->ba, &back, NULL, FL_FOREVER), FL_OK);
		ASSERT_EQ(back, i + 1);
	}
	return NULL;
}

static fl_err *ponger(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	pp *p = arg;
	for (int i = 0; i < ROUNDS; i++) {
		int v = -1;
		ASSERT_EQ(fl_chan_recv(p->ab, &v, NULL, FL_FOREVER), FL_OK);
		p->sum += v;
		v++;
		ASSERT_EQ(fl_chan_send(p->ba, &v, NULL, FL_FOREVER), FL_OK);
	}
	return NULL;
}

FL_TEST(ten_thousand_fibers_ping_pong)
{
	use_fibers();
	long tasks = fl_stats_get().tasks;
	int pairs = (int)stress_count(PAIRS);
	pp *ps = calloc((size_t)pairs, sizeof(*ps));
	ASSERT_NOT_NULL(ps);
	for (int i = 0; i < pairs; i++) {
		ps[i].ab = chan_make(sizeof(int), 0, "ab");
		ps[i].ba = chan_make(sizeof(int), 0, "ba");
	}
	int64_t t0 = fl_now();
	fl_group *g = group_make("pingpong");
	for (int i = 0; i < pairs; i++) {
		check(fl_group_go(g, ponger, &ps[i]));
		check(fl_group_go(g, pinger, &ps[i]));
	}
	group_finish(g);
	int64_t dt = fl_now() - t0;
	for (int i = 0; i < pairs; i++) {
		ASSERT_EQ(ps[i].sum, (long)ROUNDS * (ROUNDS - 1) / 2);
		fl_chan_free(ps[i].ab);
		fl_chan_free(ps[i].ba);
	}
	free(ps);
	ASSERT_EQ(fl_stats_get().tasks, tasks);
	fprintf(stderr,
		"%d fibers, %d round trips each: %.1f ms, spawns included (%.0f ns per "
		"round trip)\n",
		2 * pairs, ROUNDS, (double)dt / 1e6, (double)dt / ((double)pairs * ROUNDS));
}

/* ---- the guard page ----------------------------------------------------- */

static volatile int recurse_limit = 1 << 30; /* never reached */

/* Recurses until the stack runs out; never returns. */
static int __attribute__((noinline)) recurse(volatile char *prev, int depth)
{
	volatile char frame[512];
	frame[0] = (char)depth;
	frame[511] = prev ? prev[0] : 0;
	if (depth >= recurse_limit)
		return 0;
	return recurse(frame, depth + 1) + frame[7];
}

static fl_err *overflow_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	(void)arg;
	fprintf(stderr, "child: recursing on a %zu-byte fiber stack (guard by %s)\n",
		fl__fiber_stack_size(), fl__fiber_guard_kind());
	recurse(NULL, 0);
	return NULL;
}

static void overflow_child(void)
{
	use_fibers();
	fl_group *g = group_make("overflow");
	check(fl_group_go(g, overflow_task, NULL));
	group_finish(g);
	_exit(0); /* not reached: the overflow kills the process */
}

/*
 * Unbounded recursion on a fiber dies of SIGSEGV on the guard region
 * instead of writing below the stack. The child is a fresh exec of this
 * binary (fork alone is unsafe once threads exist). Under a sanitizer its
 * own SEGV handler reports the overflow and exits non-zero instead.
 */
FL_TEST(stack_overflow_hits_guard)
{
	char self[4096];
	int st;

	if (getenv("FL_FIBERS_OVERFLOW_CHILD"))
		overflow_child();
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	ASSERT_GT(n, 0);
	self[n] = '\0';
	pid_t pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		setenv("FL_FIBERS_OVERFLOW_CHILD", "1", 1);
		execl(self, self, "stack_overflow_hits_guard", (char *)NULL);
		_exit(127);
	}
	ASSERT_EQ(waitpid(pid, &st, 0), pid);
#ifdef FL_SANITIZED
	ASSERT(WIFSIGNALED(st) ||
	       (WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 127));
#else
	ASSERT(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGSEGV);
#endif
}

/* ---- foreign threads and fibers ------------------------------------------- */

enum { FOREIGN_ROUNDS = 20000 };

static fl_err *echo_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	pp *p = arg;
	int v;
	while (fl_chan_recv(p->ab, &v, NULL, FL_FOREVER) == FL_OK) {
		v++;
		ASSERT_EQ(fl_chan_send(p->ba, &v, NULL, FL_FOREVER), FL_OK);
	}
	return NULL;
}

static void *foreign_pinger(void *arg)
{
	pp *p = arg;
	long n = stress_count(FOREIGN_ROUNDS);
	for (int i = 0; i < n; i++) {
		int v = i, back = -1;
		ASSERT_EQ(fl_chan_send(p->ab, &v, NULL, FL_FOREVER), FL_OK);
		ASSERT_EQ(fl_chan_recv(p->ba, &back, NULL, FL_FOREVER), FL_OK);
		ASSERT_EQ(back, i + 1);
	}
	return NULL;
}

/* The main thread and a user pthread (adopted tasks, parking on condvars)
 * ping-pong with fibers (parking by switching). */
FL_TEST(foreign_threads_talk_to_fibers)
{
	use_fibers();
	pp a = {.ab = chan_make(sizeof(int), 0, "a.ab"), .ba = chan_make(sizeof(int), 0, "a.ba")};
	pp b = {.ab = chan_make(sizeof(int), 0, "b.ab"), .ba = chan_make(sizeof(int), 0, "b.ba")};
	fl_group *g = group_make("echo");
	check(fl_group_go(g, echo_task, &a));
	check(fl_group_go(g, echo_task, &b));
	actor t = actor_start(foreign_pinger, &b);
	int64_t t0 = fl_now();
	foreign_pinger(&a);
	int64_t dt = fl_now() - t0;
	actor_join(t);
	check(fl_chan_close(a.ab));
	check(fl_chan_close(b.ab));
	group_finish(g);
	fprintf(stderr, "thread <-> fiber round trip: %.0f ns\n",
		(double)dt / (double)stress_count(FOREIGN_ROUNDS));
	fl_chan_free(a.ab);
	fl_chan_free(a.ba);
	fl_chan_free(b.ab);
	fl_chan_free(b.ba);
}

/* ---- memory of parked fibers ------------------------------------------------ */

static long rss_bytes(void)
{
	long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	ASSERT_NOT_NULL(f);
	ASSERT_EQ(fscanf(f, "%ld %ld", &size, &resident), 2);
	fclose(f);
	return resident * sysconf(_SC_PAGESIZE);
}

static long map_count(void)
{
	long n = 0;
	int c;
	FILE *f = fopen("/proc/self/maps", "r");
	ASSERT_NOT_NULL(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static fl_err *parked_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	fl_chan *ch = arg;
	int v;
	ASSERT_EQ(fl_chan_recv(ch, &v, NULL, FL_FOREVER), FL_CLOSED);
	return NULL;
}

#if defined(FL_TSAN)
/* ThreadSanitizer keeps ~1 MiB of state per live fiber and caps them. */
#define PARKED_DEFAULT 1000
#elif defined(FL_SANITIZED)
#define PARKED_DEFAULT 20000
#else
#define PARKED_DEFAULT 100000
#endif

/*
 * 100,000 fibers parked on one channel stay under 1 GiB of RSS at the
 * default stack size: stacks are lazily committed, so a parked fiber costs
 * the pages its frames touched. Prints the cost per fiber; the bound is
 * deliberately loose. FL_FIBERS_PARKED overrides the count.
 */
FL_TEST(hundred_thousand_parked_fibers)
{
	use_fibers();
	const char *env = getenv("FL_FIBERS_PARKED");
	long n = env && *env ? atol(env) : PARKED_DEFAULT;
	fl_chan *ch = chan_make(sizeof(int), 0, "parking-lot");
	long rss0 = rss_bytes(), maps0 = map_count();
	int64_t t0 = fl_now();
	fl_group *g = group_make("parked");
	for (long i = 0; i < n; i++)
		check(fl_group_go(g, parked_task, ch));
	int64_t until = fl_deadline_in(fl_test_hang_ns());
	while (fl__chan_waiting(ch, FL_RECV) < (size_t)n) {
		ASSERT_LT(fl_now(), until);
		nap_us(1000);
	}
	int64_t t1 = fl_now();
	long rss1 = rss_bytes(), maps1 = map_count();
	fprintf(stderr,
		"%ld parked fibers (stack %zu KiB, guard by %s): RSS +%.1f MiB, %.0f bytes per "
		"fiber, %ld mappings (+%ld), spawned and parked in %.0f ms\n",
		n, fl__fiber_stack_size() / 1024, fl__fiber_guard_kind(),
		(double)(rss1 - rss0) / (1 << 20), (double)(rss1 - rss0) / (double)n, maps1,
		maps1 - maps0, (double)(t1 - t0) / 1e6);
#ifndef FL_SANITIZED /* sanitizers add their own per-fiber state */
	ASSERT_LT(rss1, 1L << 30);
#endif
	check(fl_chan_close(ch));
	group_finish(g);
	fl_chan_free(ch);
}

FL_TEST_MAIN(FL_CASE(switch_preserves_callee_saved),
	     FL_CASE(switch_keeps_float_control_per_context),
	     FL_CASE(ten_thousand_fibers_ping_pong), FL_CASE(stack_overflow_hits_guard),
	     FL_CASE(foreign_threads_talk_to_fibers), FL_CASE(hundred_thousand_parked_fibers))
