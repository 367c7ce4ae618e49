/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One record per connection, assembled in the socket's own BPF storage (cfg.assemble_connections).
 *
 * Each TCP event of a full, non-listening socket updates the socket's struct synwave_connection
 * (synwave_abi.h) instead of sending a ring buffer record; the connection goes out once:
 *   - at CLOSE, unless the owner is inside close() (the socket still has its file, and both
 *     directions are shut): an aborting close sends its reset after CLOSE, and the destruction
 *     follows in the same call, so the record then goes out at tcp_destroy_sock;
 *   - at tcp_destroy_sock, when CLOSE deferred it or never ran (the kernel skipped the firing);
 *   - at CLOSE -> SYN_SENT on a socket that already had a connection (connect() again).
 * The running records live in a preallocated table of slots (struct synwave_connection_slot),
 * found by the socket's cookie: a slot is claimed with a compare-and-swap by the socket's first
 * event and freed at tcp_destroy_sock. Measured at the machine's maximum connection rate, socket
 * storage (BPF_MAP_TYPE_SK_STORAGE) cost about 13% of the traffic's throughput and this table
 * about 3%: storage is allocated and charged per socket and freed through RCU, the table never
 * allocates (docs/connection-records.md). A socket that finds all its ways taken is counted as
 * untracked. A slot whose record went out can be taken by another socket before its own socket
 * ends (tcp_destroy_sock skipped). A slot whose socket ended while the kernel ran no program
 * (neither CLOSE nor tcp_destroy_sock) is found by user space, which asks sock_diag whether the
 * socket is gone, then takes the slot and sends its record (ConnectionTable). Needs tp_btf
 * everywhere and BPF atomics (5.12+).
 *
 * Every event still goes out as it happens while user space asks for it (synwave_live), marked
 * SYNWAVE_EVF_LIVE: `tail --events` sees them, the correlator ignores them.
 */
#ifndef SYNWAVE_CONNECTION_BPF_H
#define SYNWAVE_CONNECTION_BPF_H

#include "tuple.bpf.h"
#include "cgroup.bpf.h"

#define SYNWAVE_SHUTDOWN_MASK 3 /* RCV_SHUTDOWN | SEND_SHUTDOWN, include/net/sock.h */

typedef struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE); /* user space sweeps it (ConnectionTable) */
	__uint(max_entries, SYNWAVE_CONNECTION_SLOTS);
	__type(key, __u32);
	__type(value, struct synwave_connection_slot);
} synwave_connections_map;

typedef struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct synwave_live);
} synwave_live_map;

/* Namespace inodes whose connections the per-event counters count (cfg.count_listed_netns_only). */
typedef struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u8);
} synwave_counted_netns_map;

extern synwave_connections_map connections SEC(".maps");
extern synwave_live_map live SEC(".maps");
extern synwave_counted_netns_map counted_netns SEC(".maps");

/* Whether the per-event counters count connections of this namespace (cfg.count_listed_netns_only). */
static __always_inline int synwave_netns_counted(__u32 inum)
{
	return !cfg.count_listed_netns_only || bpf_map_lookup_elem(&counted_netns, &inum) != NULL;
}

/* A per-event counter of a connection: metrics built from it then agree with the records, which
 * user space filters by namespace (only_netns). Decided once per socket, when its storage is
 * created (SYNWAVE_CONN_UNCOUNTED); only a socket without storage looks its namespace up here. */
static __always_inline void synwave_count_connection(const struct synwave_connection *c, struct sock *sk, __u32 counter)
{
	/* cfg first: without only_netns, nothing is looked up. */
	if (cfg.count_listed_netns_only &&
	    (c ? c->flags & SYNWAVE_CONN_UNCOUNTED : !synwave_netns_counted(synwave_netns(&sk->__sk_common))))
		return;
	synwave_count(counter);
}

/* Whether user space wants every event as it happens (an array lookup the verifier inlines). */
static __always_inline int synwave_live_events(void)
{
	__u32 zero = 0;
	struct synwave_live *l = bpf_map_lookup_elem(&live, &zero);

	return l && l->per_event;
}

/* Header flags of a per-event record: marked live when the connection is assembled here. */
static __always_inline __u32 synwave_per_event_flags(void)
{
	return cfg.assemble_connections ? SYNWAVE_EVF_LIVE : 0;
}

