// SPDX-License-Identifier: GPL-2.0
/* Retransmissions: tcp:tcp_retransmit_skb (our segments) and tcp:tcp_retransmit_synack (a listener's requests). */
#include "listener.bpf.h"
#include "classic.bpf.h"
#include "connection.bpf.h"

#define TCPHDR_FIN 0x01
#define TCPHDR_SYN 0x02
#define ICSK_TIME_LOSS_PROBE 3 /* include/net/inet_connection_sock.h, not in BTF */

static __always_inline __u8 segment_kind(struct sk_buff *skb, __u8 state)
{
	__u8 tcp_flags = 0;

	/* tcp_skb_cb lives in skb->cb, an untyped array: read the flags byte at its CO-RE offset. */
	bpf_probe_read_kernel(&tcp_flags, 1, (void *)skb + bpf_core_field_offset(struct sk_buff, cb) +
						 bpf_core_field_offset(struct tcp_skb_cb, tcp_flags));
	if ((tcp_flags & TCPHDR_SYN) || state == TCP_SYN_SENT)
		return SYNWAVE_RETRANSMIT_SYN;
	if (tcp_flags & TCPHDR_FIN)
		return SYNWAVE_RETRANSMIT_FIN;
	return SYNWAVE_RETRANSMIT_DATA;
}

/* The loss-probe timer leaves icsk_pending set while it retransmits; an RTO has put the
 * connection in the Loss state before retransmitting. */
static __always_inline __u8 timer_flags(__u8 pending, __u8 ca_state)
{
	return (pending == ICSK_TIME_LOSS_PROBE ? SYNWAVE_RETRANSMIT_TLP : 0) |
	       (ca_state == TCP_CA_Loss ? SYNWAVE_RETRANSMIT_TIMEOUT : 0);
}

static __always_inline void fill_counts(struct synwave_retransmit_event *e, __u8 flags, int err, __u32 retransmits,
					__u32 syn_queue, __u32 accept_queue, __u32 backlog)
{
	e->flags = flags;
	e->_pad0 = 0;
	e->err = err;
	e->retransmits = retransmits;
	e->syn_queue = syn_queue;
	e->accept_queue = accept_queue;
	e->backlog = backlog;
	e->_pad1 = 0;
}

/* The per-connection counter a segment counts in (enum synwave_connection_retransmit). */
static __always_inline __u32 connection_retransmit(__u8 kind, __u8 flags)
{
	if (kind == SYNWAVE_RETRANSMIT_SYN)
		return SYNWAVE_CONN_RETRANSMIT_SYN;
	if (kind == SYNWAVE_RETRANSMIT_FIN)
		return SYNWAVE_CONN_RETRANSMIT_FIN;
	return (flags & SYNWAVE_RETRANSMIT_TLP) ? SYNWAVE_CONN_RETRANSMIT_TLP : SYNWAVE_CONN_RETRANSMIT_DATA;
}

static __always_inline void emit_retransmit(struct sock *sk, struct sk_buff *skb, int err)
{
	struct inet_connection_sock *icsk = (struct inet_connection_sock *)bpf_skc_to_tcp_sock((void *)sk);
	struct synwave_retransmit_event *e;
	__u8 state, kind, flags;

	if (!icsk)
		return;
	state = sk->__sk_common.skc_state;
	kind = segment_kind(skb, state);
	flags = timer_flags(icsk->icsk_pending, BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state));
	if (cfg.assemble_connections)
		synwave_connection_retransmit(sk, connection_retransmit(kind, flags));
	if (!synwave_sends_per_event())
		return;
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_RETRANSMIT);
	if (!e)
		return;
	synwave_identify(&e->hdr, sk);
	e->hdr.flags |= synwave_per_event_flags();
	e->netns = synwave_netns(&sk->__sk_common);
	e->state = state;
	e->kind = kind;
	fill_counts(e, flags, err, icsk->icsk_retransmits, 0, 0, 0);
	synwave_tuple_from_tcp(&e->tuple, (struct tcp_sock *)icsk);
	synwave_submit(e);
}

