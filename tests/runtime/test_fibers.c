/* fl-test-labels: fibers onebackend */
/* onebackend: every case starts the fibers backend itself (white-box). */
/*
 * The fibers backend, white-box: the context switch keeps callee-saved and
 * floating-point control state, many fibers ping-pong, a stack overflow
 * hits the guard, idle workers steal, a channel handoff goes through the
 * runnext slot, park deadlines and timers, fl_blocking on the side pool,
 * foreign threads talking to fibers, and the memory of 100,000 parked
 * fibers.
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

#define WORKERS 2

FL_ERR_SENTINEL(test_miss, "handoff did not go through runnext");

/* ---- helpers ------------------------------------------------------------ */

static void use_fibers(void)
{
	check(fl_sched_init(&(struct fl_sched_opts){.backend = "fibers", .workers = WORKERS}));
	ASSERT_STR_EQ(fl_sched_backend(), "fibers");
	ASSERT_EQ(fl__fibers_workers(), WORKERS);
}

static fl_group *group_make(const char *name)
{
	fl_group *g;
	fl_ctx *ctx;
	check(fl_group_new(fl_ctx_background(), &(struct fl_group_opts){.name = name}, &g, &ctx));
	return g;
}

static void group_finish(fl_group *g)
{
	check(fl_group_wait(g));
	fl_group_free(g);
}

/* A bound that only turns a hang into a failure. */
static int64_t hang_deadline(void) { return fl_deadline_in(fl_test_hang_ns()); }

static void nap_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

static int phase_of(fl__task *t)
{
	fl__fiber *f = t->backend;
	return (int)(atomic_load(&f->state) & FIBER_PHASE);
}

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
	MXCSR_DEFAULT = 0x1F80, MXCSR_UP = 0x5F80, MXCSR_ZERO = 0x7F80,
	X87_DEFAULT = 0x037F, X87_UP = 0x0B7F, X87_ZERO = 0x0F7F,
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
	fprintf(stderr, "%d fibers, %d round trips each: %.1f ms, spawns included (%.0f ns per "
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
	ASSERT(WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 127));
#else
	ASSERT(WIFSIGNALED(st));
	ASSERT_EQ(WTERMSIG(st), SIGSEGV);
#endif
}

/* ---- work stealing -------------------------------------------------------- */

enum { STEAL_TASKS = 64 };

typedef struct steal_state {
	fl_group *g;
	atomic_uint seen;     /* bit per worker that ran a child */
	atomic_int done;
	int64_t until;
} steal_state;

static int popcount(unsigned v) { return __builtin_popcount(v); }

