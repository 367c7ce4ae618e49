// SPDX-License-Identifier: GPL-2.0
/* Resets: tcp:tcp_send_reset (with the kernel's reason) and tcp:tcp_receive_reset. */
#include "classic.bpf.h"
#include "connection.bpf.h"

/* Maps one reason by name; reasons a kernel lacks relocate to "absent" and never match. */
#define MAP_REASON(kernel_name, ours)                                        \
	if (bpf_core_enum_value_exists(enum sk_rst_reason, kernel_name) &&    \
	    reason == bpf_core_enum_value(enum sk_rst_reason, kernel_name))   \
		return ours;

static __always_inline __u8 reset_reason(int reason)
{
	MAP_REASON(SK_RST_REASON_NOT_SPECIFIED, SYNWAVE_RST_NOT_SPECIFIED)
	MAP_REASON(SK_RST_REASON_NO_SOCKET, SYNWAVE_RST_NO_SOCKET)
	MAP_REASON(SK_RST_REASON_TCP_INVALID_ACK_SEQUENCE, SYNWAVE_RST_INVALID_ACK_SEQUENCE)
	MAP_REASON(SK_RST_REASON_TCP_RFC7323_PAWS, SYNWAVE_RST_RFC7323_PAWS)
	MAP_REASON(SK_RST_REASON_TCP_TOO_OLD_ACK, SYNWAVE_RST_TOO_OLD_ACK)
	MAP_REASON(SK_RST_REASON_TCP_ACK_UNSENT_DATA, SYNWAVE_RST_ACK_UNSENT_DATA)
	MAP_REASON(SK_RST_REASON_TCP_FLAGS, SYNWAVE_RST_FLAGS)
	MAP_REASON(SK_RST_REASON_TCP_OLD_ACK, SYNWAVE_RST_OLD_ACK)
	MAP_REASON(SK_RST_REASON_TCP_ABORT_ON_DATA, SYNWAVE_RST_ABORT_ON_DATA)
	MAP_REASON(SK_RST_REASON_TCP_TIMEWAIT_SOCKET, SYNWAVE_RST_TIMEWAIT_SOCKET)
	MAP_REASON(SK_RST_REASON_INVALID_SYN, SYNWAVE_RST_INVALID_SYN)
	MAP_REASON(SK_RST_REASON_TCP_ABORT_ON_CLOSE, SYNWAVE_RST_ABORT_ON_CLOSE)
	MAP_REASON(SK_RST_REASON_TCP_ABORT_ON_LINGER, SYNWAVE_RST_ABORT_ON_LINGER)
	MAP_REASON(SK_RST_REASON_TCP_ABORT_ON_MEMORY, SYNWAVE_RST_ABORT_ON_MEMORY)
	MAP_REASON(SK_RST_REASON_TCP_STATE, SYNWAVE_RST_STATE)
	MAP_REASON(SK_RST_REASON_TCP_KEEPALIVE_TIMEOUT, SYNWAVE_RST_KEEPALIVE_TIMEOUT)
	MAP_REASON(SK_RST_REASON_TCP_DISCONNECT_WITH_DATA, SYNWAVE_RST_DISCONNECT_WITH_DATA)
	MAP_REASON(SK_RST_REASON_ERROR, SYNWAVE_RST_ERROR)
	if (bpf_core_enum_value_exists(enum sk_rst_reason, SK_RST_REASON_MPTCP_RST_EUNSPEC) &&
	    reason >= bpf_core_enum_value(enum sk_rst_reason, SK_RST_REASON_MPTCP_RST_EUNSPEC))
		return SYNWAVE_RST_MPTCP;
	return SYNWAVE_RST_UNKNOWN;
}

static __always_inline struct synwave_reset_event *reserve_reset(struct sock *sk, __u8 direction)
{
	struct synwave_reset_event *e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_RESET);

	if (!e)
		return NULL;
	e->direction = direction;
	e->socket_kind = synwave_socket_kind(sk ? &sk->__sk_common : NULL);
	e->state = sk ? sk->__sk_common.skc_state : 0;
	e->reason = SYNWAVE_RST_UNKNOWN;
	e->netns = sk ? synwave_netns(&sk->__sk_common) : 0;
	if (sk)
		synwave_identify(&e->hdr, sk);
	return e;
}

