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

struct open_request {
	int nsfd;
	int diag_fd;
	int netstat_fd;
	int error;
};

static void *open_in_netns(void *arg)
{
	struct open_request *req = arg;

	if (req->nsfd >= 0 && setns(req->nsfd, CLONE_NEWNET) < 0) {
		req->error = -errno;
		return NULL;
	}
	req->diag_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (req->diag_fd < 0) {
		req->error = -errno;
		return NULL;
	}
	/* thread-self: /proc/self/net would show the main thread's namespace. */
	req->netstat_fd = open("/proc/thread-self/net/netstat", O_RDONLY | O_CLOEXEC);
	if (req->netstat_fd < 0) {
		req->error = -errno;
		close(req->diag_fd);
		req->diag_fd = -1;
	}
	return NULL;
}

int synwave_open_in_netns(int nsfd, int *diag_fd, int *netstat_fd)
{
	struct open_request req = { .nsfd = nsfd, .diag_fd = -1, .netstat_fd = -1, .error = 0 };
	pthread_t thread;
	int rc = pthread_create(&thread, NULL, open_in_netns, &req);

	if (rc != 0)
		return -rc;
	pthread_join(thread, NULL);
	if (req.error)
		return req.error;
	*diag_fd = req.diag_fd;
	*netstat_fd = req.netstat_fd;
	return 0;
}

struct iter_request {
	int nsfd;
	int link_fd;
	int iter_fd;
	int error;
};

static void *iter_in_netns(void *arg)
{
	struct iter_request *req = arg;
	union bpf_attr attr;

	if (req->nsfd >= 0 && setns(req->nsfd, CLONE_NEWNET) < 0) {
		req->error = -errno;
		return NULL;
	}
	memset(&attr, 0, sizeof(attr));
	attr.iter_create.link_fd = req->link_fd;
	req->iter_fd = (int)syscall(__NR_bpf, BPF_ITER_CREATE, &attr, sizeof(attr));
	if (req->iter_fd < 0)
		req->error = -errno;
	return NULL;
}

int synwave_iter_create_in_netns(int nsfd, int link_fd)
{
	struct iter_request req = { .nsfd = nsfd, .link_fd = link_fd, .iter_fd = -1, .error = 0 };
	pthread_t thread;
	int rc = pthread_create(&thread, NULL, iter_in_netns, &req);

	if (rc != 0)
		return -rc;
	pthread_join(thread, NULL);
	return req.error ? req.error : req.iter_fd;
}