static void cpu_relax_test(void)
{
#if defined(__x86_64__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

/* Marks its worker, then keeps that worker busy (no parking, no yielding)
 * until another worker has run a child: only stealing gets it there. */
static fl_err *steal_child(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	steal_state *s = arg;
	int w = fl__fibers_worker_index();
	ASSERT_GE(w, 0);
	atomic_fetch_or(&s->seen, 1u << w);
	while (popcount(atomic_load(&s->seen)) < WORKERS && fl_now() < s->until)
		cpu_relax_test();
	atomic_fetch_add(&s->done, 1);
	return NULL;
}

/* Spawns every child from one fiber: they all land in its worker's ring. */
static fl_err *steal_root(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	steal_state *s = arg;
	for (int i = 0; i < STEAL_TASKS; i++)
		check(fl_group_go(s->g, steal_child, s));
	return NULL;
}

FL_TEST(idle_workers_steal)
{
	use_fibers();
	steal_state s = {.until = hang_deadline()};
	s.g = group_make("steal");
	check(fl_group_go(s.g, steal_root, &s));
	group_finish(s.g);
	ASSERT_EQ(atomic_load(&s.done), STEAL_TASKS);
	ASSERT_EQ(popcount(atomic_load(&s.seen)), WORKERS);
}

/* ---- the runnext handoff -------------------------------------------------- */

/* sched_fibers.c's STALE_NS: another worker may take a runnext slot that
 * has held the same fiber this long. */
#define RUNNEXT_STALE_NS FL_US(50)

typedef struct handoff {
	fl_chan *ch, *back;
	_Atomic(fl__task *) receiver;
	int receiver_worker;
	int64_t sent_ns;   /* sender: just before its send */
	int64_t ran_ns;    /* receiver: as it resumed */
	int64_t until;
} handoff;

static fl_err *handoff_receiver(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	handoff *h = arg;
	int v = 0;
	atomic_store(&h->receiver, fl__sched()->self());
	ASSERT_EQ(fl_chan_recv(h->ch, &v, NULL, FL_FOREVER), FL_OK);
	h->ran_ns = fl__mono_ns();
	h->receiver_worker = fl__fibers_worker_index();
	ASSERT_EQ(fl_chan_send(h->back, &v, NULL, FL_FOREVER), FL_OK);
	return NULL;
}

/* Sends to a parked receiver and checks that the receiver went to this
 * worker's runnext slot and then ran here, once the sender parked. */
static fl_err *handoff_sender(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	handoff *h = arg;
	fl__task *r;
	while (!(r = atomic_load(&h->receiver)) || phase_of(r) != FIBER_PARKED) {
		ASSERT_LT(fl_now(), h->until);
		fl_yield();
	}
	int v = 42;
	h->sent_ns = fl__mono_ns();
	ASSERT_EQ(fl_chan_send(h->ch, &v, NULL, FL_FOREVER), FL_OK);
	fl__task *next = fl__fibers_runnext_task();
	int here = fl__fibers_worker_index();
	ASSERT_EQ(fl_chan_recv(h->back, &v, NULL, FL_FOREVER), FL_OK);
	ASSERT_EQ(v, 42);
	return (next == r && h->receiver_worker == here) ? NULL : test_miss;
}

FL_TEST(handoff_runs_receiver_next_on_same_worker)
{
	use_fibers();
	int hits = 0, tries = 10, quick = 0;
	for (int i = 0; i < tries; i++) {
		handoff h = {.ch = chan_make(sizeof(int), 0, "handoff"),
			     .back = chan_make(sizeof(int), 0, "back"),
			     .until = hang_deadline()};
		fl_group *g = group_make("handoff");
		check(fl_group_go(g, handoff_receiver, &h));
		check(fl_group_go(g, handoff_sender, &h));
		fl_err *err = fl_group_wait(g);
		/* A steal needs the slot unchanged for RUNNEXT_STALE_NS: when the
		 * receiver ran sooner after the send, nobody could have taken it,
		 * so it must be a hit. A slower round (the OS stalled the sender,
		 * as a busy machine does) may legitimately have been stolen. */
		bool in_time = h.ran_ns - h.sent_ns < RUNNEXT_STALE_NS;
		quick += in_time;
		if (!err)
			hits++;
		else if (!fl_err_is(err, test_miss) || in_time)
			FL_FAIL("handoff %d: %s %lld ns after the send", i,
				err == test_miss ? "stolen" : "failed",
				(long long)(h.ran_ns - h.sent_ns));
		fl_err_drop(err);
		fl_group_free(g);
		fl_chan_free(h.ch);
		fl_chan_free(h.back);
	}
	fprintf(stderr, "runnext handoffs: %d of %d (%d within the stale window)\n", hits, tries,
		quick);
}

/*
 * The direct switch: a fiber that parks with a fiber in its runnext slot
 * switches straight to it, and the resumed fiber finishes the park. Here
 * fiber A sends to B (B goes to runnext), then parks in a select on B's
 * reply and on a channel a foreign thread sends to at the same time, so
 * some of those wakes land while A is still switching out (PARKING): A
 * must then run again, and no wake may be lost or doubled. Every value is
 * accounted for; a lost wake hangs (ctest's timeout is the guard).
 */
enum { DIRECT_ROUNDS = 20000, DIRECT_FOREIGN = 2000 };

typedef struct direct {
	fl_chan *ping, *pong, *x;
	long rounds, foreign;
	long long got_x;
} direct;

static fl_err *direct_b(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	direct *d = arg;
	int v;
	while (fl_chan_recv(d->ping, &v, NULL, FL_FOREVER) == FL_OK) {
		v = -v;
		ASSERT_EQ(fl_chan_send(d->pong, &v, NULL, FL_FOREVER), FL_OK);
	}
	return NULL;
}

static fl_err *direct_a(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	direct *d = arg;
	long nx = 0;
	for (int i = 1; i <= d->rounds; i++) {
		ASSERT_EQ(fl_chan_send(d->ping, &i, NULL, FL_FOREVER), FL_OK);
		int back = 0, xv = 0;
		fl_select_case cs[2] = {{.ch = d->pong, .op = FL_RECV, .elem = &back},
					{.ch = d->x, .op = FL_RECV, .elem = &xv}};
		int k = fl_select(cs, 2, NULL, FL_FOREVER);
		if (k == 1) {
			ASSERT_EQ(cs[1].status, FL_OK);
			d->got_x += xv;
			nx++;
			ASSERT_EQ(fl_chan_recv(d->pong, &back, NULL, FL_FOREVER), FL_OK);
		} else {
			ASSERT_EQ(k, 0);
		}
		ASSERT_EQ(back, -i);
	}
	for (int xv; nx < d->foreign; nx++) {
		ASSERT_EQ(fl_chan_recv(d->x, &xv, NULL, FL_FOREVER), FL_OK);
		d->got_x += xv;
	}
	check(fl_chan_close(d->ping));
	return NULL;
}

static void *direct_foreign(void *arg)
{
	direct *d = arg;
	for (int i = 1; i <= d->foreign; i++)
		ASSERT_EQ(fl_chan_send(d->x, &i, NULL, FL_FOREVER), FL_OK);
	return NULL;
}

FL_TEST(direct_switch_races_wakes)
{
	use_fibers();
	direct d = {.ping = chan_make(sizeof(int), 0, "ping"),
		    .pong = chan_make(sizeof(int), 0, "pong"),
		    .x = chan_make(sizeof(int), 0, "x"),
		    .rounds = stress_count(DIRECT_ROUNDS),
		    .foreign = stress_count(DIRECT_FOREIGN)};
	if (d.foreign > d.rounds)
		d.foreign = d.rounds;
	uint64_t before = fl__fibers_direct_switches();
	fl_group *g = group_make("direct");
	check(fl_group_go(g, direct_b, &d));
	check(fl_group_go(g, direct_a, &d));
	actor t = actor_start(direct_foreign, &d);
	actor_join(t);
	group_finish(g);
	ASSERT_EQ(d.got_x, (long long)d.foreign * (d.foreign + 1) / 2);
	uint64_t direct_n = fl__fibers_direct_switches() - before;
	fprintf(stderr, "direct switches: %llu over %ld rounds\n", (unsigned long long)direct_n,
		d.rounds);
	ASSERT_GT(direct_n, 0);
	fl_chan_free(d.ping);
	fl_chan_free(d.pong);
	fl_chan_free(d.x);
}

/* ---- timers and deadlines ---------------------------------------------- */

enum { SLEEPERS = 200 };

typedef struct sleeper {
	int64_t deadline;
	int64_t woke;
} sleeper;

static fl_err *sleeper_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	sleeper *s = arg;
	ASSERT_EQ(fl_sleep_until(NULL, s->deadline), FL_OK);
	s->woke = fl_now();
	return NULL;
}

