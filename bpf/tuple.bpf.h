/* SPDX-License-Identifier: GPL-2.0 */
/* Socket identity and address tuples, for tp_btf programs (typed pointers, plain loads). */
#ifndef SYNWAVE_TUPLE_BPF_H
#define SYNWAVE_TUPLE_BPF_H

#include "netns.bpf.h"

static __always_inline __u8 synwave_socket_kind_of_state(__u8 state)
{
	switch (state) {
	case TCP_LISTEN:
		return SYNWAVE_SOCKET_LISTENER;
	case TCP_NEW_SYN_RECV:
		return SYNWAVE_SOCKET_REQUEST;
	case TCP_TIME_WAIT:
		return SYNWAVE_SOCKET_TIME_WAIT;
	default:
		return SYNWAVE_SOCKET_FULL;
	}
}

static __always_inline __u8 synwave_socket_kind(const struct sock_common *skc)
{
	return skc ? synwave_socket_kind_of_state(skc->skc_state) : SYNWAVE_SOCKET_NONE;
}

/* Every socket kind starts with sock_common, so this is safe on mini-sockets too. */
static __always_inline void synwave_tuple_from_common(struct synwave_tuple *t, const struct sock_common *skc)
{
	__u16 family = skc->skc_family;

	t->family = family;
	t->sport = skc->skc_num;
	t->dport = bpf_ntohs(skc->skc_dport);
	t->_pad0 = 0;
	if (family == AF_INET6) {
		__builtin_memcpy(t->saddr, &skc->skc_v6_rcv_saddr, 16);
		__builtin_memcpy(t->daddr, &skc->skc_v6_daddr, 16);
	} else {
		__builtin_memset(t->saddr, 0, sizeof(t->saddr));
		__builtin_memset(t->daddr, 0, sizeof(t->daddr));
		__builtin_memcpy(t->saddr, &skc->skc_rcv_saddr, 4);
		__builtin_memcpy(t->daddr, &skc->skc_daddr, 4);
	}
}

/*
 * The tuple of a received segment, seen from this host: local = its destination.
 * Listeners and mini-sockets know only their own side, so resets they send take the
 * peer from the packet that caused them. Packet memory is read with probe reads.
 */
static __always_inline void synwave_tuple_from_packet(struct synwave_tuple *t, const unsigned char *head,
						      __u16 network, __u16 transport)
{
	__u8 version = 0;
	__be16 ports[2] = {};

	__builtin_memset(t, 0, sizeof(*t));
	bpf_probe_read_kernel(&version, 1, head + network);
	version >>= 4;
	if (version == 4) {
		t->family = AF_INET;
		bpf_probe_read_kernel(t->daddr, 4, head + network + 12); /* iphdr.saddr: the peer */
		bpf_probe_read_kernel(t->saddr, 4, head + network + 16); /* iphdr.daddr: us */
	} else if (version == 6) {
		t->family = AF_INET6;
		bpf_probe_read_kernel(t->daddr, 16, head + network + 8);
		bpf_probe_read_kernel(t->saddr, 16, head + network + 24);
	} else {
		return;
	}
	bpf_probe_read_kernel(ports, sizeof(ports), head + transport);
	t->dport = bpf_ntohs(ports[0]);
	t->sport = bpf_ntohs(ports[1]);
}

static __always_inline void synwave_tuple_from_received_skb(struct synwave_tuple *t, const struct sk_buff *skb)
{
	synwave_tuple_from_packet(t, skb->head, skb->network_header, skb->transport_header);
}

/* A full TCP socket's tuple. inet_sport, not skc_num: the port is unhashed (skc_num = 0)
 * before the X -> CLOSE transition fires. */
static __always_inline void synwave_tuple_from_tcp(struct synwave_tuple *t, const struct tcp_sock *tp)
{
	synwave_tuple_from_common(t, &tp->inet_conn.icsk_inet.sk.__sk_common);
	t->sport = bpf_ntohs(tp->inet_conn.icsk_inet.inet_sport);
}

static __always_inline __u32 synwave_netns(const struct sock_common *skc)
{
	return synwave_netns_of_net(skc->skc_net.net);
}

/* Cookie and address into a record header (cookies exist on mini-sockets too). */
static __always_inline void synwave_identify_as(struct synwave_event_header *hdr, struct sock *sk, __u64 cookie)
{
	hdr->cookie = cookie;
	hdr->skaddr = (__u64)sk;
	hdr->flags |= SYNWAVE_EVF_COOKIE;
}

static __always_inline void synwave_identify(struct synwave_event_header *hdr, struct sock *sk)
{
	synwave_identify_as(hdr, sk, bpf_get_socket_cookie(sk));
}

#endif /* SYNWAVE_TUPLE_BPF_H */
