/* The linked synwave BPF object, embedded so that building synwave needs neither clang-BPF nor bpftool. */
#ifndef SYNWAVE_BPF_OBJECT_H
#define SYNWAVE_BPF_OBJECT_H

extern const unsigned char synwave_bpf_object[];
extern const unsigned long synwave_bpf_object_size;

/* Swift does not import arrays of unknown size: hand it a pointer. */
static inline const void *synwave_bpf_object_ptr(void) { return synwave_bpf_object; }

#endif
