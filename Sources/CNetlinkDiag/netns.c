#define _GNU_SOURCE
#include "synwave_netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/bpf.h>
#include <string.h>
#include <unistd.h>

/* Runs `work(arg)` on a short-lived thread moved into the network namespace `nsfd` (-1: the
 * caller's). Returns 0, or -errno when the thread or the move failed. */
struct in_netns {
	int nsfd;
	void (*work)(void *);
	void *arg;
	int error;
};

static void *enter_and_run(void *p)
{
	struct in_netns *run = p;

	if (run->nsfd >= 0 && setns(run->nsfd, CLONE_NEWNET) < 0) {
		run->error = -errno;
		return NULL;
	}
	run->work(run->arg);
	return NULL;
}

static int run_in_netns(int nsfd, void (*work)(void *), void *arg)
{
	struct in_netns run = { .nsfd = nsfd, .work = work, .arg = arg, .error = 0 };
	pthread_t thread;
	int rc = pthread_create(&thread, NULL, enter_and_run, &run);

	if (rc != 0)
		return -rc;
	pthread_join(thread, NULL);
	return run.error;
}

struct open_request {
	int diag_fd;
	int netstat_fd;
	int error;
};

static void open_diag_and_netstat(void *arg)
{
	struct open_request *req = arg;

	req->diag_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (req->diag_fd < 0) {
		req->error = -errno;
		return;
	}
	/* thread-self: /proc/self/net would show the main thread's namespace. */
	req->netstat_fd = open("/proc/thread-self/net/netstat", O_RDONLY | O_CLOEXEC);
	if (req->netstat_fd < 0) {
		req->error = -errno;
		close(req->diag_fd);
		req->diag_fd = -1;
	}
}

int synwave_open_in_netns(int nsfd, int *diag_fd, int *netstat_fd)
{
	struct open_request req = { .diag_fd = -1, .netstat_fd = -1, .error = 0 };
	int rc = run_in_netns(nsfd, open_diag_and_netstat, &req);

	if (rc)
		return rc;
	if (req.error)
		return req.error;
	*diag_fd = req.diag_fd;
	*netstat_fd = req.netstat_fd;
	return 0;
}

struct iter_request {
	int link_fd;
	int iter_fd;
};

static void create_iter(void *arg)
{
	struct iter_request *req = arg;
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.iter_create.link_fd = req->link_fd;
	req->iter_fd = (int)syscall(__NR_bpf, BPF_ITER_CREATE, &attr, sizeof(attr));
	if (req->iter_fd < 0)
		req->iter_fd = -errno;
}

int synwave_iter_create_in_netns(int nsfd, int link_fd)
{
	struct iter_request req = { .link_fd = link_fd, .iter_fd = -1 };
	int rc = run_in_netns(nsfd, create_iter, &req);

	return rc ? rc : req.iter_fd;
}
