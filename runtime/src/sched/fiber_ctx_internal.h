/*
 * fiber_ctx_internal.h - saving and restoring a fiber's machine context (internal).
 *
 * A context is what a fiber needs to resume: its stack pointer, and on the
 * stack the callee-saved registers of the ABI. fl__fctx_switch saves the
 * current context into `from` and resumes `to`; it returns when something
 * switches back to `from`. Only callee-saved state is kept, because a switch
 * is an ordinary function call to the compiler:
 *
 *   x86-64   rbx rbp r12-r15, rsp, MXCSR and the x87 control word
 *   aarch64  x19-x30 (x29 frame pointer, x30 return address), sp, d8-d15
 *
 * Both are hand-written in fiber_ctx.c. On any other architecture, or when
 * FL_FIBER_UCONTEXT is defined, the portable fallback is POSIX ucontext
 * (swapcontext), which also saves the signal mask and is much slower.
 *
 * Sanitizer annotations are fiber_switch_internal.h's (its fl__fswitch
 * wraps this switch), Valgrind's are fiber_stack.c's: this file only moves
 * registers.
 */
#ifndef FL_FIBER_CTX_INTERNAL_H
#define FL_FIBER_CTX_INTERNAL_H

#include <stddef.h>

#if !defined(FL_FIBER_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define FL_FIBER_UCONTEXT 1
#endif

#ifdef FL_FIBER_UCONTEXT
#include <ucontext.h>
#endif

typedef struct fl__fctx {
#ifdef FL_FIBER_UCONTEXT
	ucontext_t uc;      /* the saved context */
	void (*fn)(void *); /* entry, read once by the trampoline */
	void *arg;
#else
	void *sp; /* stack pointer; registers are on the stack */
#endif
} fl__fctx;

/* The name of the context switch implementation ("x86_64", "aarch64" or
 * "ucontext"), for reports. */
extern const char fl__fctx_impl[];

/*
 * Prepares c so that the first switch to it runs fn(arg) on the stack
 * [lo, lo + size). fn must never return: it ends by switching away for the
 * last time. The new context starts with the ABI's default floating-point
 * control state.
 */
void fl__fctx_make(fl__fctx *c, void *lo, size_t size, void (*fn)(void *), void *arg);

/* Saves the running context into from and resumes to. */
void fl__fctx_switch(fl__fctx *from, fl__fctx *to);

#endif
