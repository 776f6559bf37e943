/* Verify tags: every 512-byte sector written by `pvback-blkfront verify`
 * carries its own address and a generation number, then a pattern derived
 * from both, so a read-back (or a look at the backing file) tells a stale,
 * misplaced, zeroed or corrupted sector apart. Pure. */
#ifndef PVBACK_BF_TAG_H
#define PVBACK_BF_TAG_H

#include <stdint.h>

#define BF_TAG_SECTOR 512u
/* Layout of a tagged sector (little-endian): magic "PVBKTAG1" @0, sector
 * (byte address / 512) @8, generation @16, ~sector @24, then 480 bytes of
 * xorshift64 output seeded from sector and generation. */
#define BF_TAG_MAGIC 0x314741544b425650ull /* "PVBKTAG1" */

enum bf_tag_result {
        BF_TAG_OK,
        BF_TAG_ZERO,       /* all zero: never written, or discarded */
        BF_TAG_GENERATION, /* our sector, another generation (stale) */
        BF_TAG_ADDRESS,    /* a tag of another sector (misplaced) */
        BF_TAG_CORRUPT,    /* neither */
};

/* Fills one 512-byte sector. */
void bf_tag_fill(void *sector_buf, uint64_t sector, uint64_t generation);
/* Fills n consecutive sectors starting at `sector`. */
void bf_tag_fill_range(void *buf, uint64_t sector, uint64_t n, uint64_t generation);
/* Checks one sector; on a mismatch found_sector and found_gen (may be NULL) say
 * what the header holds. */
enum bf_tag_result bf_tag_check(const void *sector_buf, uint64_t sector, uint64_t generation,
                                uint64_t *found_sector, uint64_t *found_gen);
const char *bf_tag_result_name(enum bf_tag_result r);

#endif
