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

/* Maps are defined once, in maps.bpf.c; every other object refers to them. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024 * 1024); /* resized by the loader */
} synwave_events_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SYNWAVE_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} synwave_counters_map;

extern synwave_events_map events SEC(".maps");
extern synwave_counters_map counters SEC(".maps");

/* Ring buffer submit flags: wake the reader only when much data is pending (maps.bpf.c). */
extern __u64 synwave_submit_flags(void);

static __always_inline void synwave_count(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&counters, &counter);

	if (value)
		*value += 1; /* per-CPU slot: no atomic needed */
}

/* Reserves a record and fills its header, or counts the loss and returns NULL. */
static __always_inline void *synwave_reserve(__u32 size, __u16 type)
{
	struct synwave_event_header *hdr = bpf_ringbuf_reserve(&events, size, 0);

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

static __always_inline void synwave_submit(void *record)
{
	bpf_ringbuf_submit(record, synwave_submit_flags());
}

static __always_inline __u32 synwave_netns(struct sock *sk)
{
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

static __always_inline void synwave_read_totals(struct synwave_tcp_totals *totals, struct sock *sk)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;

	totals->bytes_acked = BPF_CORE_READ(tp, bytes_acked);
	totals->bytes_received = BPF_CORE_READ(tp, bytes_received);
	totals->segs_out = BPF_CORE_READ(tp, segs_out);
	totals->segs_in = BPF_CORE_READ(tp, segs_in);
	totals->total_retrans = BPF_CORE_READ(tp, total_retrans);
	totals->srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3;
	totals->mss_cache = BPF_CORE_READ(tp, mss_cache);
	totals->_pad0 = 0;
}

#endif /* SYNWAVE_BPF_H */