FL_TEST(sleeps_wake_at_their_deadlines)
{
	use_fibers();
	sleeper *s = calloc(SLEEPERS, sizeof(*s));
	ASSERT_NOT_NULL(s);
	uint64_t rng = 12345;
	int64_t t0 = fl_now();
	fl_group *g = group_make("sleepers");
	for (int i = 0; i < SLEEPERS; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		s[i].deadline = t0 + FL_MS(1) + (int64_t)((rng >> 33) % (uint64_t)FL_MS(20));
		check(fl_group_go(g, sleeper_task, &s[i]));
	}
	group_finish(g);
	int64_t worst = 0, total = 0;
	for (int i = 0; i < SLEEPERS; i++) {
		ASSERT_GE(s[i].woke, s[i].deadline);
		total += s[i].woke - s[i].deadline;
		if (s[i].woke - s[i].deadline > worst)
			worst = s[i].woke - s[i].deadline;
	}
	fprintf(stderr, "%d sleepers, lateness mean %.3f ms, worst %.3f ms\n", SLEEPERS,
		(double)total / SLEEPERS / 1e6, (double)worst / 1e6);
	free(s);
}

typedef struct deadlines {
	fl_chan *ch;
	fl_ctx *ctx;
} deadlines;

static fl_err *deadline_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	deadlines *d = arg;
	int v;
	int64_t t0 = fl_now();
	ASSERT_EQ(fl_chan_recv(d->ch, &v, NULL, t0 + FL_MS(5)), FL_TIMEDOUT);
	ASSERT_GE(fl_now(), t0 + FL_MS(5));
	ASSERT_EQ(fl_chan_recv(d->ch, &v, NULL, t0 - 1), FL_TIMEDOUT); /* passed */
	ASSERT_EQ(fl_ctx_wait(d->ctx, FL_FOREVER), FL_CANCELED);    /* its timer */
	ASSERT(fl_ctx_err(d->ctx) == FL_ERR_DEADLINE);
	return NULL;
}