/* Whether a per-event record goes out for this event at all. */
static __always_inline int synwave_sends_per_event(void)
{
	return !cfg.assemble_connections || synwave_live_events();
}

static __always_inline struct synwave_connection_slot *synwave_connection_slot_at(__u64 cookie, __u32 way)
{
	/* Fibonacci hashing: cookies come in per-CPU runs, so their low bits alone would cluster. */
	__u32 index = (__u32)((cookie * 0x9E3779B97F4A7C15ull) >> 32);

	index = (index + way) & (SYNWAVE_CONNECTION_SLOTS - 1);
	return bpf_map_lookup_elem(&connections, &index);
}

/* The socket's running record, or NULL when it has none. */
static __always_inline struct synwave_connection *synwave_connection_find(__u64 cookie)
{
	struct synwave_connection_slot *slot;

	if (!cookie)
		return NULL;
	for (__u32 way = 0; way < SYNWAVE_CONNECTION_WAYS; way++) {
		slot = synwave_connection_slot_at(cookie, way);
		if (slot && slot->cookie == cookie)
			return &slot->conn;
	}
	return NULL;
}

/* Takes a free slot (or, failing that, one whose record went out) for the cookie. */
static __always_inline struct synwave_connection *synwave_connection_claim(__u64 cookie)
{
	struct synwave_connection_slot *slot;
	__u64 seen;

	for (__u32 pass = 0; pass < 2; pass++) {
		for (__u32 way = 0; way < SYNWAVE_CONNECTION_WAYS; way++) {
			slot = synwave_connection_slot_at(cookie, way);
			if (!slot)
				continue;
			seen = slot->cookie;
			if (pass == 0 ? seen != 0 : !(slot->conn.flags & SYNWAVE_CONN_EMITTED))
				continue;
			if (__sync_val_compare_and_swap(&slot->cookie, seen, cookie) != seen)
				continue;
			__builtin_memset(&slot->conn, 0, sizeof(slot->conn));
			return &slot->conn;
		}
	}
	return NULL;
}

/* At the socket's end: its slot is free again (unless another socket took it meanwhile). */
static __always_inline void synwave_connection_release(__u64 cookie)
{
	struct synwave_connection_slot *slot;

	for (__u32 way = 0; way < SYNWAVE_CONNECTION_WAYS; way++) {
		slot = synwave_connection_slot_at(cookie, way);
		if (slot && slot->cookie == cookie) {
			__sync_val_compare_and_swap(&slot->cookie, cookie, 0);
			return;
		}
	}
}

/* The socket's connection, created (zeroed) by its first event; counted when it cannot be. */
static __always_inline struct synwave_connection *synwave_connection_at(struct sock *sk, __u64 cookie, __u64 now)
{
	struct synwave_connection *c = synwave_connection_find(cookie);
	__u32 pid;

	if (!c && cookie)
		c = synwave_connection_claim(cookie);
	if (!c) {
		synwave_count(SYNWAVE_COUNTER_CONNECTION_UNTRACKED);
		return NULL;
	}
	if (!c->start_ns) {
		c->start_ns = now;
		c->netns = synwave_netns(&sk->__sk_common);
		c->cgroup_id = synwave_socket_cgroup_announced(sk);
		synwave_fill_task_btf(&c->tgid, &pid, c->comm);
		if (!synwave_netns_counted(c->netns))
			c->flags |= SYNWAVE_CONN_UNCOUNTED;
	}
	return c;
}

/* The socket's connection by its cookie (the stored one when a program already made it). */
static __always_inline struct synwave_connection *synwave_connection_of(struct sock *sk)
{
	__u64 cookie = sk->__sk_common.skc_cookie.counter;

	if (!cookie)
		cookie = bpf_get_socket_cookie(sk);
	return synwave_connection_at(sk, cookie, bpf_ktime_get_boot_ns());
}

/* The owner's own system call made this event: the current task is the socket's owner. */
static __always_inline void synwave_connection_owner(struct synwave_connection *c)
{
	__u32 pid;

	synwave_fill_task_btf(&c->tgid, &pid, c->comm);
	c->flags |= SYNWAVE_CONN_OWNER;
}

