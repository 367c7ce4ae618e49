/* SPDX-License-Identifier: GPL-2.0 */
/* Per-listener queue statistics (map "listeners"), shared by every program that sees a listener. */
#ifndef SYNWAVE_LISTENER_BPF_H
#define SYNWAVE_LISTENER_BPF_H

#include "tuple.bpf.h"
#include "cgroup.bpf.h"

/* Inserts a listener's first statistics, or finds the entry another CPU made meanwhile
 * (NOEXIST: that one wins); NULL, and counted, only if the map refuses the entry. */
static __always_inline struct synwave_listener_stats *synwave_listener_stats_insert(__u64 cookie,
										     const struct synwave_listener_stats *fresh)
{
	struct synwave_listener_stats *stats;

	bpf_map_update_elem(&listeners, &cookie, fresh, BPF_NOEXIST);
	stats = bpf_map_lookup_elem(&listeners, &cookie);
	if (!stats)
		synwave_count(SYNWAVE_COUNTER_LISTENER_UNTRACKED);
	return stats;
}

/* A listener's statistics, created the first time any program sees it. */
static __always_inline struct synwave_listener_stats *synwave_listener_stats(struct sock *listener, __u64 cookie)
{
	struct synwave_listener_stats *stats = bpf_map_lookup_elem(&listeners, &cookie);
	struct synwave_listener_stats fresh = {};
	const struct sock_common *skc = &listener->__sk_common;

	if (stats)
		return stats;
	fresh.netns = synwave_netns(skc);
	fresh.family = skc->skc_family;
	fresh.port = skc->skc_num;
	if (fresh.family == AF_INET6)
		__builtin_memcpy(fresh.addr, &skc->skc_v6_rcv_saddr, 16);
	else
		__builtin_memcpy(fresh.addr, &skc->skc_rcv_saddr, 4);
	fresh.inode = BPF_CORE_READ(listener, sk_socket, file, f_inode, i_ino);
	return synwave_listener_stats_insert(cookie, &fresh);
}

/* Current depths into the statistics. The maxima are a plain compare-and-store: two CPUs
 * sampling one listener at the same instant may keep the smaller, and the next sample
 * corrects it; an atomic max would need cmpxchg loops (5.12+) for that rare case. */
static __always_inline void synwave_listener_record_depths(struct synwave_listener_stats *s, __u32 syn_queue,
							   __u32 accept_queue, __u32 backlog)
{
	s->syn_queue = syn_queue;
	s->accept_queue = accept_queue;
	s->backlog = backlog;
	if (syn_queue > s->max_syn_queue)
		s->max_syn_queue = syn_queue;
	if (accept_queue > s->max_accept_queue)
		s->max_accept_queue = accept_queue;
}

static __always_inline void synwave_listener_sample(struct synwave_listener_stats *s, const struct tcp_sock *tp)
{
	const struct sock *sk = &tp->inet_conn.icsk_inet.sk;

	synwave_listener_record_depths(s, tp->inet_conn.icsk_accept_queue.qlen.counter, sk->sk_ack_backlog,
				       sk->sk_max_ack_backlog);
}

static __always_inline void synwave_listener_report(struct sock *listener, __u64 cookie,
						    const struct synwave_listener_stats *s, __u8 kind)
{
	struct synwave_listener_event *e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_LISTENER);

	if (!e)
		return;
	e->hdr.cookie = cookie;
	e->hdr.skaddr = (__u64)listener;
	e->hdr.flags = SYNWAVE_EVF_COOKIE;
	e->kind = kind;
	e->_pad0 = 0;
	e->family = s->family;
	e->netns = s->netns;
	e->syn_queue = s->syn_queue;
	e->accept_queue = s->accept_queue;
	e->backlog = s->backlog;
	e->port = s->port;
	e->_pad1 = 0;
	e->accept_overflows = s->accept_overflows;
	e->inode = s->inode;
	__builtin_memcpy(e->addr, s->addr, SYNWAVE_ADDR_LEN);
	e->cgroup_id = synwave_socket_cgroup_announced(listener);
	synwave_submit(e);
}

/*
 * Reports the moment a queue fills, once, until a sample finds room again. The kernel's tests:
 * accept queue sk_ack_backlog > sk_max_ack_backlog, SYN queue qlen > sk_max_ack_backlog
 * (inet_csk_reqsk_queue_is_full): both hold backlog + 1.
 */
static __always_inline void synwave_listener_check_full(struct sock *listener, __u64 cookie,
							struct synwave_listener_stats *s, __u32 depth,
							__u8 *full_now, __u64 *times_full, __u8 kind)
{
	if (depth <= s->backlog) {
		*full_now = 0;
		return;
	}
	if (*full_now)
		return;
	*full_now = 1;
	__atomic_fetch_add(times_full, 1, __ATOMIC_RELAXED);
	synwave_listener_report(listener, cookie, s, kind);
}

static __always_inline void synwave_listener_check_accept_full(struct sock *listener, __u64 cookie,
							       struct synwave_listener_stats *s)
{
	synwave_listener_check_full(listener, cookie, s, s->accept_queue, &s->accept_full_now,
				    &s->accept_queue_full, SYNWAVE_LISTENER_ACCEPT_QUEUE_FULL);
}

static __always_inline void synwave_listener_check_syn_full(struct sock *listener, __u64 cookie,
							    struct synwave_listener_stats *s)
{
	synwave_listener_check_full(listener, cookie, s, s->syn_queue, &s->syn_full_now,
				    &s->syn_queue_full, SYNWAVE_LISTENER_SYN_QUEUE_FULL);
}

/* A final ACK met the full accept queue (kfree_skb TCP_LISTEN_OVERFLOW), once the listener is
 * sampled: counted in full; a full queue drops every retransmitted ACK, so the record goes out
 * at most once per cfg.listener_report_ns, with the running total. */
static __always_inline void synwave_listener_overflowed(struct sock *listener, __u64 cookie,
							struct synwave_listener_stats *s)
{
	__u64 now;

	__atomic_fetch_add(&s->accept_overflows, 1, __ATOMIC_RELAXED);
	synwave_listener_check_accept_full(listener, cookie, s);
	now = bpf_ktime_get_boot_ns();
	if (now - s->last_report_ns >= cfg.listener_report_ns) {
		s->last_report_ns = now;
		synwave_listener_report(listener, cookie, s, SYNWAVE_LISTENER_ACCEPT_OVERFLOW);
	}
}

/* The listener retransmitted a SYN-ACK, once it is sampled. */
static __always_inline void synwave_listener_synack_retransmitted(struct sock *listener, __u64 cookie,
								  struct synwave_listener_stats *s)
{
	__atomic_fetch_add(&s->synack_retransmits, 1, __ATOMIC_RELAXED);
	synwave_listener_check_syn_full(listener, cookie, s);
	synwave_listener_check_accept_full(listener, cookie, s);
}

#endif /* SYNWAVE_LISTENER_BPF_H */
