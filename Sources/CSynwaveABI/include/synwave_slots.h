/* User space only: taking a slot of the BPF map "connections" whose socket is gone. */
#ifndef SYNWAVE_SLOTS_H
#define SYNWAVE_SLOTS_H

#include "synwave_abi.h"

/* Copies the slot's record, then frees the slot if it still belongs to `cookie` (the BPF
 * programs claim slots with the same compare-and-swap). 1 when the copy is the socket's. */
static inline int synwave_connection_slot_take(struct synwave_connection_slot *slot, __u64 cookie,
					       struct synwave_connection *copy)
{
	__u64 expected = cookie;

	*copy = slot->conn;
	return __atomic_compare_exchange_n(&slot->cookie, &expected, 0, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

#endif /* SYNWAVE_SLOTS_H */
