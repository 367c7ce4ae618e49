#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <string.h>

/* perf_event_open has no libc wrapper, and Swift cannot call the variadic syscall(2):
 * a counting (not sampling) event on one tracepoint: all tasks on one CPU (thread -1), or one
 * thread on any CPU (cpu -1), interrupts taken while it runs included. */
static inline int synwave_perf_count_tracepoint(unsigned long long tracepoint_id, int thread, int cpu)
{
	struct perf_event_attr attr = {0};

	attr.type = PERF_TYPE_TRACEPOINT;
	attr.size = sizeof(attr);
	attr.config = tracepoint_id;
	return (int)syscall(__NR_perf_event_open, &attr, thread, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

/* Attaches an iterator program; map_fd >= 0 names the map a map iterator walks. The options
 * are a sized struct and a union, simpler to fill here than from Swift. */
static inline struct bpf_link *synwave_attach_iter(struct bpf_program *prog, int map_fd)
{
	union bpf_iter_link_info info;
	LIBBPF_OPTS(bpf_iter_attach_opts, opts);

	memset(&info, 0, sizeof(info));
	if (map_fd >= 0) {
		info.map.map_fd = map_fd;
		opts.link_info = &info;
		opts.link_info_len = sizeof(info);
	}
	return bpf_program__attach_iter(prog, &opts);
}