/* The reason argument exists from 6.10 on; before, this fails to load and the loader falls
 * back to sw_send_reset_tp (no reason: the correlator classifies from errno and state). */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(sw_send_reset, struct sock *sk, struct sk_buff *skb, int reason)
{
	struct synwave_reset_event *e;
	struct tcp_sock *tp = NULL;
	__u8 ours = reset_reason(reason);
	__u8 kind = synwave_socket_kind(sk ? &sk->__sk_common : NULL);

	/* A connection's own reset counts in its record; those of listeners and mini-sockets,
	 * which have no record, go out as they happen. */
	if (cfg.assemble_connections && kind == SYNWAVE_SOCKET_FULL && sk) {
		synwave_connection_reset_sent(sk, ours);
		if (!synwave_live_events())
			return 0;
	}
	e = reserve_reset(sk, SYNWAVE_RESET_SENT);
	if (!e)
		return 0;
	if (kind == SYNWAVE_SOCKET_FULL)
		e->hdr.flags |= synwave_per_event_flags();
	e->reason = ours;
	/* Only a full, connected socket knows its peer; otherwise the peer is in the packet. */
	if (sk && kind == SYNWAVE_SOCKET_FULL)
		tp = bpf_skc_to_tcp_sock((void *)sk);
	if (tp) {
		synwave_tuple_from_tcp(&e->tuple, tp);
	} else if (skb) {
		synwave_tuple_from_received_skb(&e->tuple, skb);
		if (!e->netns && skb->dev)
			e->netns = synwave_netns_of_net(skb->dev->nd_net.net);
	} else {
		__builtin_memset(&e->tuple, 0, sizeof(e->tuple));
	}
	synwave_submit(e);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(sw_receive_reset, struct sock *sk)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	struct synwave_reset_event *e;

	if (cfg.assemble_connections && tp) {
		synwave_connection_reset_received(sk, tp);
		if (!synwave_live_events())
			return 0;
	}
	e = reserve_reset(sk, SYNWAVE_RESET_RECEIVED);
	if (!e)
		return 0;
	e->hdr.flags |= synwave_per_event_flags();
	if (tp)
		synwave_tuple_from_tcp(&e->tuple, tp);
	else
		synwave_tuple_from_common(&e->tuple, &sk->__sk_common);
	synwave_submit(e);
	return 0;
}

SEC("tracepoint/tcp/tcp_send_reset")
int sw_send_reset_tp(void *ctx)
{
	struct trace_event_raw_tcp_send_reset *now = ctx;
	struct sk_buff *skb;
	struct sock *sk;
	struct synwave_reset_event *e;

	SYNWAVE_CLASSIC_SK_SKB(ctx, trace_event_raw_tcp_send_reset, sk, skb);
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_RESET);
	if (!e)
		return 0;
	e->direction = SYNWAVE_RESET_SENT;
	e->socket_kind = synwave_socket_kind_classic(sk);
	e->state = sk ? BPF_CORE_READ(sk, __sk_common.skc_state) : 0;
	e->reason = SYNWAVE_RST_UNKNOWN;
	if (bpf_core_type_exists(struct trace_event_raw_tcp_send_reset) && bpf_core_field_exists(now->reason))
		e->reason = reset_reason(BPF_CORE_READ(now, reason));
	e->netns = sk ? synwave_netns_classic(sk) : 0;
	if (sk)
		synwave_identify_classic(&e->hdr, sk);
	if (sk && e->socket_kind == SYNWAVE_SOCKET_FULL) {
		synwave_tuple_from_sock_classic(&e->tuple, sk, 1);
	} else if (skb) {
		synwave_tuple_from_received_skb_classic(&e->tuple, skb);
		if (!e->netns)
			e->netns = synwave_netns_of_net_classic(BPF_CORE_READ(skb, dev, nd_net.net));
	} else {
		__builtin_memset(&e->tuple, 0, sizeof(e->tuple));
	}
	synwave_submit(e);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int sw_receive_reset_tp(struct trace_event_raw_tcp_event_sk *ctx)
{
	struct sock *sk = (void *)ctx->skaddr;
	struct synwave_reset_event *e;

	if (!sk)
		return 0;
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_RESET);
	if (!e)
		return 0;
	e->direction = SYNWAVE_RESET_RECEIVED;
	e->socket_kind = synwave_socket_kind_classic(sk);
	e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e->reason = SYNWAVE_RST_UNKNOWN;
	e->netns = synwave_netns_classic(sk);
	synwave_identify_classic(&e->hdr, sk);
	synwave_tuple_from_sock_classic(&e->tuple, sk, e->socket_kind == SYNWAVE_SOCKET_FULL);
	synwave_submit(e);
	return 0;
}
