/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The synwave kernel <-> user ABI: every struct and enum that crosses the BPF
 * ring buffer or a BPF map read by the daemon. Included by the BPF programs
 * (after vmlinux.h) and, through the CSynwaveABI module, by Swift.
 *
 * Rules: fixed-width types only, explicit padding, no bool / __int128, every
 * struct size pinned by a _Static_assert here and by a Swift layout test.
 * Bump SYNWAVE_ABI_VERSION on any change to a struct below.
 */
#ifndef SYNWAVE_ABI_H
#define SYNWAVE_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define SYNWAVE_ABI_VERSION 1

#define SYNWAVE_COMM_LEN 16
#define SYNWAVE_ADDR_LEN 16

/* Kinds of ring buffer records; the first field of every record. */
enum synwave_event_type {
	SYNWAVE_EVENT_STATE = 1, /* inet_sock_set_state transition */
};

/* Bits of synwave_event_header.flags. */
enum synwave_event_flags {
	/* cookie holds bpf_get_socket_cookie(); otherwise only skaddr identifies the socket. */
	SYNWAVE_EVF_COOKIE = 1u << 0,
	/* synwave_state_event.totals were read (transitions to CLOSE). */
	SYNWAVE_EVF_TOTALS = 1u << 1,
};

/* Per-CPU counters kept by the BPF programs (map "counters"). */
enum synwave_counter {
	SYNWAVE_COUNTER_RINGBUF_FULL = 0, /* bpf_ringbuf_reserve failed: event lost */
	/* events a rescue program emitted because the kernel's recursion guard skipped the main one */
	SYNWAVE_COUNTER_RECURSION_RECOVERED = 1,
	/* records submitted to the ring buffer: after a final drain, every one must have been read */
	SYNWAVE_COUNTER_SUBMITTED = 2,
	SYNWAVE_COUNTER_MAX = 8,
};

/* Common prefix of every ring buffer record: what it is and which socket. */
struct synwave_event_header {
	__u16 type;    /* enum synwave_event_type */
	__u16 size;    /* sizeof the whole record, checked by the decoder */
	__u32 flags;   /* enum synwave_event_flags */
	__u64 ts_ns;   /* bpf_ktime_get_boot_ns() */
	__u64 cookie;  /* socket cookie, valid with SYNWAVE_EVF_COOKIE */
	__u64 skaddr;  /* kernel address of the socket (identity in tracepoint mode) */
};
_Static_assert(sizeof(struct synwave_event_header) == 32, "synwave_event_header ABI");

/* tcp_sock totals, read when a socket reaches CLOSE. */
struct synwave_tcp_totals {
	__u64 bytes_acked;
	__u64 bytes_received;
	__u32 segs_out;
	__u32 segs_in;
	__u32 total_retrans;
	__u32 srtt_us; /* smoothed RTT in microseconds (kernel keeps it << 3) */
	__u32 mss_cache;
	__u32 _pad0;
};
_Static_assert(sizeof(struct synwave_tcp_totals) == 40, "synwave_tcp_totals ABI");

/* SYNWAVE_EVENT_STATE: one TCP state transition. */
struct synwave_state_event {
	struct synwave_event_header hdr;
	__u32 netns;      /* network namespace inode */
	__u32 tgid;       /* current task: not the owner in softirq/timer context */
	__u32 pid;
	__u16 family;     /* AF_INET or AF_INET6 */
	__u8 oldstate;    /* TCP_* as in the kernel */
	__u8 newstate;
	__u16 sport;      /* host byte order */
	__u16 dport;      /* host byte order */
	__u32 _pad0;
	__u8 saddr[SYNWAVE_ADDR_LEN]; /* IPv4 in the first 4 bytes */
	__u8 daddr[SYNWAVE_ADDR_LEN];
	char comm[SYNWAVE_COMM_LEN];
	struct synwave_tcp_totals totals; /* valid with SYNWAVE_EVF_TOTALS */
};
_Static_assert(sizeof(struct synwave_state_event) == 144, "synwave_state_event ABI");

/* Read-only settings of the BPF programs, the single const volatile global. */
struct synwave_bpf_config {
	/* Wake the reader only once this much data is pending in the ring. */
	__u64 wakeup_bytes;
};
_Static_assert(sizeof(struct synwave_bpf_config) == 8, "synwave_bpf_config ABI");

#endif /* SYNWAVE_ABI_H */
