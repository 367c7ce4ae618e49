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

#define SYNWAVE_ABI_VERSION 9

#define SYNWAVE_COMM_LEN 16
#define SYNWAVE_ADDR_LEN 16

/* Kinds of ring buffer records; the first field of every record. */
enum synwave_event_type {
	SYNWAVE_EVENT_STATE = 1,      /* inet_sock_set_state transition */
	SYNWAVE_EVENT_RETRANSMIT = 2, /* tcp_retransmit_skb or tcp_retransmit_synack */
	SYNWAVE_EVENT_RESET = 3,      /* tcp_send_reset or tcp_receive_reset */
	SYNWAVE_EVENT_SOCKET = 4,     /* inet_sk_error_report or tcp_destroy_sock */
	SYNWAVE_EVENT_LISTENER = 5,   /* a listener's queue reached its limit or overflowed */
	SYNWAVE_EVENT_CONNECTION = 6, /* one socket's connection, assembled in the kernel */
	SYNWAVE_EVENT_CGROUP = 7,     /* a socket's cgroup not announced before (bpf/cgroup.bpf.h) */
};

/* What a retransmitted segment was. */
enum synwave_retransmit_kind {
	SYNWAVE_RETRANSMIT_DATA = 0,
	SYNWAVE_RETRANSMIT_SYN = 1,    /* our SYN, while SYN_SENT */
	SYNWAVE_RETRANSMIT_FIN = 2,
	SYNWAVE_RETRANSMIT_SYNACK = 3, /* a listener's request; the tuple is the request's */
};

/* Bits of synwave_retransmit_event.flags. */
enum synwave_retransmit_flags {
	SYNWAVE_RETRANSMIT_TLP = 1u << 0,     /* sent by the tail-loss-probe timer */
	SYNWAVE_RETRANSMIT_TIMEOUT = 1u << 1, /* sent after an RTO (congestion state Loss) */
};

enum synwave_reset_direction {
	SYNWAVE_RESET_SENT = 1,
	SYNWAVE_RESET_RECEIVED = 2,
};

/* The kind of socket an event came from. */
enum synwave_socket_kind {
	SYNWAVE_SOCKET_NONE = 0,      /* no socket: e.g. a reset answering a SYN to a closed port */
	SYNWAVE_SOCKET_FULL = 1,
	SYNWAVE_SOCKET_LISTENER = 2,
	SYNWAVE_SOCKET_REQUEST = 3,   /* NEW_SYN_RECV mini-socket */
	SYNWAVE_SOCKET_TIME_WAIT = 4, /* TIME_WAIT mini-socket */
};

/*
 * Why a reset was sent: the kernel's enum sk_rst_reason (6.10+), mapped by name so the
 * numbers here stay stable whatever the kernel's values are.
 */
enum synwave_reset_reason {
	SYNWAVE_RST_UNKNOWN = 0, /* kernel without reasons, or a reason this build does not know */
	SYNWAVE_RST_NOT_SPECIFIED = 1,
	SYNWAVE_RST_NO_SOCKET = 2,
	SYNWAVE_RST_INVALID_ACK_SEQUENCE = 3,
	SYNWAVE_RST_RFC7323_PAWS = 4,
	SYNWAVE_RST_TOO_OLD_ACK = 5,
	SYNWAVE_RST_ACK_UNSENT_DATA = 6,
	SYNWAVE_RST_FLAGS = 7,
	SYNWAVE_RST_OLD_ACK = 8,
	SYNWAVE_RST_ABORT_ON_DATA = 9,
	SYNWAVE_RST_TIMEWAIT_SOCKET = 10,
	SYNWAVE_RST_INVALID_SYN = 11,
	SYNWAVE_RST_ABORT_ON_CLOSE = 12,
	SYNWAVE_RST_ABORT_ON_LINGER = 13,
	SYNWAVE_RST_ABORT_ON_MEMORY = 14,
	SYNWAVE_RST_STATE = 15,
	SYNWAVE_RST_KEEPALIVE_TIMEOUT = 16,
	SYNWAVE_RST_DISCONNECT_WITH_DATA = 17,
	SYNWAVE_RST_ERROR = 18,
	SYNWAVE_RST_MPTCP = 19,
};

/* Kinds of SYNWAVE_EVENT_SOCKET records. */
enum synwave_socket_event_kind {
	SYNWAVE_SOCKET_ERROR = 1,   /* inet_sk_error_report: error holds sk_err */
	SYNWAVE_SOCKET_DESTROY = 2, /* tcp_destroy_sock: the kernel frees the socket */
};

