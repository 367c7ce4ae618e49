#ifndef SYNWAVE_CGROUP_HANDLE_H
#define SYNWAVE_CGROUP_HANDLE_H

#include <stdint.h>

/* Opens the directory of the cgroup whose cgroup v2 id is `id`, on the cgroup2 mount opened as
 * `mount_fd`: the id is the cgroup's kernfs file handle, so open_by_handle_at finds it without a
 * walk. Returns the descriptor, or -1 with errno: ESTALE for a cgroup removed since, EPERM without
 * CAP_DAC_READ_SEARCH, EOPNOTSUPP where the kernel cannot. (glibc declares open_by_handle_at only
 * under _GNU_SOURCE, which Swift's Glibc module does not see.) */
int synwave_open_cgroup(int mount_fd, uint64_t id);

#endif