static __always_inline void synwave_connection_tuple(struct synwave_connection *c, const struct tcp_sock *tp)
{
	if (c->flags & SYNWAVE_CONN_TUPLE)
		return;
	synwave_tuple_from_tcp(&c->tuple, tp);
	if (c->tuple.sport && c->tuple.dport)
		c->flags |= SYNWAVE_CONN_TUPLE;
}

/* sk_err: the first nonzero one, as the per-event correlator keeps it. */
static __always_inline void synwave_connection_error(struct synwave_connection *c, struct sock *sk)
{
	int err = sk->sk_err;

	if (err && !c->error)
		c->error = err;
}

static __always_inline void synwave_connection_send(struct synwave_connection *c, struct sock *sk, __u64 cookie,
						    __u8 why)
{
	struct synwave_connection_event *e;

	c->flags |= SYNWAVE_CONN_EMITTED | why;
	synwave_count(SYNWAVE_COUNTER_CONNECTIONS);
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_CONNECTION);
	if (!e)
		return;
	synwave_identify_as(&e->hdr, sk, cookie);
	__builtin_memcpy(&e->conn, c, sizeof(*c));
	synwave_submit(e);
}

static __always_inline void synwave_connection_add_transition(struct synwave_connection *c, __u64 now, int oldstate,
							      int newstate)
{
	__u64 offset = now > c->start_ns ? now - c->start_ns : 0;
	__u8 n = c->transition_count;

	if (n < SYNWAVE_CONNECTION_TRANSITIONS)
		c->transitions[n] = offset << 8 | (__u64)(newstate & 0xf) << 4 | (oldstate & 0xf);
	else
		synwave_count(SYNWAVE_COUNTER_TRANSITIONS_TRUNCATED);
	if (n < 255)
		c->transition_count = n + 1;
}

/* The same list as SocketMachine.isSyscallDriven: only these run in the owner's system call. */
static __always_inline int synwave_syscall_driven(int oldstate, int newstate)
{
	return (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT) ||
	       (oldstate == TCP_ESTABLISHED && newstate == TCP_FIN_WAIT1) ||
	       (oldstate == TCP_CLOSE_WAIT && newstate == TCP_LAST_ACK) ||
	       (oldstate == TCP_SYN_RECV && newstate == TCP_FIN_WAIT1);
}

/* What CLOSE leaves to read: totals, and the probe and in-flight counts the error report would
 * carry (on 6.10+ it comes after CLOSE; the purge before both has already run). */
static __always_inline void synwave_connection_closed(struct synwave_connection *c, struct tcp_sock *tp)
{
	SYNWAVE_FILL_TOTALS(&c->totals, tp, SYNWAVE_BTF_READ);
	if (!c->probes_out && !c->packets_out) {
		c->probes_out = tp->inet_conn.icsk_probes_out;
		c->packets_out = tp->packets_out;
	}
	c->flags |= SYNWAVE_CONN_TOTALS | SYNWAVE_CONN_CLOSED;
}

/* Inside close(): the socket still has its file and both directions are shut. */
static __always_inline int synwave_closing_in_close(struct sock *sk)
{
	return sk->sk_socket && BPF_CORE_READ_BITFIELD(sk, sk_shutdown) == SYNWAVE_SHUTDOWN_MASK;
}

/* A state transition of a connection (never CLOSE <-> LISTEN: listeners have no record). */
static __always_inline void synwave_connection_state(struct sock *sk, __u64 cookie, int oldstate, int newstate)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct synwave_connection *c = synwave_connection_at(sk, cookie, now);
	struct tcp_sock *tp;

	if (!c)
		return;
	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT && c->transition_count) {
		/* connect() again on a socket whose last connection failed */
		if (!(c->flags & SYNWAVE_CONN_EMITTED))
			synwave_connection_send(c, sk, cookie, 0);
		__builtin_memset(c, 0, sizeof(*c));
		c = synwave_connection_at(sk, cookie, now);
		if (!c)
			return;
	}
	if (c->flags & SYNWAVE_CONN_EMITTED)
		return;
	if (oldstate == TCP_CLOSE && newstate == TCP_SYN_SENT)
		synwave_count_connection(c, sk, SYNWAVE_COUNTER_OPENED_CLIENT);
	else if (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV)
		synwave_count_connection(c, sk, SYNWAVE_COUNTER_OPENED_SERVER);
	synwave_connection_add_transition(c, now, oldstate, newstate);
	if (synwave_syscall_driven(oldstate, newstate))
		synwave_connection_owner(c);
	synwave_connection_error(c, sk);
	/* The typed tcp_sock view (a helper call) only while it is needed: the tuple once, and CLOSE.
	 * A new child's ports are its listener's until SYN_RECV is past (state.bpf.c). */
	if (newstate != TCP_CLOSE && ((c->flags & SYNWAVE_CONN_TUPLE) || !sk->__sk_common.skc_dport))
		return;
	tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return;
	if (sk->__sk_common.skc_dport)
		synwave_connection_tuple(c, tp);
	if (newstate != TCP_CLOSE)
		return;
	synwave_connection_closed(c, tp);
	if (!synwave_closing_in_close(sk))
		synwave_connection_send(c, sk, cookie, 0);
}