/* Kinds of SYNWAVE_EVENT_LISTENER records. */
enum synwave_listener_event_kind {
	/* sk_data_ready found the accept queue at its limit (backlog + 1) after queueing a child:
	 * sent once per filling, re-armed when a later child finds room. */
	SYNWAVE_LISTENER_ACCEPT_QUEUE_FULL = 1,
	/* final ACKs dropped because the accept queue was full (kfree_skb TCP_LISTEN_OVERFLOW);
	 * at most one per listener per cfg.listener_report_ns, carrying the running total */
	SYNWAVE_LISTENER_ACCEPT_OVERFLOW = 2,
	/* a SYN-ACK retransmit found the SYN queue at its limit; sent once per filling */
	SYNWAVE_LISTENER_SYN_QUEUE_FULL = 3,
};

/* Bits of synwave_event_header.flags. */
enum synwave_event_flags {
	/* cookie holds bpf_get_socket_cookie(); otherwise only skaddr identifies the socket. */
	SYNWAVE_EVF_COOKIE = 1u << 0,
	/* synwave_state_event.totals were read (transitions to CLOSE). */
	SYNWAVE_EVF_TOTALS = 1u << 1,
	/* A copy for live event tails (synwave_live.per_event): the socket's connection is
	 * assembled in the kernel and comes as one SYNWAVE_EVENT_CONNECTION record. */
	SYNWAVE_EVF_LIVE = 1u << 2,
};

/* Per-CPU counters kept by the BPF programs (map "counters"). */
enum synwave_counter {
	SYNWAVE_COUNTER_RINGBUF_FULL = 0, /* bpf_ringbuf_reserve failed: event lost */
	/* events a rescue program emitted because the kernel's recursion guard skipped the main one */
	SYNWAVE_COUNTER_RECURSION_RECOVERED = 1,
	/* records submitted to the ring buffer: after a final drain, every one must have been read */
	SYNWAVE_COUNTER_SUBMITTED = 2,
	/* a listener's statistics could not be created in the "listeners" map */
	SYNWAVE_COUNTER_LISTENER_UNTRACKED = 3,
	/* runs of sw_state_btf / sw_destroy_sock: with their recursion misses, every firing the
	 * kernel handed to the program (compared with the tracepoint's own count in user space) */
	SYNWAVE_COUNTER_STATE_RUNS = 4,
	SYNWAVE_COUNTER_DESTROY_RUNS = 5,
	/* With connections assembled in the kernel (cfg.assemble_connections), what metrics count
	 * per event is counted here instead of by user space: */
	SYNWAVE_COUNTER_OPENED_CLIENT = 8,  /* CLOSE -> SYN_SENT */
	SYNWAVE_COUNTER_OPENED_SERVER = 9,  /* LISTEN -> SYN_RECV */
	SYNWAVE_COUNTER_RETRANSMIT_SYN = 10, /* + enum synwave_connection_retransmit */
	SYNWAVE_COUNTER_RESETS_RECEIVED = 14,
	SYNWAVE_COUNTER_RESET_SENT = 16,    /* + enum synwave_reset_reason (20 of them) */
	SYNWAVE_COUNTER_CONNECTIONS = 36,   /* SYNWAVE_EVENT_CONNECTION records reserved */
	/* a socket's storage could not be created: its connection has no record */
	SYNWAVE_COUNTER_CONNECTION_UNTRACKED = 37,
	/* transitions past SYNWAVE_CONNECTION_TRANSITIONS: counted, not kept */
	SYNWAVE_COUNTER_TRANSITIONS_TRUNCATED = 38,
	/* resets on a socket whose record had already gone out (connect(AF_UNSPEC) after CLOSE) */
	SYNWAVE_COUNTER_AFTER_RECORD = 39,
	SYNWAVE_COUNTER_MAX = 40,
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
	__s32 error;      /* sk_err at the transition: most error paths set it before CLOSE */
	__u8 saddr[SYNWAVE_ADDR_LEN]; /* IPv4 in the first 4 bytes */
	__u8 daddr[SYNWAVE_ADDR_LEN];
	char comm[SYNWAVE_COMM_LEN];
	__u64 cgroup_id;  /* the socket's cgroup v2 (its creator's; 0: none), docs/workloads.md */
	struct synwave_tcp_totals totals; /* valid with SYNWAVE_EVF_TOTALS */
};
_Static_assert(sizeof(struct synwave_state_event) == 152, "synwave_state_event ABI");