FL_TEST(park_deadlines_and_ctx_timers)
{
	use_fibers();
	deadlines d = {.ch = chan_make(sizeof(int), 0, "never")};
	check(fl_ctx_with_timeout(fl_ctx_background(), FL_MS(10), NULL, &d.ctx));
	fl_group *g = group_make("deadlines");
	for (int i = 0; i < 8; i++)
		check(fl_group_go(g, deadline_task, &d));
	group_finish(g);
	fl_ctx_free(d.ctx);
	fl_chan_free(d.ch);
}

/* Receivers with deadlines of a few microseconds race senders, so a
 * deadline often fires just as a sender hands its value over. Every value
 * arrives exactly once and nothing hangs. */
enum { RACE_PAIRS = 8, RACE_ITEMS = 20000 };

typedef struct race {
	fl_chan *ch;
	long items;
	long got, sum, timeouts;
	uint64_t rng;
} race;

static fl_err *race_sender(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	race *r = arg;
	for (long i = 1; i <= r->items; i++)
		ASSERT_EQ(fl_chan_send(r->ch, &i, NULL, FL_FOREVER), FL_OK);
	return NULL;
}

static fl_err *race_receiver(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	race *r = arg;
	while (r->got < r->items) {
		r->rng = r->rng * 6364136223846793005ull + 1442695040888963407ull;
		long v = 0;
		int rc = fl_chan_recv(r->ch, &v, NULL, fl_deadline_in((int64_t)(r->rng >> 59) * 1000));
		if (rc == FL_TIMEDOUT) {
			r->timeouts++;
			continue;
		}
		ASSERT_EQ(rc, FL_OK);
		r->got++;
		r->sum += v;
	}
	return NULL;
}

FL_TEST(deadlines_race_handoffs)
{
	use_fibers();
	race rs[RACE_PAIRS];
	long items = stress_count(RACE_ITEMS), timeouts = 0;
	fl_group *g = group_make("race");
	for (int i = 0; i < RACE_PAIRS; i++) {
		rs[i] = (race){.ch = chan_make(sizeof(long), 0, "race"), .items = items,
			       .rng = (uint64_t)i + 1};
		check(fl_group_go(g, race_receiver, &rs[i]));
		check(fl_group_go(g, race_sender, &rs[i]));
	}
	group_finish(g);
	for (int i = 0; i < RACE_PAIRS; i++) {
		ASSERT_EQ(rs[i].got, items);
		ASSERT_EQ(rs[i].sum, items * (items + 1) / 2);
		timeouts += rs[i].timeouts;
		fl_chan_free(rs[i].ch);
	}
	fprintf(stderr, "%d pairs x %ld items, %ld receive deadlines expired\n", RACE_PAIRS, items,
		timeouts);
}

typedef struct slow_timer {
	fl__timer t;
	atomic_int entered, release, returned, calling;
	int stop_result, returned_at_stop;
	int64_t until;
} slow_timer;

static void slow_callback(fl__timer *t)
{
	slow_timer *s = t->arg;
	atomic_store(&s->entered, 1);
	while (!atomic_load(&s->release) && fl__mono_ns() < s->until)
		;
	atomic_store(&s->returned, 1);
}

static void fast_callback(fl__timer *t)
{
	atomic_int *fired = t->arg;
	atomic_store(fired, 1);
}

static fl_err *stopper_task(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	slow_timer *s = arg;
	atomic_store(&s->calling, 1);
	s->stop_result = fl__sched()->timer_stop(&s->t);
	s->returned_at_stop = atomic_load(&s->returned);
	return NULL;
}

/* timer_stop on a pending timer wins; on a firing one it waits for the
 * callback to return (here from a fiber, while the callback runs on a
 * worker's scheduler loop). */
