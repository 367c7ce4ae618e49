// SPDX-License-Identifier: GPL-2.0
/*
 * Listener queues at a poll, without sock_diag. sock_diag fills a netlink message per
 * listener and, for the SYN queue, walks the whole established hash for request sockets:
 * with 10,000 listeners a poll a second cost 2.5% of a core here, most of it in the kernel.
 * Instead every listener carries a mark (socket storage), and a poll reads one iterator over
 * the marked sockets only, each listener's own counters included (its SYN queue length too).
 *
 * A poll writes only the listeners that are new or whose counters moved since the last one,
 * then an end record with how many it visited (see dump_visited).
 *
 * Marks: sw_listener_mark at each CLOSE -> LISTEN; sw_listener_mark_existing, an iter/tcp
 * run once per watched namespace, for listeners older than synwave. A mark goes with its
 * socket; children are not marked (no BPF_F_CLONE).
 * bpf_sk_storage_get from tp_btf and iterator programs needs 5.11: older kernels refuse the
 * programs and the poller keeps sock_diag.
 *
 * Some kernel builds refuse every map-element iterator (6.18.44-fc-v1272: EPERM before
 * verification for any iter/bpf_sk_storage_map program) while iter/tcp loads. There the same
 * records come from sw_listener_walk{,_changes}: an iter/tcp walk per watched namespace that
 * marks and reports its listeners, and returns at once for every other socket.
 */
#include "tuple.bpf.h"
#include "cgroup.bpf.h"

/* A listener's fixed facts, read from the socket at its first poll and kept here: at each
 * poll after that, only the lines holding its queue counters are read (idle listeners are
 * cold in cache, and the inode alone is four dependent loads). Zero until the first poll. */
struct listener_mark {
	__u64 cookie;
	__u64 inode;
	__u8 addr[SYNWAVE_ADDR_LEN];
	__u32 netns;
	__u32 uid;
	__u16 family;
	__u16 port;
	__u32 reported;       /* 1 once a record of this listener was written */
	/* The queue counters of the last record written: a dump of changes skips a listener
	 * whose counters are all the same (on an idle host, nearly all of them). */
	__u32 last_syn_queue;
	__u32 last_accept_queue;
	__u32 last_backlog;
	__u32 last_drops;
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct listener_mark);
} listener_marks SEC(".maps");

