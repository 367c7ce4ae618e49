// SPDX-License-Identifier: GPL-2.0
/* The maps and settings every synwave program shares, defined once. */
#include "rescue.bpf.h"
#include "netns.bpf.h"
#include "connection.bpf.h"
#include "cgroup.bpf.h"

synwave_rings_map rings SEC(".maps");
synwave_counters_map counters SEC(".maps");
synwave_listeners_map listeners SEC(".maps");
synwave_handled_map handled SEC(".maps");
synwave_netns_cache_map netns_cache SEC(".maps");
synwave_connections_map connections SEC(".maps");
synwave_live_map live SEC(".maps");
synwave_counted_netns_map counted_netns SEC(".maps");
synwave_cgroups_announced_map cgroups_announced SEC(".maps");
synwave_cgroup_last_map cgroup_last SEC(".maps");

/* Set by the loader before load. */
const volatile struct synwave_bpf_config cfg = {
	.wakeup_bytes = 256 * 1024,
	.listener_report_ns = 1000000000ull,
};

/*
 * Waking the reader costs ~10 us per notification here, so records are
 * submitted silently and the reader polls on a short timer; only when a burst
 * has filled wakeup_bytes is it woken early, before the ring can overflow.
 */
__noinline __u64 synwave_submit_flags(void)
{
	void *ring = synwave_this_cpu_ring();
	__u64 pending = ring ? bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) : 0;

	return pending >= cfg.wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}

char LICENSE[] SEC("license") = "GPL";
