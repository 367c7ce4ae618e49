// SPDX-License-Identifier: GPL-2.0
/* TCP state transitions: sock:inet_sock_set_state, typed (tp_btf) or classic. */
#include "synwave.bpf.h"

static __always_inline void fill_common(struct synwave_state_event *e, struct sock *sk,
					int oldstate, int newstate)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();

	e->netns = synwave_netns(sk);
	e->tgid = pid_tgid >> 32;
	e->pid = (__u32)pid_tgid;
	e->oldstate = oldstate;
	e->newstate = newstate;
	e->_pad0 = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (newstate == TCP_CLOSE) {
		synwave_read_totals(&e->totals, sk);
		e->hdr.flags |= SYNWAVE_EVF_TOTALS;
	} else {
		__builtin_memset(&e->totals, 0, sizeof(e->totals));
	}
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(sw_state_btf, struct sock *sk, const int oldstate, const int newstate)
{
	struct synwave_state_event *e;
	__u16 family;

	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_STATE);
	if (!e)
		return 0;
	e->hdr.cookie = bpf_get_socket_cookie((void *)sk);
	e->hdr.skaddr = (__u64)sk;
	e->hdr.flags = SYNWAVE_EVF_COOKIE;

	family = sk->__sk_common.skc_family;
	e->family = family;
	/* inet_sport, not skc_num: the port is unhashed (skc_num = 0) before X -> CLOSE fires. */
	e->sport = bpf_ntohs(((struct inet_sock *)sk)->inet_sport);
	e->dport = bpf_ntohs(sk->__sk_common.skc_dport);
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	if (family == AF_INET6) {
		BPF_CORE_READ_INTO(&e->saddr, sk, __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		BPF_CORE_READ_INTO(&e->daddr, sk, __sk_common.skc_v6_daddr.in6_u.u6_addr8);
	} else {
		__builtin_memcpy(e->saddr, &sk->__sk_common.skc_rcv_saddr, 4);
		__builtin_memcpy(e->daddr, &sk->__sk_common.skc_daddr, 4);
	}
	fill_common(e, sk, oldstate, newstate);
	synwave_submit(e);
	return 0;
}

/* Fallback when tp_btf cannot load: the socket address is the only identity. */
SEC("tracepoint/sock/inet_sock_set_state")
int sw_state_tp(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct sock *sk = (struct sock *)ctx->skaddr;
	struct synwave_state_event *e;

	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_STATE);
	if (!e)
		return 0;
	e->hdr.skaddr = (__u64)sk;
	e->family = ctx->family;
	e->sport = ctx->sport;
	e->dport = ctx->dport;
	if (ctx->family == AF_INET6) {
		__builtin_memcpy(e->saddr, ctx->saddr_v6, 16);
		__builtin_memcpy(e->daddr, ctx->daddr_v6, 16);
	} else {
		__builtin_memset(e->saddr, 0, sizeof(e->saddr));
		__builtin_memset(e->daddr, 0, sizeof(e->daddr));
		__builtin_memcpy(e->saddr, ctx->saddr, 4);
		__builtin_memcpy(e->daddr, ctx->daddr, 4);
	}
	fill_common(e, sk, ctx->oldstate, ctx->newstate);
	synwave_submit(e);
	return 0;
}
