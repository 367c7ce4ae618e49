// SPDX-License-Identifier: GPL-2.0
/* TCP state transitions: sock:inet_sock_set_state, typed (tp_btf) or classic. */
#include "rescue.bpf.h"
#include "classic.bpf.h"
#include "connection.bpf.h"

static __always_inline void fill_states(struct synwave_state_event *e, int oldstate, int newstate)
{
	e->oldstate = oldstate;
	e->newstate = newstate;
}

static __always_inline __u32 transition_key(int oldstate, int newstate)
{
	return synwave_handled_key(SYNWAVE_HANDLED_STATE, (__u32)oldstate << 8 | (__u32)newstate);
}

/* Record size: constant on each path, as the verifier requires of a reservation. */
static __always_inline __u32 state_record_size(int with_totals)
{
	return with_totals ? sizeof(struct synwave_state_event) : SYNWAVE_STATE_EVENT_SIZE_NO_TOTALS;
}

/* with_totals is a constant in each inlined copy, so that each reserves a fixed size. */
static __always_inline void emit_state_btf_sized(struct sock *sk, __u64 cookie, __u32 identity_flags, int oldstate,
						 int newstate, const int with_totals, __u32 extra_flags)
{
	struct synwave_state_event *e;
	struct tcp_sock *tp = NULL;
	__u16 family, port;

	/* Typed view of the same socket (its fields are plain loads, not probe reads), only when a
	 * tcp_sock field is read: a helper call on every transition otherwise. inet_sock_set_state
	 * fires for full sockets only, and the caller checked the protocol. */
	if (with_totals) {
		tp = bpf_skc_to_tcp_sock(sk);
		if (!tp)
			return;
	}
	e = synwave_reserve(state_record_size(with_totals), SYNWAVE_EVENT_STATE);
	if (!e)
		return;
	e->hdr.cookie = identity_flags ? cookie : 0;
	e->hdr.skaddr = (__u64)sk;
	e->hdr.flags = identity_flags | extra_flags;

	family = sk->__sk_common.skc_family;
	e->family = family;
	e->netns = synwave_netns(&sk->__sk_common);
	/* skc_num shares a hot line with the rest of sock_common; inet_sport (a line further)
	 * only when the port is already unhashed (skc_num = 0), as before X -> CLOSE fires. */
	port = sk->__sk_common.skc_num;
	if (!port && !tp)
		tp = bpf_skc_to_tcp_sock(sk);
	e->sport = port ? port : (tp ? bpf_ntohs(tp->inet_conn.icsk_inet.inet_sport) : 0);
	e->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	if (family == AF_INET6) {
		__builtin_memcpy(e->saddr, &sk->__sk_common.skc_v6_rcv_saddr, 16);
		__builtin_memcpy(e->daddr, &sk->__sk_common.skc_v6_daddr, 16);
	} else {
		__builtin_memset(e->saddr, 0, sizeof(e->saddr));
		__builtin_memset(e->daddr, 0, sizeof(e->daddr));
		__builtin_memcpy(e->saddr, &sk->__sk_common.skc_rcv_saddr, 4);
		__builtin_memcpy(e->daddr, &sk->__sk_common.skc_daddr, 4);
	}
	fill_states(e, oldstate, newstate);
	/* A closed listener's statistics go with it (its cookie is never reused). */
	if (oldstate == TCP_LISTEN && newstate == TCP_CLOSE)
		bpf_map_delete_elem(&listeners, &cookie);
	e->error = sk->sk_err;
	e->cgroup_id = synwave_socket_cgroup_announced(sk);
	synwave_fill_task_btf(&e->tgid, &e->pid, e->comm);
	if (with_totals) {
		SYNWAVE_FILL_TOTALS(&e->totals, tp, SYNWAVE_BTF_READ);
		e->hdr.flags |= SYNWAVE_EVF_TOTALS;
	}
	synwave_submit(e);
}

/*
 * Kernels up to 6.12 at least (tools/kernel-matrix) fire LISTEN -> SYN_RECV on a new child
 * while it is still a raw copy of its listener: the listener's cookie, no peer yet (dport 0);
 * the child's own cookie only exists later. Such a record goes out by address only, and the
 * correlator re-keys it at the child's next transition, which carries both.
 */