/* tcp_destroy_sock: the record goes out now unless CLOSE already sent it; the slot is freed. */
static __always_inline void synwave_connection_destroyed(struct sock *sk, __u64 cookie)
{
	struct synwave_connection *c = synwave_connection_find(cookie);

	if (!c)
		return;
	if (!(c->flags & SYNWAVE_CONN_EMITTED)) {
		synwave_connection_error(c, sk);
		synwave_connection_send(c, sk, cookie, SYNWAVE_CONN_DESTROYED);
	}
	synwave_connection_release(cookie);
}

/* inet_sk_error_report: as SocketMachine.apply(error). */
static __always_inline void synwave_connection_error_report(struct sock *sk, const struct tcp_sock *tp)
{
	struct synwave_connection *c;
	int err;

	if (sk->__sk_common.skc_state == TCP_LISTEN)
		return;
	c = synwave_connection_of(sk);
	if (!c || (c->flags & SYNWAVE_CONN_EMITTED))
		return;
	err = sk->sk_err;
	if (!c->error || err)
		c->error = err;
	c->probes_out = tp->inet_conn.icsk_probes_out;
	c->packets_out = tp->packets_out;
}

/* A retransmitted segment of ours: `kind` is enum synwave_connection_retransmit. */
static __always_inline void synwave_connection_retransmit(struct sock *sk, __u32 kind)
{
	struct synwave_connection *c;

	c = synwave_connection_of(sk);
	synwave_count_connection(c, sk, SYNWAVE_COUNTER_RETRANSMIT_SYN + (kind & 3));
	if (!c || (c->flags & SYNWAVE_CONN_EMITTED))
		return;
	if (c->retransmits[kind & 3] < 0xffff)
		c->retransmits[kind & 3]++;
}

/* A reset's connection, counted under `counter`; NULL (and counted) once its record went out. */
static __always_inline struct synwave_connection *synwave_connection_for_reset(struct sock *sk, __u32 counter)
{
	struct synwave_connection *c;

	c = synwave_connection_of(sk);
	synwave_count_connection(c, sk, counter);
	if (c && (c->flags & SYNWAVE_CONN_EMITTED)) {
		synwave_count(SYNWAVE_COUNTER_AFTER_RECORD);
		return NULL;
	}
	return c;
}

static __always_inline void synwave_connection_reset_sent(struct sock *sk, __u8 reason)
{
	struct synwave_connection *c = synwave_connection_for_reset(sk, SYNWAVE_COUNTER_RESET_SENT + (reason < 20 ? reason : 0));

	if (!c)
		return;
	if (!c->resets_sent)
		c->first_reset_reason = reason;
	c->last_reset_reason = reason;
	if (c->resets_sent < 0xff)
		c->resets_sent++;
}

static __always_inline void synwave_connection_reset_received(struct sock *sk, const struct tcp_sock *tp)
{
	struct synwave_connection *c = synwave_connection_for_reset(sk, SYNWAVE_COUNTER_RESETS_RECEIVED);

	if (!c)
		return;
	if (c->resets_received < 0xff)
		c->resets_received++;
	c->last_reset_received_ns = bpf_ktime_get_boot_ns();
	synwave_connection_tuple(c, tp);
}

#endif /* SYNWAVE_CONNECTION_BPF_H */
