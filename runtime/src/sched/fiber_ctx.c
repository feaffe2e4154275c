/*
 * fiber_ctx.c - the context switch: hand-written for x86-64 and aarch64,
 * POSIX ucontext elsewhere.
 *
 * The assembly is two small leaf routines per architecture, kept here as
 * file-scope asm so the build needs no assembler language:
 *
 *   fl__fctx_switch(fl__fctx *from, fl__fctx *to)
 *       pushes the callee-saved registers (and on x86-64 the MXCSR and x87
 *       control word) onto the current stack, stores the stack pointer in
 *       from->sp, loads to->sp, pops the same frame from there and returns
 *       into whatever called fl__fctx_switch on that stack.
 *   fl__fctx_start
 *       where a new context "returns" to on its first resume: it calls
 *       fn(arg), both taken from callee-saved registers of the fake initial
 *       frame built by fl__fctx_make, and traps if fn ever returns. Its CFI
 *       marks the return address undefined, so unwinders (backtrace(), the
 *       sanitizers) stop there instead of walking off the stack.
 *
 * Frame layout (lowest address first), as saved by fl__fctx_switch:
 *   x86-64   [mxcsr:32 | x87cw:16 | pad][r15][r14][r13][r12][rbx][rbp][ret]
 *   aarch64  [x19 x20][x21 x22]...[x29 x30][d8 d9]...[d14 d15]  (176 bytes)
 * A new context's frame holds fn in r12/x19 and arg in r13/x20, zero
 * elsewhere (a zero frame pointer ends frame-pointer unwinding too).
 */
#include "fiber_ctx_internal.h"

#include <stddef.h>
#include <stdint.h>

#ifndef FL_FIBER_UCONTEXT

_Static_assert(offsetof(fl__fctx, sp) == 0, "the assembly stores sp at offset 0");

void fl__fctx_start(void);

#if defined(__x86_64__)

const char fl__fctx_impl[] = "x86_64";

__asm__(".text\n"
	".p2align 4\n"
	".globl fl__fctx_switch\n"
	".type fl__fctx_switch, @function\n"
	"fl__fctx_switch:\n"
	"	.cfi_startproc\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	subq $8, %rsp\n"
	"	stmxcsr (%rsp)\n"
	"	fnstcw 4(%rsp)\n"
	"	movq %rsp, (%rdi)\n"
	"	movq (%rsi), %rsp\n"
	"	ldmxcsr (%rsp)\n"
	"	fldcw 4(%rsp)\n"
	"	addq $8, %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size fl__fctx_switch, .-fl__fctx_switch\n"
	"\n"
	".p2align 4\n"
	".globl fl__fctx_start\n"
	".hidden fl__fctx_start\n"
	".type fl__fctx_start, @function\n"
	"fl__fctx_start:\n"
	"	.cfi_startproc\n"
	"	.cfi_undefined rip\n"
	"	movq %r13, %rdi\n"
	"	callq *%r12\n"
	"	ud2\n"
	"	.cfi_endproc\n"
	".size fl__fctx_start, .-fl__fctx_start\n");

enum { FRAME_WORDS = 8, SLOT_FP = 0, SLOT_R13 = 3, SLOT_R12 = 4, SLOT_RET = 7 };

void fl__fctx_make(fl__fctx *c, void *lo, size_t size, void (*fn)(void *), void *arg)
{
	uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
	/* Two zero words above the return slot keep the entry 16-byte
	 * aligned: after `ret` rsp = top - 16, so fn sees rsp % 16 == 8. */
	uint64_t *sp = (uint64_t *)(top - 16) - FRAME_WORDS;
	for (int i = 0; i < FRAME_WORDS + 2; i++)
		sp[i] = 0;
	sp[SLOT_FP] = 0x1F80u | ((uint64_t)0x037Fu << 32); /* ABI defaults */
	sp[SLOT_R12] = (uint64_t)(uintptr_t)fn;
	sp[SLOT_R13] = (uint64_t)(uintptr_t)arg;
	sp[SLOT_RET] = (uint64_t)(uintptr_t)fl__fctx_start;
	c->sp = sp;
}

#elif defined(__aarch64__)

const char fl__fctx_impl[] = "aarch64";