/* err is an argument on kernels newer than 6.12; on older ones this fails to load and the
 * loader falls back to sw_retransmit_skb_tp, which reads err only where the record has it. */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(sw_retransmit_skb, struct sock *sk, struct sk_buff *skb, int err)
{
	emit_retransmit(sk, skb, err);
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_skb")
int sw_retransmit_skb_tp(void *ctx)
{
	struct trace_event_raw_tcp_retransmit_skb *now = ctx;
	struct inet_connection_sock *icsk;
	struct sk_buff *skb;
	struct synwave_retransmit_event *e;
	int err = 0;

	SYNWAVE_CLASSIC_SK_SKB(ctx, trace_event_raw_tcp_retransmit_skb, icsk, skb);
	if (bpf_core_type_exists(struct trace_event_raw_tcp_retransmit_skb) && bpf_core_field_exists(now->err))
		err = BPF_CORE_READ(now, err);
	if (!icsk)
		return 0;
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_RETRANSMIT);
	if (!e)
		return 0;
	synwave_identify_classic(&e->hdr, (struct sock *)icsk);
	e->netns = synwave_netns_classic((struct sock *)icsk);
	e->state = BPF_CORE_READ(icsk, icsk_inet.sk.__sk_common.skc_state);
	e->kind = segment_kind(skb, e->state);
	fill_counts(e, timer_flags(BPF_CORE_READ(icsk, icsk_pending), BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state)),
		    err, BPF_CORE_READ(icsk, icsk_retransmits), 0, 0, 0);
	synwave_tuple_from_sock_classic(&e->tuple, (struct sock *)icsk, 1);
	synwave_submit(e);
	return 0;
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(sw_retransmit_synack, struct sock *listener, struct request_sock *req)
{
	/* The listener through a typed tcp_sock view, for its accept queue fields. */
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(listener);
	struct synwave_retransmit_event *e;
	struct synwave_listener_stats *s;
	__u64 cookie;

	if (!tp)
		return 0;
	cookie = bpf_get_socket_cookie(listener);
	s = synwave_listener_stats(listener, cookie);
	if (s) {
		synwave_listener_sample(s, tp);
		synwave_listener_synack_retransmitted(listener, cookie, s);
	}
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_RETRANSMIT);
	if (!e)
		return 0;
	e->hdr.cookie = cookie;
	e->hdr.skaddr = (__u64)listener;
	e->hdr.flags = SYNWAVE_EVF_COOKIE;
	e->netns = synwave_netns(&listener->__sk_common);
	e->state = listener->__sk_common.skc_state;
	e->kind = SYNWAVE_RETRANSMIT_SYNACK;
	fill_counts(e, 0, 0, req->num_retrans, tp->inet_conn.icsk_accept_queue.qlen.counter, listener->sk_ack_backlog,
		    listener->sk_max_ack_backlog);
	/* The request's sock_common holds both ends of the would-be connection. */
	synwave_tuple_from_common(&e->tuple, &req->__req_common);
	synwave_submit(e);
	return 0;
}

SEC("tracepoint/tcp/tcp_retransmit_synack")
int sw_retransmit_synack_tp(struct trace_event_raw_tcp_retransmit_synack *ctx)
{
	struct sock *listener = (void *)ctx->skaddr;
	struct request_sock *req = (void *)ctx->req;
	struct synwave_retransmit_event *e;
	struct synwave_listener_stats *s;
	__u64 cookie;

	if (!listener || !req)
		return 0;
	s = synwave_listener_stats_classic(listener, &cookie);
	if (s) {
		synwave_listener_sample_classic(s, listener);
		synwave_listener_synack_retransmitted(listener, cookie, s);
	}
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_RETRANSMIT);
	if (!e)
		return 0;
	synwave_identify_classic(&e->hdr, listener);
	e->netns = synwave_netns_classic(listener);
	e->state = TCP_LISTEN;
	e->kind = SYNWAVE_RETRANSMIT_SYNACK;
	fill_counts(e, 0, 0, BPF_CORE_READ(req, num_retrans),
		    BPF_CORE_READ((struct inet_connection_sock *)listener, icsk_accept_queue.qlen.counter),
		    BPF_CORE_READ(listener, sk_ack_backlog), BPF_CORE_READ(listener, sk_max_ack_backlog));
	/* A request starts with its sock_common, as a socket does. */
	synwave_tuple_from_sock_classic(&e->tuple, (struct sock *)req, 0);
	synwave_submit(e);
	return 0;
}