/* Only transitions to CLOSE carry totals (SYNWAVE_EVF_TOTALS); the others' records end where
 * totals begin, so that most records fill two cache lines of the ring instead of three. */
#define SYNWAVE_STATE_EVENT_SIZE_NO_TOTALS 112
_Static_assert(__builtin_offsetof(struct synwave_state_event, totals) == SYNWAVE_STATE_EVENT_SIZE_NO_TOTALS,
	       "synwave_state_event without totals");

/* Addresses and ports of a socket, or of the packet when the socket is a listener or mini-socket. */
struct synwave_tuple {
	__u16 family; /* AF_INET or AF_INET6; 0 when unknown */
	__u16 sport;  /* local port, host byte order */
	__u16 dport;  /* remote port, host byte order */
	__u16 _pad0;
	__u8 saddr[SYNWAVE_ADDR_LEN]; /* local */
	__u8 daddr[SYNWAVE_ADDR_LEN]; /* remote */
};
_Static_assert(sizeof(struct synwave_tuple) == 40, "synwave_tuple ABI");

/* SYNWAVE_EVENT_RETRANSMIT. For SYN-ACKs the header's socket is the listener. */
struct synwave_retransmit_event {
	struct synwave_event_header hdr;
	__u32 netns;
	__u8 state;       /* TCP_* of the socket (LISTEN for SYN-ACKs) */
	__u8 kind;        /* enum synwave_retransmit_kind */
	__u8 flags;       /* enum synwave_retransmit_flags */
	__u8 _pad0;
	__s32 err;        /* tcp_retransmit_skb's err (nonzero: dropped locally); 0 when the kernel lacks it */
	__u32 retransmits; /* icsk_retransmits, or the request's num_retrans for SYN-ACKs */
	__u32 syn_queue;    /* SYN-ACKs: the listener's half-open requests (icsk_accept_queue.qlen) */
	__u32 accept_queue; /* SYN-ACKs: the listener's sk_ack_backlog */
	__u32 backlog;      /* SYN-ACKs: the listener's sk_max_ack_backlog */
	__u32 _pad1;
	struct synwave_tuple tuple;
};
_Static_assert(sizeof(struct synwave_retransmit_event) == 104, "synwave_retransmit_event ABI");

/* SYNWAVE_EVENT_RESET. */
struct synwave_reset_event {
	struct synwave_event_header hdr;
	__u32 netns;
	__u8 direction;   /* enum synwave_reset_direction */
	__u8 state;       /* TCP_* of the socket; 0 with SYNWAVE_SOCKET_NONE */
	__u8 socket_kind; /* enum synwave_socket_kind */
	__u8 reason;      /* enum synwave_reset_reason (sent resets only) */
	struct synwave_tuple tuple;
};
_Static_assert(sizeof(struct synwave_reset_event) == 80, "synwave_reset_event ABI");

/* SYNWAVE_EVENT_SOCKET. */
struct synwave_socket_event {
	struct synwave_event_header hdr;
	__u32 netns;
	__u8 kind;         /* enum synwave_socket_event_kind */
	__u8 state;        /* TCP_* */
	__u8 probes_out;   /* keepalive or zero-window probes sent without answer (icsk_probes_out) */
	__u8 retransmits;  /* icsk_retransmits */
	__s32 error;       /* sk_err */
	__u32 packets_out; /* segments sent and not yet acknowledged: data outstanding */
	struct synwave_tuple tuple;
};
_Static_assert(sizeof(struct synwave_socket_event) == 88, "synwave_socket_event ABI");

/* SYNWAVE_EVENT_LISTENER. The header's socket is the listener. */
struct synwave_listener_event {
	struct synwave_event_header hdr;
	__u8 kind;             /* enum synwave_listener_event_kind */
	__u8 _pad0;
	__u16 family;
	__u32 netns;
	__u32 syn_queue;       /* half-open requests (icsk_accept_queue.qlen) */
	__u32 accept_queue;    /* sk_ack_backlog */
	__u32 backlog;         /* sk_max_ack_backlog: the queues hold one more than this */
	__u16 port;            /* local port, host byte order */
	__u16 _pad1;
	__u64 accept_overflows; /* final ACKs this listener dropped since synwave attached */
	__u64 inode;           /* the listener's socket inode: finds its owner in /proc/PID/fd */
	__u8 addr[SYNWAVE_ADDR_LEN]; /* local address; IPv4 in the first 4 bytes */
	__u64 cgroup_id;       /* the listener's cgroup v2 (0: none) */
};
_Static_assert(sizeof(struct synwave_listener_event) == 96, "synwave_listener_event ABI");

