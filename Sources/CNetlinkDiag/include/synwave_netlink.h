/* SPDX-License-Identifier: Apache-2.0 */
/* The kernel's sock_diag netlink ABI for Swift, and the one thing Swift cannot do safely:
 * open files inside another network namespace. */
#ifndef SYNWAVE_NETLINK_H
#define SYNWAVE_NETLINK_H

#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>

/*
 * Opens, inside the network namespace `nsfd` (-1: the caller's), a NETLINK_SOCK_DIAG socket
 * and /proc/thread-self/net/netstat. Both stay bound to that namespace for their lifetime.
 * setns() changes only the calling thread's namespace, so this runs on a short-lived thread
 * of its own and never moves a thread Swift's runtime may reuse. Returns 0 or -errno; on
 * failure nothing stays open.
 */
int synwave_open_in_netns(int nsfd, int *diag_fd, int *netstat_fd);

/*
 * Opens a reader of the BPF iterator link `link_fd` from inside the network namespace `nsfd`
 * (-1: the caller's): iterators over a namespace's sockets (iter/tcp) walk the namespace of
 * the thread that opens them. Same short-lived thread as above. Returns the fd or -errno.
 */
int synwave_iter_create_in_netns(int nsfd, int link_fd);

#endif /* SYNWAVE_NETLINK_H */
