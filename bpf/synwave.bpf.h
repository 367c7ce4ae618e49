/* SPDX-License-Identifier: GPL-2.0 */
/* BPF-only helpers shared by every synwave program: maps, counters, event emission. */
#ifndef SYNWAVE_BPF_H
#define SYNWAVE_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "synwave_abi.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* Maps are defined once, in maps.bpf.c; every other object refers to them.
 *
 * One ring buffer per CPU, each at its CPU's index: a program reserves in its own CPU's ring,
 * so the CPUs never contend for one ring's lock and producer position (a single ring shared by
 * two CPUs cost ~150 ns more per event here). The loader creates the rings, sizes this array
 * (one entry per possible CPU) and gives the template; user space merges the rings by timestamp.
 */
struct synwave_ring {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096); /* replaced by the loader's rings */
};

typedef struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1); /* resized by the loader */
	__type(key, __u32);
	__array(values, struct synwave_ring);
} synwave_rings_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYNWAVE_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} synwave_counters_map;

/* Per-listener statistics (synwave_abi.h); LRU so a host with more listeners than
 * entries loses the coldest one's history rather than new listeners' counts. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct synwave_listener_stats);
} synwave_listeners_map;

extern synwave_rings_map rings SEC(".maps");
extern synwave_counters_map counters SEC(".maps");
extern synwave_listeners_map listeners SEC(".maps");
extern const volatile struct synwave_bpf_config cfg;

/* The ring of the CPU the program runs on (programs are not migrated while they run). */
static __always_inline void *synwave_this_cpu_ring(void)
{
	__u32 cpu = bpf_get_smp_processor_id();

	return bpf_map_lookup_elem(&rings, &cpu);
}

/* Ring buffer submit flags: wake the reader only when much data is pending in this CPU's ring (maps.bpf.c). */
extern __u64 synwave_submit_flags(void);

/* Returns the counter's value after the increment. The add is atomic although per-CPU (a
 * softirq can nest a run of a second program between a plain load and store of one slot), but
 * without BPF_FETCH, which kernels before 5.12 reject ("BPF_STX uses reserved fields"): a
 * relaxed add whose result is unused compiles to the plain locked add, and the value is read
 * back after it, exact unless a nested run bumped it in between. tools/gen-bpf checks that
 * no fetching atomic is left in the object. */
static __always_inline __u64 synwave_count(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &counter);

	if (!value)
		return 0;
	__atomic_fetch_add(value, 1, __ATOMIC_RELAXED);
	return *value;
}

/* For a counter only one program bumps: a program never nests with itself on a CPU (the
 * kernel's recursion guard skips such runs), so a plain increment cannot lose a count and
 * spares the locked instruction. */
static __always_inline void synwave_count_own(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &counter);

	if (value)
		*value += 1;
}

/* Reserves a record in this CPU's ring and fills its header, or counts the loss and returns NULL. */
static __always_inline void *synwave_reserve(__u32 size, __u16 type)
{
	void *ring = synwave_this_cpu_ring();
	struct synwave_event_header *hdr = ring ? bpf_ringbuf_reserve(ring, size, 0) : NULL;

	if (!hdr) {
		synwave_count(SYNWAVE_COUNTER_RINGBUF_FULL);
		return NULL;
	}
	hdr->type = type;
	hdr->size = size;
	hdr->flags = 0;
	hdr->ts_ns = bpf_ktime_get_boot_ns();
	hdr->cookie = 0;
	hdr->skaddr = 0;
	return hdr;
}

/* How many submits pass between two looks at the ring's fill level (a helper call each). */
#define SYNWAVE_WAKEUP_CHECK_EVERY 32

static __always_inline void synwave_submit(void *record)
{
	__u64 submitted = synwave_count(SYNWAVE_COUNTER_SUBMITTED);
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (submitted % SYNWAVE_WAKEUP_CHECK_EVERY == 0)
		flags = synwave_submit_flags();
	bpf_ringbuf_submit(record, flags);
}

/* The current task: the socket's owner only in syscall context. */
static __always_inline void synwave_fill_task(__u32 *tgid, __u32 *pid, char comm[SYNWAVE_COMM_LEN])
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	*tgid = pid_tgid >> 32;
	*pid = (__u32)pid_tgid;
	bpf_get_current_comm(comm, SYNWAVE_COMM_LEN);
}

/* The same through the task's BTF pointer: plain loads instead of two helper calls (tp_btf
 * only), and the name as two 8-byte words (a char array is otherwise copied byte by byte;
 * comm is 8-byte aligned in task_struct and in every record). */
static __always_inline void synwave_fill_task_btf(__u32 *tgid, __u32 *pid, char comm[SYNWAVE_COMM_LEN])
{
	struct task_struct *task = bpf_get_current_task_btf();

	*tgid = task->tgid;
	*pid = task->pid;
	((__u64 *)comm)[0] = ((const __u64 *)task->comm)[0];
	((__u64 *)comm)[1] = ((const __u64 *)task->comm)[1];
}

/*
 * tcp_sock totals. Written once as a macro so that tp_btf programs read through a
 * BTF pointer (plain loads, no helper calls) and classic ones through BPF_CORE_READ.
 */
#define SYNWAVE_FILL_TOTALS(totals, tp, READ)                     \
	do {                                                      \
		(totals)->bytes_acked = READ(tp, bytes_acked);       \
		(totals)->bytes_received = READ(tp, bytes_received); \
		(totals)->segs_out = READ(tp, segs_out);             \
		(totals)->segs_in = READ(tp, segs_in);               \
		(totals)->total_retrans = READ(tp, total_retrans);   \
		(totals)->srtt_us = READ(tp, srtt_us) >> 3;          \
		(totals)->mss_cache = READ(tp, mss_cache);           \
		(totals)->_pad0 = 0;                                 \
	} while (0)

#define SYNWAVE_BTF_READ(ptr, field) ((ptr)->field)

#endif /* SYNWAVE_BPF_H */
