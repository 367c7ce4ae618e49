/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for classic-tracepoint programs: the fallback the loader picks, per feature, where
 * the tp_btf program is refused (older kernels: no bpf_get_socket_cookie or
 * bpf_get_current_task_btf in tp_btf before 5.11/5.12, tracepoint arguments added later).
 * A classic program sees only the tracepoint's record: every socket field is a CO-RE probe read.
 */
#ifndef SYNWAVE_CLASSIC_BPF_H
#define SYNWAVE_CLASSIC_BPF_H

#include "listener.bpf.h"

/*
 * The record of tcp_retransmit_skb and tcp_send_reset on older kernels, where both used the
 * event class tcp_event_sk_skb (each has its own class now: tcp_send_reset since 6.10 with a
 * reason, tcp_retransmit_skb with err). Read through BPF_CORE_READ: direct loads through two
 * layouts of one ctx make clang offset the ctx pointer itself, which the verifier refuses.
 */
struct trace_event_raw_tcp_event_sk_skb___old {
	const void *skbaddr;
	const void *skaddr;
} __attribute__((preserve_access_index));

/* The socket and skb of such a record: from `record_type` (the event's own class) where the
 * kernel has it, else from the older shared layout. A macro: the record types differ. */
#define SYNWAVE_CLASSIC_SK_SKB(ctx, record_type, sk_out, skb_out)                              \
	do {                                                                                    \
		if (bpf_core_type_exists(struct record_type)) {                                 \
			sk_out = (void *)BPF_CORE_READ((struct record_type *)(ctx), skaddr);     \
			skb_out = (void *)BPF_CORE_READ((struct record_type *)(ctx), skbaddr);   \
		} else {                                                                        \
			struct trace_event_raw_tcp_event_sk_skb___old *old = (ctx);             \
			sk_out = (void *)BPF_CORE_READ(old, skaddr);                            \
			skb_out = (void *)BPF_CORE_READ(old, skbaddr);                          \
		}                                                                               \
	} while (0)

/*
 * bpf_get_socket_cookie is refused in classic tracepoints. When the state program runs on
 * tp_btf it has generated the cookie of every socket it saw, so reading the stored one joins
 * these events to its records; otherwise (all-classic) the socket address is the identity.
 */
static __always_inline void synwave_identify_classic(struct synwave_event_header *hdr, struct sock *sk)
{
	__u64 cookie;

	hdr->skaddr = (__u64)sk;
	if (!cfg.cookie_identity || !sk)
		return;
	cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	if (cookie) {
		hdr->cookie = cookie;
		hdr->flags |= SYNWAVE_EVF_COOKIE;
	}
}

static __always_inline __u32 synwave_netns_classic(struct sock *sk)
{
	return synwave_netns_of_net_classic(BPF_CORE_READ(sk, __sk_common.skc_net.net));
}

static __always_inline __u8 synwave_socket_kind_classic(struct sock *sk)
{
	return sk ? synwave_socket_kind_of_state(BPF_CORE_READ(sk, __sk_common.skc_state)) : SYNWAVE_SOCKET_NONE;
}

/* A socket's tuple. Full sockets: the bound port from inet_sport, which outlives skc_num. */
static __always_inline void synwave_tuple_from_sock_classic(struct synwave_tuple *t, struct sock *sk, int full)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);
	__u16 port = BPF_CORE_READ(sk, __sk_common.skc_num);

	__builtin_memset(t, 0, sizeof(*t));
	t->family = family;
	if (full && !port)
		port = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	t->sport = port;
	t->dport = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&t->saddr, sk, __sk_common.skc_v6_rcv_saddr);
		BPF_CORE_READ_INTO(&t->daddr, sk, __sk_common.skc_v6_daddr);
	} else {
		__be32 saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		__be32 daddr = BPF_CORE_READ(sk, __sk_common.skc_daddr);

		__builtin_memcpy(t->saddr, &saddr, 4);
		__builtin_memcpy(t->daddr, &daddr, 4);
	}
}

static __always_inline void synwave_tuple_from_received_skb_classic(struct synwave_tuple *t, struct sk_buff *skb)
{
	synwave_tuple_from_packet(t, BPF_CORE_READ(skb, head), BPF_CORE_READ(skb, network_header),
				  BPF_CORE_READ(skb, transport_header));
}

/*
 * A listener's statistics. The map is keyed by cookie whatever the identity mode, because the
 * sock_diag poller joins on it: the stored cookie exists once a tp_btf program or a poll has
 * seen the listener; a listener neither has seen yet is counted as untracked.
 */
static __always_inline struct synwave_listener_stats *synwave_listener_stats_classic(struct sock *listener,
										      __u64 *cookie_out)
{
	__u64 cookie = BPF_CORE_READ(listener, __sk_common.skc_cookie.counter);
	struct synwave_listener_stats fresh = {};
	struct synwave_listener_stats *stats;

	*cookie_out = cookie;
	if (!cookie) {
		synwave_count(SYNWAVE_COUNTER_LISTENER_UNTRACKED);
		return NULL;
	}
	stats = bpf_map_lookup_elem(&listeners, &cookie);
	if (stats)
		return stats;
	fresh.netns = synwave_netns_classic(listener);
	fresh.family = BPF_CORE_READ(listener, __sk_common.skc_family);
	fresh.port = BPF_CORE_READ(listener, __sk_common.skc_num);
	if (fresh.family == AF_INET6) {
		BPF_CORE_READ_INTO(&fresh.addr, listener, __sk_common.skc_v6_rcv_saddr);
	} else {
		__be32 addr = BPF_CORE_READ(listener, __sk_common.skc_rcv_saddr);

		__builtin_memcpy(fresh.addr, &addr, 4);
	}
	fresh.inode = BPF_CORE_READ(listener, sk_socket, file, f_inode, i_ino);
	return synwave_listener_stats_insert(cookie, &fresh);
}

static __always_inline void synwave_listener_sample_classic(struct synwave_listener_stats *s, struct sock *listener)
{
	struct inet_connection_sock *icsk = (struct inet_connection_sock *)listener;

	synwave_listener_record_depths(s, BPF_CORE_READ(icsk, icsk_accept_queue.qlen.counter),
				       BPF_CORE_READ(listener, sk_ack_backlog), BPF_CORE_READ(listener, sk_max_ack_backlog));
}

#endif /* SYNWAVE_CLASSIC_BPF_H */
