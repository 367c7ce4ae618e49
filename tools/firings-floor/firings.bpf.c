/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The benchmark's firings floor (tools/bench --max-rate, mode "firings"): a trivial program on
 * every tracepoint firing synwave's assembled programs run for, twice where synwave attaches a
 * main and a rescue program. Each counts its firing in a per-CPU array and does nothing else, so
 * what this costs the traffic is what any tracer of these firings pays before doing any work.
 */
#include "../../bpf/vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} firings SEC(".maps");

static __always_inline int count_firing(void)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&firings, &zero);

	if (n)
		*n += 1;
	return 0;
}

#define FLOOR_PROGRAM(name, tracepoint) \
	SEC("tp_btf/" #tracepoint) int BPF_PROG(name) { return count_firing(); }

FLOOR_PROGRAM(fl_state, inet_sock_set_state)
FLOOR_PROGRAM(fl_state_rescue, inet_sock_set_state)
FLOOR_PROGRAM(fl_destroy, tcp_destroy_sock)
FLOOR_PROGRAM(fl_destroy_rescue, tcp_destroy_sock)
FLOOR_PROGRAM(fl_sock_error, inet_sk_error_report)
FLOOR_PROGRAM(fl_send_reset, tcp_send_reset)
FLOOR_PROGRAM(fl_receive_reset, tcp_receive_reset)
FLOOR_PROGRAM(fl_retransmit, tcp_retransmit_skb)
FLOOR_PROGRAM(fl_synack, tcp_retransmit_synack)
FLOOR_PROGRAM(fl_data_ready, sk_data_ready)
FLOOR_PROGRAM(fl_kfree_skb, kfree_skb)

char LICENSE[] SEC("license") = "GPL";
