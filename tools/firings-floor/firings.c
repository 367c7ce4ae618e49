/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loads and attaches firings.bpf.o (every program in it), waits for SIGINT or SIGTERM, then
 * prints "@firings: N" (the bench reads bpftrace's floor in the same form) and exits.
 *   firings FILE.bpf.o
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

static void stop(int signo)
{
	(void)signo;
	stopping = 1;
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	int attached = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: firings FILE.bpf.o\n");
		return 2;
	}
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || bpf_object__load(obj)) {
		fprintf(stderr, "firings: loading %s failed: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, obj) {
		if (!bpf_program__attach(prog)) {
			fprintf(stderr, "firings: attaching %s failed: %s\n", bpf_program__name(prog), strerror(errno));
			return 1;
		}
		attached++;
	}
	signal(SIGINT, stop);
	signal(SIGTERM, stop);
	fprintf(stderr, "firings: %d programs attached\n", attached);
	while (!stopping)
		pause();

	int cpus = libbpf_num_possible_cpus();
	__u64 values[cpus > 0 ? cpus : 1], total = 0;
	__u32 zero = 0;
	if (cpus > 0 && !bpf_map_lookup_elem(bpf_map__fd(bpf_object__find_map_by_name(obj, "firings")), &zero, values))
		for (int cpu = 0; cpu < cpus; cpu++)
			total += values[cpu];
	printf("@firings: %llu\n", (unsigned long long)total);
	bpf_object__close(obj);
	return 0;
}