/*
 * Value of the BPF map "listeners", keyed by the listener's socket cookie (__u64): what the
 * programs saw of each listener since synwave attached. The maxima are kept here, not derived
 * from events, so a peak is never lost with a ring buffer record. Removed at LISTEN -> CLOSE.
 */
struct synwave_listener_stats {
	__u64 accept_overflows;   /* final ACKs dropped: accept queue full */
	__u64 synack_retransmits;
	__u64 accept_queue_full;  /* times the accept queue reached its limit */
	__u64 syn_queue_full;     /* times a SYN-ACK retransmit saw the SYN queue at its limit */
	__u64 last_report_ns;     /* last SYNWAVE_LISTENER_ACCEPT_OVERFLOW record (rate limit) */
	__u64 inode;
	__u32 netns;
	__u32 syn_queue;          /* as last sampled */
	__u32 accept_queue;       /* as last sampled */
	__u32 backlog;
	__u32 max_syn_queue;
	__u32 max_accept_queue;
	__u16 family;
	__u16 port;
	__u8 accept_full_now;     /* 1 while the last sample found the accept queue full */
	__u8 syn_full_now;
	__u16 _pad0;
	__u8 addr[SYNWAVE_ADDR_LEN];
};
_Static_assert(sizeof(struct synwave_listener_stats) == 96, "synwave_listener_stats ABI");

/*
 * One listener as the listener iterator (bpf/listener_iter.bpf.c) reads it at a poll: the
 * record it writes to the iterator's file per marked listener. Everything `ss -lnt` and
 * sock_diag show, plus the SYN queue length, which sock_diag only gives as request sockets
 * found by walking the whole established hash. A dump ends with one record of family 0.
 */
struct synwave_listener_record {
	__u64 cookie;
	__u64 inode;           /* 0 once the owner closed its descriptor */
	__u8 addr[SYNWAVE_ADDR_LEN]; /* local address; IPv4 in the first 4 bytes */
	__u32 netns;
	__u32 uid;
	__u32 syn_queue;       /* icsk_accept_queue.qlen */
	__u32 accept_queue;    /* sk_ack_backlog */
	__u32 backlog;         /* sk_max_ack_backlog */
	__u32 drops;           /* sk_drops */
	__u16 family;          /* 0: the dump's end record, with only `visited` set */
	__u16 port;            /* host byte order */
	__u32 visited;         /* end record only: how many marked listeners the dump visited */
	__u64 cgroup_id;       /* the listener's cgroup v2 (0: none) */
};
_Static_assert(sizeof(struct synwave_listener_record) == 72, "synwave_listener_record ABI");

#define SYNWAVE_CONNECTION_TRANSITIONS 6
/* Slots of the BPF map "connections" (a power of two): sockets open at once that can be assembled */
#define SYNWAVE_CONNECTION_SLOTS 65536
/* Slots a socket may take, from the one its cookie hashes to */
#define SYNWAVE_CONNECTION_WAYS 4

/* Per-connection retransmit counters, by what was retransmitted (SYN-ACKs are the listener's). */
enum synwave_connection_retransmit {
	SYNWAVE_CONN_RETRANSMIT_SYN = 0,
	SYNWAVE_CONN_RETRANSMIT_DATA = 1,
	SYNWAVE_CONN_RETRANSMIT_FIN = 2,
	SYNWAVE_CONN_RETRANSMIT_TLP = 3, /* data sent by the tail-loss-probe timer */
};

/* Bits of synwave_connection.flags. */
enum synwave_connection_flags {
	SYNWAVE_CONN_OWNER = 1u << 0,     /* tgid/comm are of a syscall-driven transition: the owner */
	SYNWAVE_CONN_TOTALS = 1u << 1,    /* totals were read at CLOSE */
	SYNWAVE_CONN_CLOSED = 1u << 2,    /* the CLOSE transition was seen */
	SYNWAVE_CONN_EMITTED = 1u << 3,   /* the record went out; the storage only waits for the socket's end */
	SYNWAVE_CONN_DESTROYED = 1u << 4, /* sent by tcp_destroy_sock (CLOSE deferred, or never seen) */
	SYNWAVE_CONN_TUPLE = 1u << 5,     /* tuple holds both ports */
	SYNWAVE_CONN_UNCOUNTED = 1u << 6, /* outside the namespaces the per-event counters count */
};

