/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Recovery from the kernel's recursion guard.
 *
 * A softirq can interrupt a program and fire its tracepoint again on the same CPU; the guard
 * of tp_btf programs (per program, per CPU) then skips the nested run and only counts it
 * (recursion_misses). The guard also covers the kernel code around the program (its
 * rcu_read_unlock can take a self-IPI whose exit runs softirqs), so "was the program mid-run"
 * is not enough to tell a skipped run. Instead each guarded ("main") program notes what it
 * handled on a per-CPU stack, and a second program on the same tracepoint, attached after it
 * and so run after it for every firing, emits the event when its note is missing.
 *
 * Why a stack: the main and rescue runs of one firing are at the same nesting level, and
 * every firing nested between them (a softirq) pushes and pops its own note before they
 * resume, so the note a rescue looks for is on top, or under notes of nested firings whose
 * own rescue was skipped (those were handled by their main run and are discarded with it).
 * A note is a socket cookie (unique for the boot) and a key naming the event.
 */
#ifndef SYNWAVE_RESCUE_BPF_H
#define SYNWAVE_RESCUE_BPF_H

#include "synwave.bpf.h"

#define SYNWAVE_HANDLED_DEPTH 8 /* a power of two */

struct synwave_handled {
	__u64 cookie[SYNWAVE_HANDLED_DEPTH];
	__u32 key[SYNWAVE_HANDLED_DEPTH];
	__u32 top; /* count of pushes minus pops; slots wrap */
	__u32 _pad0;
};

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct synwave_handled);
} synwave_handled_map;

extern synwave_handled_map handled SEC(".maps");

/* What a note is about: the tracepoint, and for state changes the transition. */
enum synwave_handled_kind {
	SYNWAVE_HANDLED_STATE = 1,
	SYNWAVE_HANDLED_DESTROY = 2,
};

/* In the rescue program: the socket's cookie as the main run left it, by a plain load instead of
 * bpf_get_socket_cookie (~20 ns). The main run made it; 0 means that run was skipped before it
 * could, and then no note matches (the emit path makes the cookie). */
static __always_inline __u64 synwave_cookie_made(struct sock *sk)
{
	return sk->__sk_common.skc_cookie.counter;
}

static __always_inline __u32 synwave_handled_key(__u32 kind, __u32 detail)
{
	return kind << 16 | (detail & 0xffff);
}

/* In the main program, before anything else. The slot is claimed before it is written, so
 * a softirq between the two pushes and pops above it instead of overwriting it. */
static __always_inline void synwave_note_handled(__u64 cookie, __u32 key)
{
	__u32 zero = 0, top;
	struct synwave_handled *h = bpf_map_lookup_elem(&handled, &zero);

	if (!h)
		return;
	top = h->top;
	h->top = top + 1;
	h->cookie[top & (SYNWAVE_HANDLED_DEPTH - 1)] = cookie;
	h->key[top & (SYNWAVE_HANDLED_DEPTH - 1)] = key;
}

/* In the rescue program: whether the main run of this firing noted it (then the note and
 * anything left above it are popped). Without the per-CPU slot nothing can be told: say
 * handled, so that a failure never duplicates events. */
static __always_inline int synwave_was_handled(__u64 cookie, __u32 key)
{
	__u32 zero = 0, top, slot;
	struct synwave_handled *h = bpf_map_lookup_elem(&handled, &zero);

	if (!h)
		return 1;
	top = h->top;
	for (__u32 depth = 1; depth <= SYNWAVE_HANDLED_DEPTH; depth++) {
		slot = (top - depth) & (SYNWAVE_HANDLED_DEPTH - 1);
		if (h->cookie[slot] == cookie && h->key[slot] == key) {
			h->top = top - depth;
			return 1;
		}
	}
	synwave_count(SYNWAVE_COUNTER_RECURSION_RECOVERED);
	return 0;
}

#endif /* SYNWAVE_RESCUE_BPF_H */
