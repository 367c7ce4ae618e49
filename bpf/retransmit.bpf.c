// SPDX-License-Identifier: GPL-2.0
/* Retransmissions: tcp:tcp_retransmit_skb (our segments) and tcp:tcp_retransmit_synack (a listener's requests). */
#include "listener.bpf.h"

#define TCPHDR_FIN 0x01
#define TCPHDR_SYN 0x02
#define ICSK_TIME_LOSS_PROBE 3 /* include/net/inet_connection_sock.h, not in BTF */

static __always_inline __u8 segment_kind(const struct sock *sk, const struct sk_buff *skb)
{
	__u8 tcp_flags = 0;

	/* tcp_skb_cb lives in skb->cb, an untyped array: read the flags byte at its CO-RE offset. */
	bpf_probe_read_kernel(&tcp_flags, 1, (void *)skb->cb + bpf_core_field_offset(struct tcp_skb_cb, tcp_flags));
	if ((tcp_flags & TCPHDR_SYN) || sk->__sk_common.skc_state == TCP_SYN_SENT)
		return SYNWAVE_RETRANSMIT_SYN;
	if (tcp_flags & TCPHDR_FIN)
		return SYNWAVE_RETRANSMIT_FIN;
	return SYNWAVE_RETRANSMIT_DATA;
}

static __always_inline void emit_retransmit(const struct sock *sk, const struct sk_buff *skb, int err)
{
	const struct inet_connection_sock *icsk = (const struct inet_connection_sock *)bpf_skc_to_tcp_sock((void *)sk);
	struct synwave_retransmit_event *e;
	__u8 flags = 0;

	if (!icsk)
		return;
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_RETRANSMIT);
	if (!e)
		return;
	synwave_identify(&e->hdr, (struct sock *)sk);
	e->netns = synwave_netns(&sk->__sk_common);
	e->state = sk->__sk_common.skc_state;
	e->kind = segment_kind(sk, skb);
	/* The loss-probe timer leaves icsk_pending set while it retransmits; an RTO has put
	 * the connection in the Loss state before retransmitting. */
	if (icsk->icsk_pending == ICSK_TIME_LOSS_PROBE)
		flags |= SYNWAVE_RETRANSMIT_TLP;
	if (BPF_CORE_READ_BITFIELD_PROBED(icsk, icsk_ca_state) == TCP_CA_Loss)
		flags |= SYNWAVE_RETRANSMIT_TIMEOUT;
	e->flags = flags;
	e->_pad0 = 0;
	e->err = err;
	e->retransmits = icsk->icsk_retransmits;
	e->syn_queue = 0;
	e->accept_queue = 0;
	e->backlog = 0;
	e->_pad1 = 0;
	synwave_tuple_from_tcp(&e->tuple, (const struct tcp_sock *)icsk);
	synwave_submit(e);
}

/* 6.18 passes err; the argument was added after the tracepoint itself (see issue 6 for older kernels). */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(sw_retransmit_skb, const struct sock *sk, const struct sk_buff *skb, int err)
{
	emit_retransmit(sk, skb, err);
	return 0;
}

SEC("tp_btf/tcp_retransmit_synack")
int BPF_PROG(sw_retransmit_synack, struct sock *listener, const struct request_sock *req)
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
		__sync_fetch_and_add(&s->synack_retransmits, 1);
		synwave_listener_sample(s, tp);
		synwave_listener_check_syn_full(listener, cookie, s);
		synwave_listener_check_accept_full(listener, cookie, s);
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
	e->flags = 0;
	e->_pad0 = 0;
	e->err = 0;
	e->retransmits = req->num_retrans;
	e->syn_queue = tp->inet_conn.icsk_accept_queue.qlen.counter;
	e->accept_queue = listener->sk_ack_backlog;
	e->backlog = listener->sk_max_ack_backlog;
	e->_pad1 = 0;
	/* The request's sock_common holds both ends of the would-be connection. */
	synwave_tuple_from_common(&e->tuple, &req->__req_common);
	synwave_submit(e);
	return 0;
}