static __always_inline __u32 identity_flags(struct sock *sk, int oldstate, int newstate)
{
	if (oldstate == TCP_LISTEN && newstate == TCP_SYN_RECV && sk->__sk_common.skc_dport == 0)
		return 0;
	return SYNWAVE_EVF_COOKIE;
}

/* Transitions to CLOSE carry the connection's totals; the others a shorter record. */
static __always_inline void emit_state_btf(struct sock *sk, __u64 cookie, int oldstate, int newstate, __u32 extra_flags)
{
	__u32 flags = identity_flags(sk, oldstate, newstate);

	if (newstate == TCP_CLOSE)
		emit_state_btf_sized(sk, cookie, flags, oldstate, newstate, 1, extra_flags);
	else
		emit_state_btf_sized(sk, cookie, flags, oldstate, newstate, 0, extra_flags);
}

/* A listener opening or closing: always sent as it happens (the correlator learns listener
 * owners from it); every other transition belongs to a connection. */
static __always_inline int is_listener_transition(int oldstate, int newstate)
{
	return (oldstate == TCP_CLOSE && newstate == TCP_LISTEN) || (oldstate == TCP_LISTEN && newstate == TCP_CLOSE);
}

static __always_inline void handle_state_btf(struct sock *sk, __u64 cookie, int oldstate, int newstate)
{
	if (!cfg.assemble_connections || is_listener_transition(oldstate, newstate)) {
		emit_state_btf(sk, cookie, oldstate, newstate, 0);
		return;
	}
	/* The live copy first: it reads the tuple before anything else happens to the socket. */
	if (synwave_live_events())
		emit_state_btf(sk, cookie, oldstate, newstate, SYNWAVE_EVF_LIVE);
	synwave_connection_state(sk, cookie, oldstate, newstate);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sw_state_btf, struct sock *sk, const int oldstate, const int newstate)
{
	__u64 cookie;

	synwave_count_own(SYNWAVE_COUNTER_STATE_RUNS);
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	cookie = bpf_get_socket_cookie(sk);
	synwave_note_handled(cookie, transition_key(oldstate, newstate));
	handle_state_btf(sk, cookie, oldstate, newstate);
	return 0;
}

/* Runs after sw_state_btf for every firing: emits what its recursion guard skipped (rescue.bpf.h). */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sw_state_rescue, struct sock *sk, const int oldstate, const int newstate)
{
	__u64 cookie;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	cookie = synwave_cookie_made(sk);
	if (!synwave_was_handled(cookie, transition_key(oldstate, newstate)))
		handle_state_btf(sk, bpf_get_socket_cookie(sk), oldstate, newstate);
	return 0;
}

static __always_inline void emit_state_tp_sized(struct trace_event_raw_inet_sock_set_state *ctx,
						const int with_totals)
{
	struct tcp_sock *tp = (struct tcp_sock *)ctx->skaddr;
	struct sock *sk = (struct sock *)ctx->skaddr;
	struct synwave_state_event *e;

	e = synwave_reserve(state_record_size(with_totals), SYNWAVE_EVENT_STATE);
	if (!e)
		return;
	e->hdr.skaddr = (__u64)sk;
	e->family = ctx->family;
	e->netns = synwave_netns_classic(sk);
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	/* The verifier allows only fixed-offset loads from a tracepoint ctx: copy arrays with probe reads. */
	if (ctx->family == AF_INET6) {
		bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
		bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
	} else {
		__builtin_memset(e->saddr, 0, sizeof(e->saddr));
		__builtin_memset(e->daddr, 0, sizeof(e->daddr));
		bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
		bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
	}
	fill_states(e, ctx->oldstate, ctx->newstate);
	e->error = BPF_CORE_READ(sk, sk_err);
	e->cgroup_id = synwave_socket_cgroup_announced(sk);
	synwave_fill_task(&e->tgid, &e->pid, e->comm);
	if (with_totals) {
		SYNWAVE_FILL_TOTALS(&e->totals, tp, BPF_CORE_READ);
		e->hdr.flags |= SYNWAVE_EVF_TOTALS;
	}
	synwave_submit(e);
}

/* Fallback when tp_btf cannot load: the socket address is the only identity (cfg.cookie_identity = 0). */
SEC("tracepoint/sock/inet_sock_set_state")
int sw_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if (ctx->newstate == TCP_CLOSE)
		emit_state_tp_sized(ctx, 1);
	else
		emit_state_tp_sized(ctx, 0);
	return 0;
}
