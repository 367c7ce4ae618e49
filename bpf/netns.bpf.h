/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A socket's network namespace inode, read without the cache miss.
 *
 * net->ns.inum shares its cache line with the namespace's reference count, which every
 * socket created or freed in that namespace writes: under connection churn on two CPUs
 * the line is nearly always owned by the other CPU, and this one load was a fifth of
 * sw_state_btf's run time. A per-CPU slot remembers the last namespace seen, named by its
 * net_cookie (unique for the boot, on a line nothing writes), so the inode is only read
 * when the namespace changes.
 *
 * The slot packs the cookie (high half) and the inode (low half) into one 64-bit word, so
 * a run nested by a softirq between a load and a store never sees one without the other.
 * Cookies count up from 1: one at or above 2^32 is simply never cached.
 */
#ifndef SYNWAVE_NETNS_BPF_H
#define SYNWAVE_NETNS_BPF_H

#include "synwave.bpf.h"

typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} synwave_netns_cache_map;

extern synwave_netns_cache_map netns_cache SEC(".maps");

/* net_cookie is a u64 since 5.12; 5.7 to 5.11 had an atomic64_t, whose type does not
 * match this flavour, so there bpf_core_field_exists() is 0 and nothing is cached. */
struct net___u64_cookie {
	u64 net_cookie;
} __attribute__((preserve_access_index));

static __always_inline __u64 *synwave_netns_slot(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&netns_cache, &zero);
}

/* 0 when the slot does not hold this namespace; its inode otherwise (an inode is never 0). */
static __always_inline __u32 synwave_netns_cached(__u64 *slot, __u64 cookie)
{
	__u64 packed;

	if (!slot || !cookie || cookie >> 32)
		return 0;
	packed = *slot;
	return packed >> 32 == cookie ? (__u32)packed : 0;
}

static __always_inline void synwave_netns_remember(__u64 *slot, __u64 cookie, __u32 inum)
{
	if (slot && cookie && !(cookie >> 32))
		*slot = cookie << 32 | inum;
}

/* Into `inum`: the namespace's inode, from the slot when it holds this namespace, else read and
 * remembered. READ is SYNWAVE_BTF_READ (tp_btf: typed pointer, plain loads) or BPF_CORE_READ
 * (classic tracepoints: probe reads). */
#define SYNWAVE_NETNS_INUM(inum, net, READ)                                                   \
	do {                                                                                  \
		__u64 *slot__ = synwave_netns_slot();                                         \
		__u64 cookie__ = 0;                                                           \
                                                                                              \
		if (bpf_core_field_exists(((struct net___u64_cookie *)0)->net_cookie))        \
			cookie__ = READ((struct net___u64_cookie *)(net), net_cookie);        \
		(inum) = synwave_netns_cached(slot__, cookie__);                              \
		if (!(inum)) {                                                                \
			(inum) = READ(net, ns.inum);                                          \
			synwave_netns_remember(slot__, cookie__, (inum));                     \
		}                                                                             \
	} while (0)

static __always_inline __u32 synwave_netns_of_net(struct net *net)
{
	__u32 inum;

	SYNWAVE_NETNS_INUM(inum, net, SYNWAVE_BTF_READ);
	return inum;
}

static __always_inline __u32 synwave_netns_of_net_classic(struct net *net)
{
	__u32 inum;

	SYNWAVE_NETNS_INUM(inum, net, BPF_CORE_READ);
	return inum;
}

#endif