FL_TEST(timer_stop_semantics)
{
	use_fibers();
	const fl__sched_ops *ops = fl__sched();
	atomic_int fired1 = 0, fired2 = 0;
	fl__timer t1 = {.when_ns = fl_now() + FL_MS(5), .fn = fast_callback, .arg = &fired1};
	fl__timer t2 = {.when_ns = fl_now() + FL_MS(10), .fn = fast_callback, .arg = &fired2};
	ops->timer_start(&t1);
	ops->timer_start(&t2);
	ASSERT(ops->timer_stop(&t1));
	int64_t until = hang_deadline();
	while (!atomic_load(&fired2)) {
		ASSERT_LT(fl_now(), until);
		nap_us(100);
	}
	ASSERT(!ops->timer_stop(&t2));
	ASSERT_EQ(atomic_load(&fired1), 0);

	slow_timer s = {.until = hang_deadline()};
	s.t = (fl__timer){.when_ns = fl_now(), .fn = slow_callback, .arg = &s};
	ops->timer_start(&s.t);
	while (!atomic_load(&s.entered)) {
		ASSERT_LT(fl_now(), s.until);
		nap_us(100);
	}
	fl_group *g = group_make("stopper");
	check(fl_group_go(g, stopper_task, &s));
	while (!atomic_load(&s.calling)) {
		ASSERT_LT(fl_now(), s.until);
		nap_us(100);
	}
	nap_us(2000); /* best effort: let the stopper reach its wait */
	atomic_store(&s.release, 1);
	group_finish(g);
	ASSERT_EQ(s.stop_result, 0);
	ASSERT_EQ(s.returned_at_stop, 1);
}

/* ---- fl_blocking ------------------------------------------------------------ */

enum { BLOCKERS = 4 };

typedef struct blk {
	int fd[2];
	char got;
	atomic_int *inside;
} blk;

typedef struct blk_state {
	blk b[BLOCKERS];
	atomic_int inside;
	long threads_seen;
	bool dump_showed;
	int64_t until;
} blk_state;

static void blocking_read(void *arg)
{
	blk *b = arg;
	atomic_fetch_add(b->inside, 1);
	ASSERT_EQ(read(b->fd[0], &b->got, 1), 1);
}

static fl_err *blocking_reader(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	blk *b = arg;
	fl_blocking(blocking_read, b);
	ASSERT_EQ(b->got, 'x');
	return NULL;
}

static bool dump_contains_n(const char *needle, int n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ASSERT_NOT_NULL(f);
	fl_task_dump(f);
	fclose(f);
	int k = 0;
	for (const char *p = buf; (p = strstr(p, needle)) != NULL; p++)
		k++;
	free(buf);
	return k >= n;
}

/* Runs only if the readers' blocking reads left the workers free. */
static fl_err *blocking_writer(fl_ctx *ctx, void *arg)
{
	(void)ctx;
	blk_state *s = arg;
	while (atomic_load(&s->inside) < BLOCKERS) {
		ASSERT_LT(fl_now(), s->until);
		fl_yield();
	}
	s->threads_seen = fl_stats_get().threads;
	s->dump_showed = dump_contains_n("blocking call", BLOCKERS);
	for (int i = 0; i < BLOCKERS; i++)
		ASSERT_EQ(write(s->b[i].fd[1], "x", 1), 1);
	return NULL;
}

static void note_thread(void *arg) { *(pthread_t *)arg = pthread_self(); }

FL_TEST(blocking_calls_leave_workers_free)
{
	use_fibers();
	blk_state s = {.until = hang_deadline()};
	for (int i = 0; i < BLOCKERS; i++) {
		ASSERT_EQ(pipe(s.b[i].fd), 0);
		s.b[i].inside = &s.inside;
	}
	fl_group *g = group_make("blocking");
	for (int i = 0; i < BLOCKERS; i++)
		check(fl_group_go(g, blocking_reader, &s.b[i]));
	check(fl_group_go(g, blocking_writer, &s));
	group_finish(g);
	ASSERT_GE(s.threads_seen, WORKERS + BLOCKERS);
	ASSERT(s.dump_showed);
	for (int i = 0; i < BLOCKERS; i++) {
		close(s.b[i].fd[0]);
		close(s.b[i].fd[1]);
	}
	/* Off the workers, fl_blocking runs inline. */
	pthread_t ran = 0;
	fl_blocking(note_thread, &ran);
	ASSERT(pthread_equal(ran, pthread_self()));
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

FL_TEST_MAIN(FL_CASE(switch_preserves_callee_saved), FL_CASE(switch_keeps_float_control_per_context),
	     FL_CASE(ten_thousand_fibers_ping_pong), FL_CASE(stack_overflow_hits_guard),
	     FL_CASE(idle_workers_steal), FL_CASE(handoff_runs_receiver_next_on_same_worker),
	     FL_CASE(direct_switch_races_wakes),
	     FL_CASE(sleeps_wake_at_their_deadlines), FL_CASE(park_deadlines_and_ctx_timers),
	     FL_CASE(deadlines_race_handoffs),
	     FL_CASE(timer_stop_semantics), FL_CASE(blocking_calls_leave_workers_free),
	     FL_CASE(foreign_threads_talk_to_fibers), FL_CASE(hundred_thousand_parked_fibers))
