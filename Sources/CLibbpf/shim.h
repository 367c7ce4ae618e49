#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/bpf.h>
