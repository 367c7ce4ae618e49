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

/* Loads the smallest program of an iterator target ("tcp", "bpf_sk_storage_map"): two
 * instructions, no helper, no map. It tells whether the kernel takes programs of that target
 * at all, whatever they do. 0 when it loads (closed at once), else a negative errno
 * (-ENOENT: the target is not in this kernel's BTF). */
static inline int synwave_probe_iter_target(const char *target)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_ITER);
	int btf_id, fd;

	btf_id = libbpf_find_vmlinux_btf_id(target, BPF_TRACE_ITER);
	if (btf_id < 0)
		return btf_id;
	opts.attach_btf_id = btf_id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "sw_probe_iter", "GPL", insns, 2, &opts);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}
