/* The backing store of a vbd: a regular file or a block device opened by
 * pvbackd itself, with what the frontend is told about it (size, sector
 * sizes, discard). Not for I/O (bb_engine.h). */
#ifndef PVBACK_BB_BACKING_H
#define PVBACK_BB_BACKING_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bb_backing {
        int fd;
        bool blkdev;
        bool readonly;
        bool direct;               /* opened with O_DIRECT */
        uint64_t bytes;
        uint32_t logical;          /* logical block size */
        uint32_t physical;         /* physical block size */
        bool discard;              /* punch hole / BLKDISCARD works */
        bool discard_secure;       /* BLKSECDISCARD works */
        uint32_t discard_granularity;
        uint32_t discard_alignment;
        char path[PATH_MAX];
};

/* Opens path (a regular file or block device; anything else is -EINVAL)
 * read-only or read-write, with O_DIRECT if asked and the store takes it
 * (otherwise buffered, and b->direct says so), and reads its properties. */
int bb_backing_open(const char *path, bool readonly, bool direct, struct bb_backing *b);
void bb_backing_close(struct bb_backing *b);
/* Current size in bytes (online resize). */
int bb_backing_size(const struct bb_backing *b, uint64_t *bytes);

/* "maj:min" in hex as the block script writes physical-device ("7:0", "fe:1"). */
int bb_majmin_parse(const char *s, unsigned *maj, unsigned *min);
/* The block device node for maj:min: `hint` (physical-device-path) if it is
 * that device, else /dev/block/<maj>:<min>. */
int bb_majmin_path(unsigned maj, unsigned min, const char *hint, char *buf, size_t len);

#endif
