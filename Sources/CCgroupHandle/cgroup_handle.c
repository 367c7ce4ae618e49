#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include "cgroup_handle.h"

/* include/linux/exportfs.h: a kernfs node's 64-bit id as its handle. */
#define SYNWAVE_FILEID_KERNFS 0xfe

int synwave_open_cgroup(int mount_fd, uint64_t id)
{
	struct {
		struct file_handle handle;
		uint64_t id;
	} fh;

	fh.handle.handle_bytes = sizeof(fh.id);
	fh.handle.handle_type = SYNWAVE_FILEID_KERNFS;
	memcpy(&fh.id, &id, sizeof(id));
	return open_by_handle_at(mount_fd, &fh.handle, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}
