// SPDX-License-Identifier: GPL-2.0
/* A socket's error (sock:inet_sk_error_report) and its end (tcp:tcp_destroy_sock). */
#include "classic.bpf.h"
#include "rescue.bpf.h"
#include "connection.bpf.h"

static __always_inline void emit_socket(struct sock *sk, __u64 cookie, __u8 kind)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	struct synwave_socket_event *e;

	if (!tp)
		return;
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_SOCKET);
	if (!e)
		return;
	synwave_identify_as(&e->hdr, sk, cookie);
	e->hdr.flags |= synwave_per_event_flags();
	e->netns = synwave_netns(&sk->__sk_common);
	e->kind = kind;
	e->state = sk->__sk_common.skc_state;
	e->probes_out = tp->inet_conn.icsk_probes_out;
	e->retransmits = tp->inet_conn.icsk_retransmits;
	e->error = sk->sk_err;
	e->packets_out = tp->packets_out;
	synwave_tuple_from_tcp(&e->tuple, tp);
	synwave_submit(e);
}

SEC("tp_btf/inet_sk_error_report")
int BPF_PROG(sw_sock_error, struct sock *sk)
{
	struct tcp_sock *tp;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (synwave_sends_per_event())
		emit_socket(sk, bpf_get_socket_cookie(sk), SYNWAVE_SOCKET_ERROR);
	if (cfg.assemble_connections) {
		tp = bpf_skc_to_tcp_sock(sk);
		if (tp)
			synwave_connection_error_report(sk, tp);
	}
	return 0;
}

/* The socket's end: its per-event record, or the assembled connection if CLOSE did not send it. */
static __always_inline void handle_destroy(struct sock *sk, __u64 cookie)
{
	if (synwave_sends_per_event())
		emit_socket(sk, cookie, SYNWAVE_SOCKET_DESTROY);
	if (cfg.assemble_connections)
		synwave_connection_destroyed(sk, cookie);
}

SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(sw_destroy_sock, struct sock *sk)
{
	__u64 cookie = bpf_get_socket_cookie(sk);

	synwave_count_own(SYNWAVE_COUNTER_DESTROY_RUNS);
	synwave_note_handled(cookie, synwave_handled_key(SYNWAVE_HANDLED_DESTROY, 0));
	handle_destroy(sk, cookie);
	return 0;
}

/* Every connection ends here, in process or softirq context: rescued like state changes (rescue.bpf.h). */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(sw_destroy_rescue, struct sock *sk)
{
	__u64 cookie = synwave_cookie_made(sk);

	if (!synwave_was_handled(cookie, synwave_handled_key(SYNWAVE_HANDLED_DESTROY, 0)))
		handle_destroy(sk, bpf_get_socket_cookie(sk));
	return 0;
}

/* The classic sock:inet_sk_error_report record carries no socket address, so socket errors have
 * no classic fallback; the error still reaches the record through sk_err at CLOSE and here. */
SEC("tracepoint/tcp/tcp_destroy_sock")
int sw_destroy_sock_tp(struct trace_event_raw_tcp_event_sk *ctx)
{
	struct inet_connection_sock *icsk = (void *)ctx->skaddr;
	struct sock *sk = (void *)ctx->skaddr;
	struct synwave_socket_event *e;

	if (!sk)
		return 0;
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_SOCKET);
	if (!e)
		return 0;
	synwave_identify_classic(&e->hdr, sk);
	e->netns = synwave_netns_classic(sk);
	e->kind = SYNWAVE_SOCKET_DESTROY;
	e->state = BPF_CORE_READ(sk, __sk_common.skc_state);
	e->probes_out = BPF_CORE_READ(icsk, icsk_probes_out);
	e->retransmits = BPF_CORE_READ(icsk, icsk_retransmits);
	e->error = BPF_CORE_READ(sk, sk_err);
	e->packets_out = BPF_CORE_READ((struct tcp_sock *)sk, packets_out);
	synwave_tuple_from_sock_classic(&e->tuple, sk, 1);
	synwave_submit(e);
	return 0;
}