static __always_inline void mark_listener(struct sock *sk)
{
	bpf_sk_storage_get(&listener_marks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sw_listener_mark, struct sock *sk, const int oldstate, const int newstate)
{
	if (newstate == TCP_LISTEN && sk->sk_protocol == IPPROTO_TCP)
		mark_listener(sk);
	return 0;
}

/* Runs over the namespace it was opened in; listeners come first (the listening hash). */
SEC("iter/tcp")
int sw_listener_mark_existing(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct tcp_sock *tp;

	if (!skc || skc->skc_state != TCP_LISTEN)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (tp)
		mark_listener((struct sock *)tp);
	return 0;
}

/* The facts that stay while the socket listens (its address and port are final by then). */
static __always_inline void remember_listener(struct listener_mark *m, struct sock *sk)
{
	const struct sock_common *skc = &sk->__sk_common;

	m->inode = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	m->family = skc->skc_family;
	m->port = skc->skc_num;
	if (m->family == AF_INET6)
		__builtin_memcpy(m->addr, &skc->skc_v6_rcv_saddr, 16);
	else
		__builtin_memcpy(m->addr, &skc->skc_rcv_saddr, 4);
	m->netns = synwave_netns(skc);
	m->uid = sk->sk_uid.val;
	m->cookie = bpf_get_socket_cookie(sk);
}

/* Listeners the running dump visited, for its end record: from the count the reader learns
 * whether a listener it knows of is gone, which a dump of changes cannot say by itself.
 * A global, not per CPU: one dump's reads may run on different CPUs. One dump at a time.
 *
 * When a record does not fit in the iterator's buffer, the kernel drops it and runs the
 * program again on the same socket at the next read(): so state changes only once a record
 * was written (or when none is due). The count restarts at the dump's first socket
 * (meta->seq_num 0) and once the end record is written. */
__u32 dump_visited;

/* The iterator calls its program once more after the last element, with neither socket nor
 * value: the end record carries the count (family 0). */
static __always_inline int write_dump_end(struct bpf_iter_meta *meta)
{
	struct synwave_listener_record r = {};

	r.visited = dump_visited;
	if (bpf_seq_write(meta->seq, &r, sizeof(r)) == 0)
		dump_visited = 0;
	return 0;
}

/* One listener's record, from its mark: written when a full dump asks for it, or when new or
 * its queue counters moved. */
static __always_inline int report_listener(struct seq_file *seq, struct sock *sk, struct listener_mark *m,
					   const int changes_only)
{
	struct synwave_listener_record r = {};
	struct tcp_sock *tp;

	if (!sk || sk->__sk_common.skc_state != TCP_LISTEN)
		return 0;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return 0;
	r.syn_queue = tp->inet_conn.icsk_accept_queue.qlen.counter;
	r.accept_queue = sk->sk_ack_backlog;
	r.backlog = sk->sk_max_ack_backlog;
	r.drops = sk->sk_drops.counter;
	if (changes_only && m->reported && r.syn_queue == m->last_syn_queue && r.accept_queue == m->last_accept_queue &&
	    r.backlog == m->last_backlog && r.drops == m->last_drops) {
		dump_visited++;
		return 0;
	}
	if (!m->cookie)
		remember_listener(m, sk);
	r.cookie = m->cookie;
	r.inode = m->inode;
	__builtin_memcpy(r.addr, m->addr, SYNWAVE_ADDR_LEN);
	r.netns = m->netns;
	r.uid = m->uid;
	r.family = m->family;
	r.port = m->port;
	r.cgroup_id = synwave_socket_cgroup(sk);
	if (bpf_seq_write(seq, &r, sizeof(r)))
		return 0;
	dump_visited++;
	m->reported = 1;
	m->last_syn_queue = r.syn_queue;
	m->last_accept_queue = r.accept_queue;
	m->last_backlog = r.backlog;
	m->last_drops = r.drops;
	return 0;
}

static __always_inline int dump_listener(struct bpf_iter__bpf_sk_storage_map *ctx, const int changes_only)
{
	struct listener_mark *m = ctx->value;

	if (!m)
		return write_dump_end(ctx->meta);
	if (ctx->meta->seq_num == 0)
		dump_visited = 0;
	return report_listener(ctx->meta->seq, ctx->sk, m, changes_only);
}

/* The walk of one namespace: listeners come first (the listening hash), every other socket
 * costs one state check. Marks are made here, so a walked namespace needs no marking pass. */
static __always_inline int walk_listener(struct bpf_iter__tcp *ctx, const int changes_only)
{
	struct sock_common *skc = ctx->sk_common;
	struct listener_mark *m;
	struct tcp_sock *tp;

	if (!skc)
		return write_dump_end(ctx->meta);
	if (ctx->meta->seq_num == 0)
		dump_visited = 0;
	if (skc->skc_state != TCP_LISTEN)
		return 0;
	tp = bpf_skc_to_tcp_sock(skc);
	if (!tp)
		return 0;
	m = bpf_sk_storage_get(&listener_marks, (struct sock *)tp, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (!m)
		return 0;
	return report_listener(ctx->meta->seq, (struct sock *)tp, m, changes_only);
}

/* Every marked listener: the first poll, and whenever the reader lost track. */
SEC("iter/bpf_sk_storage_map")
int sw_listener_dump(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	return dump_listener(ctx, 0);
}

/* Listeners new since the last dump or whose queue counters moved, and the end record. */
SEC("iter/bpf_sk_storage_map")
int sw_listener_dump_changes(struct bpf_iter__bpf_sk_storage_map *ctx)
{
	return dump_listener(ctx, 1);
}

/* The same two, walking one namespace's TCP sockets (kernels that refuse the map iterator). */
SEC("iter/tcp")
int sw_listener_walk(struct bpf_iter__tcp *ctx)
{
	return walk_listener(ctx, 0);
}

SEC("iter/tcp")
int sw_listener_walk_changes(struct bpf_iter__tcp *ctx)
{
	return walk_listener(ctx, 1);
}