/*
 * One socket's connection, kept in a slot of the BPF map "connections" from its first transition (or first
 * retransmit or reset) and sent once, at CLOSE or at tcp_destroy_sock (bpf/connection.bpf.h).
 * A record of everything user space needs to build the connection's record: the per-event
 * records it replaces carried nothing more.
 */
struct synwave_connection {
	__u64 start_ns;      /* the first event's time (bpf_ktime_get_boot_ns) */
	/* (ns since start_ns) << 8 | newstate << 4 | oldstate, in arrival order */
	__u64 transitions[SYNWAVE_CONNECTION_TRANSITIONS];
	__u64 last_reset_received_ns; /* matches a listener's reset (accept-queue overflow abort) */
	__u64 cgroup_id;     /* the socket's cgroup v2 (its creator's, a child's listener's; 0: none) */
	struct synwave_tcp_totals totals; /* valid with SYNWAVE_CONN_TOTALS */
	struct synwave_tuple tuple;  /* valid with SYNWAVE_CONN_TUPLE: kept before the kernel wipes ports */
	char comm[SYNWAVE_COMM_LEN];
	__u32 netns;
	__u32 tgid;          /* see SYNWAVE_CONN_OWNER; else the task of the first event */
	__s32 error;         /* sk_err: the first nonzero seen, then any later nonzero reported */
	__u32 packets_out;   /* at the error report, else at CLOSE */
	__u16 retransmits[4]; /* enum synwave_connection_retransmit */
	__u8 transition_count; /* may exceed SYNWAVE_CONNECTION_TRANSITIONS: the rest were not kept */
	__u8 flags;          /* enum synwave_connection_flags */
	__u8 probes_out;     /* at the error report, else at CLOSE */
	__u8 resets_received;
	__u8 resets_sent;
	__u8 first_reset_reason; /* enum synwave_reset_reason */
	__u8 last_reset_reason;
	__u8 _pad0;
};
_Static_assert(sizeof(struct synwave_connection) == 200, "synwave_connection ABI");

/* One slot of the BPF map "connections": the running record of the socket whose cookie holds it.
 * cookie 0 is free; a slot whose record went out (SYNWAVE_CONN_EMITTED) only waits for its
 * socket's end and may be taken by another socket. */
struct synwave_connection_slot {
	__u64 cookie;
	struct synwave_connection conn;
};
_Static_assert(sizeof(struct synwave_connection_slot) == 208, "synwave_connection_slot ABI");

/* SYNWAVE_EVENT_CONNECTION. The header's time is when the record was sent. */
struct synwave_connection_event {
	struct synwave_event_header hdr;
	struct synwave_connection conn;
};
_Static_assert(sizeof(struct synwave_connection_event) == 232, "synwave_connection_event ABI");

/* SYNWAVE_EVENT_CGROUP: user space names the cgroup now, while it surely exists, so that records
 * ending after it is removed still name it. */
struct synwave_cgroup_event {
	struct synwave_event_header hdr;
	__u64 cgroup_id;
};
_Static_assert(sizeof(struct synwave_cgroup_event) == 40, "synwave_cgroup_event ABI");

/* Value of the BPF map "live" (one entry), written by user space while tracing. */
struct synwave_live {
	/* 1: also send every event as it happens (SYNWAVE_EVF_LIVE), for `tail --events` */
	__u32 per_event;
	__u32 _pad0;
};
_Static_assert(sizeof(struct synwave_live) == 8, "synwave_live ABI");

/* Read-only settings of the BPF programs, the single const volatile global. */
struct synwave_bpf_config {
	/* Wake the reader only once this much data is pending in the ring. */
	__u64 wakeup_bytes;
	/* Minimum time between two accept-overflow records of one listener. */
	__u64 listener_report_ns;
	/* 1 when the state program runs on tp_btf (socket cookies): classic-tracepoint programs of
	 * other features then identify sockets by their stored cookie too, not by address. */
	__u32 cookie_identity;
	/* 1: connections are assembled in the map "connections" (tp_btf, 5.12+), not sent per event */
	__u32 assemble_connections;
	/* 1: the per-event counters of assembled connections count only the namespaces in the
	 * counted_netns map (the daemon's only_netns), as its records do */
	__u32 count_listed_netns_only;
	/* 1: records carry the sockets' cgroup v2 ids; 0 where no cgroup2 is mounted (a v1-only
	 * host, where every socket is in the v2 root and the id would say nothing) */
	__u32 cgroup_ids;
};
_Static_assert(sizeof(struct synwave_bpf_config) == 32, "synwave_bpf_config ABI");

#endif /* SYNWAVE_ABI_H */
