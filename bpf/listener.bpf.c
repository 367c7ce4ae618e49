// SPDX-License-Identifier: GPL-2.0
/*
 * Listener queues. Nothing fires when a SYN arrives or a request socket is created, so the
 * listener is sampled where the kernel does show it: sock:sk_data_ready (a child was queued
 * for accept), skb:kfree_skb TCP_LISTEN_OVERFLOW (a final ACK met a full accept queue) and
 * tcp:tcp_retransmit_synack (retransmit.bpf.c). The current depths of every listener come
 * from the sock_diag poller; this side keeps what a poll can miss: peaks and drops.
 */
#include "classic.bpf.h"

SEC("tp_btf/sk_data_ready")
int BPF_PROG(sw_listener_ready, struct sock *sk)
{
	struct synwave_listener_stats *s;
	struct tcp_sock *tp;
	__u64 cookie;

	/* Fires for every socket that receives data: leave all but listeners at once. */
	if (sk->__sk_common.skc_state != TCP_LISTEN)
		return 0;
	/* NULL for non-TCP listeners (AF_UNIX streams use TCP_LISTEN too). */
	tp = bpf_skc_to_tcp_sock((void *)sk);
	if (!tp)
		return 0;
	cookie = bpf_get_socket_cookie((void *)sk);
	s = synwave_listener_stats(sk, cookie);
	if (!s)
		return 0;
	synwave_listener_sample(s, tp);
	synwave_listener_check_accept_full(sk, cookie, s);
	return 0;
}

SEC("tp_btf/kfree_skb")
int BPF_PROG(sw_listener_overflow, struct sk_buff *skb, void *location, enum skb_drop_reason reason,
	     struct sock *rx_sk)
{
	struct synwave_listener_stats *s;
	struct tcp_sock *tp;
	__u64 cookie;

	/* The TCP_LISTEN_OVERFLOW drop reason and rx_sk are newer than 6.12 (tools/kernel-matrix).
	 * Read without an exists check on purpose: on older kernels the program fails to load and
	 * the loader reports the feature off (the sock_diag poller still counts drops per listener). */
	if (reason != bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW) || !rx_sk)
		return 0;
	if (rx_sk->__sk_common.skc_state != TCP_LISTEN)
		return 0;
	tp = bpf_skc_to_tcp_sock(rx_sk);
	if (!tp)
		return 0;
	cookie = bpf_get_socket_cookie(rx_sk);
	s = synwave_listener_stats(rx_sk, cookie);
	if (!s)
		return 0;
	synwave_listener_sample(s, tp);
	synwave_listener_overflowed(rx_sk, cookie, s);
	return 0;
}

SEC("tracepoint/sock/sk_data_ready")
int sw_listener_ready_tp(struct trace_event_raw_sk_data_ready *ctx)
{
	struct sock *sk = (void *)ctx->skaddr;
	struct synwave_listener_stats *s;
	__u64 cookie;

	if (ctx->protocol != IPPROTO_TCP || BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_LISTEN)
		return 0;
	s = synwave_listener_stats_classic(sk, &cookie);
	if (!s)
		return 0;
	synwave_listener_sample_classic(s, sk);
	synwave_listener_check_accept_full(sk, cookie, s);
	return 0;
}

SEC("tracepoint/skb/kfree_skb")
int sw_listener_overflow_tp(struct trace_event_raw_kfree_skb *ctx)
{
	struct synwave_listener_stats *s;
	struct sock *sk;
	__u64 cookie;

	/* As the tp_btf program: rx_sk and the reason are required, so this fails to load where they are missing. */
	if (ctx->reason != bpf_core_enum_value(enum skb_drop_reason, SKB_DROP_REASON_TCP_LISTEN_OVERFLOW))
		return 0;
	sk = (void *)ctx->rx_sk;
	if (!sk || BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_LISTEN)
		return 0;
	s = synwave_listener_stats_classic(sk, &cookie);
	if (!s)
		return 0;
	synwave_listener_sample_classic(s, sk);
	synwave_listener_overflowed(sk, cookie, s);
	return 0;
}