__asm__(".text\n"
	".p2align 4\n"
	".globl fl__fctx_switch\n"
	".type fl__fctx_switch, %function\n"
	"fl__fctx_switch:\n"
	"	.cfi_startproc\n"
	"	sub sp, sp, #176\n"
	"	stp x19, x20, [sp, #0]\n"
	"	stp x21, x22, [sp, #16]\n"
	"	stp x23, x24, [sp, #32]\n"
	"	stp x25, x26, [sp, #48]\n"
	"	stp x27, x28, [sp, #64]\n"
	"	stp x29, x30, [sp, #80]\n"
	"	stp d8, d9, [sp, #96]\n"
	"	stp d10, d11, [sp, #112]\n"
	"	stp d12, d13, [sp, #128]\n"
	"	stp d14, d15, [sp, #144]\n"
	"	mov x9, sp\n"
	"	str x9, [x0]\n"
	"	ldr x9, [x1]\n"
	"	mov sp, x9\n"
	"	ldp x19, x20, [sp, #0]\n"
	"	ldp x21, x22, [sp, #16]\n"
	"	ldp x23, x24, [sp, #32]\n"
	"	ldp x25, x26, [sp, #48]\n"
	"	ldp x27, x28, [sp, #64]\n"
	"	ldp x29, x30, [sp, #80]\n"
	"	ldp d8, d9, [sp, #96]\n"
	"	ldp d10, d11, [sp, #112]\n"
	"	ldp d12, d13, [sp, #128]\n"
	"	ldp d14, d15, [sp, #144]\n"
	"	add sp, sp, #176\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size fl__fctx_switch, .-fl__fctx_switch\n"
	"\n"
	".p2align 4\n"
	".globl fl__fctx_start\n"
	".hidden fl__fctx_start\n"
	".type fl__fctx_start, %function\n"
	"fl__fctx_start:\n"
	"	.cfi_startproc\n"
	"	.cfi_undefined x30\n"
	"	mov x0, x20\n"
	"	blr x19\n"
	"	brk #0\n"
	"	.cfi_endproc\n"
	".size fl__fctx_start, .-fl__fctx_start\n");

enum { FRAME_WORDS = 22, SLOT_X19 = 0, SLOT_X20 = 1, SLOT_X29 = 10, SLOT_X30 = 11 };

void fl__fctx_make(fl__fctx *c, void *lo, size_t size, void (*fn)(void *), void *arg)
{
	uintptr_t top = ((uintptr_t)lo + size) & ~(uintptr_t)15;
	uint64_t *sp = (uint64_t *)top - FRAME_WORDS; /* 176 bytes: sp stays aligned */
	for (int i = 0; i < FRAME_WORDS; i++)
		sp[i] = 0;
	sp[SLOT_X19] = (uint64_t)(uintptr_t)fn;
	sp[SLOT_X20] = (uint64_t)(uintptr_t)arg;
	sp[SLOT_X29] = 0;
	sp[SLOT_X30] = (uint64_t)(uintptr_t)fl__fctx_start;
	c->sp = sp;
}

#endif

#else /* FL_FIBER_UCONTEXT */

#include "sync_internal.h"

const char fl__fctx_impl[] = "ucontext";

/* makecontext passes only ints: the context's address comes in halves. */
static void uc_start(unsigned hi, unsigned lo)
{
	fl__fctx *c = (fl__fctx *)(((uintptr_t)hi << 16 << 16) | (uintptr_t)lo);
	c->fn(c->arg);
	FL_ABORT("fiber entry returned");
}

void fl__fctx_make(fl__fctx *c, void *lo, size_t size, void (*fn)(void *), void *arg)
{
	FL_ASSERT(getcontext(&c->uc) == 0);
	c->uc.uc_stack.ss_sp = lo;
	c->uc.uc_stack.ss_size = size;
	c->uc.uc_link = NULL;
	c->fn = fn;
	c->arg = arg;
	uintptr_t p = (uintptr_t)c;
	makecontext(&c->uc, (void (*)(void))uc_start, 2, (unsigned)(p >> 16 >> 16),
		    (unsigned)(p & 0xFFFFFFFFu));
}

void fl__fctx_switch(fl__fctx *from, fl__fctx *to)
{
	FL_ASSERT(swapcontext(&from->uc, &to->uc) == 0);
}

#endif
