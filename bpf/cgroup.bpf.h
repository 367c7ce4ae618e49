/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A socket's cgroup v2 id: the cgroup of the task that created it (a server child's is its
 * listener's, copied when the child is cloned). The kernel stamps it on the socket, so it reads the
 * same in softirq as in the owner's system call. User space names it (docs/workloads.md).
 */
#ifndef SYNWAVE_CGROUP_BPF_H
#define SYNWAVE_CGROUP_BPF_H

#include "synwave.bpf.h"

/* Cgroup ids already announced to user space (SYNWAVE_EVENT_CGROUP): the least recently seen
 * are forgotten first, and announced again if they come back (user space keeps its own cache). */
typedef struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} synwave_cgroups_announced_map;

/* The last cgroup id each CPU announced or found announced: churn from one workload then costs a
 * compare instead of a hash lookup. */
typedef struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} synwave_cgroup_last_map;

extern synwave_cgroups_announced_map cgroups_announced SEC(".maps");
extern synwave_cgroup_last_map cgroup_last SEC(".maps");

/* Before 5.15 sock_cgroup_data was a union: `val` held the v2 cgroup pointer unless bit 0
 * (is_data) said net_cls or net_prio had taken the word for their own data. 5.15 made `cgroup` a
 * field of its own. */
struct sock_cgroup_data___pre_5_15 {
	__u64 val;
} __attribute__((preserve_access_index));

/* 0 where the socket carries no v2 cgroup (net_cls or net_prio in use before 5.15), or the host
 * mounts no cgroup2 (cfg.cgroup_ids). Probe reads, so that typed (tp_btf) and classic programs
 * share it. */
static __always_inline __u64 synwave_socket_cgroup(struct sock *sk)
{
	struct cgroup *cgroup;
	__u64 val;

	if (!cfg.cgroup_ids)
		return 0;
	if (bpf_core_field_exists(struct sock_cgroup_data, cgroup)) {
		cgroup = BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	} else {
		val = BPF_CORE_READ((struct sock_cgroup_data___pre_5_15 *)&sk->sk_cgrp_data, val);
		if (val & 1)
			return 0;
		cgroup = (struct cgroup *)val;
	}
	if (!cgroup)
		return 0;
	return BPF_CORE_READ(cgroup, kn, id);
}

/* Tells user space about a cgroup id it has not been told of, so that it names it now. */
static __always_inline void synwave_announce_cgroup(__u64 id)
{
	struct synwave_cgroup_event *e;
	__u32 zero = 0;
	__u64 *last;
	__u8 one = 1;

	if (!id)
		return;
	last = bpf_map_lookup_elem(&cgroup_last, &zero);
	if (last) {
		if (*last == id)
			return;
		*last = id;
	}
	if (bpf_map_lookup_elem(&cgroups_announced, &id))
		return;
	bpf_map_update_elem(&cgroups_announced, &id, &one, BPF_ANY);
	e = synwave_reserve(sizeof(*e), SYNWAVE_EVENT_CGROUP);
	if (!e)
		return;
	e->cgroup_id = id;
	synwave_submit(e);
}

/* The socket's cgroup id, announced to user space the first time it is seen. */
static __always_inline __u64 synwave_socket_cgroup_announced(struct sock *sk)
{
	__u64 id = synwave_socket_cgroup(sk);

	synwave_announce_cgroup(id);
	return id;
}

#endif /* SYNWAVE_CGROUP_BPF_H */
