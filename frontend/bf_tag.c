/* Implementation of bf_tag.h. The pattern is cheap (xorshift64) and fills the
 * whole sector, so a torn or partly copied sector is caught, not just a wrong
 * header. */
#include "bf_tag.h"

#include <endian.h>
#include <string.h>

#define TAG_HDR 32u

static uint64_t seed_of(uint64_t sector, uint64_t generation)
{
        /* splitmix64 of both: neighbouring sectors get unrelated patterns. */
        uint64_t z = sector * 0x9e3779b97f4a7c15ull ^ (generation + 0x632be59bd9b4e019ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        return z ? z : 1;
}

static void put64(uint8_t *p, uint64_t v)
{
        v = htole64(v);
        memcpy(p, &v, 8);
}

static uint64_t get64(const uint8_t *p)
{
        uint64_t v;
        memcpy(&v, p, 8);
        return le64toh(v);
}

static void fill_pattern(uint8_t *p, uint64_t x)
{
        for (uint32_t i = TAG_HDR; i < BF_TAG_SECTOR; i += 8) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                put64(p + i, x);
        }
}

void bf_tag_fill(void *sector_buf, uint64_t sector, uint64_t generation)
{
        uint8_t *p = sector_buf;
        put64(p, BF_TAG_MAGIC);
        put64(p + 8, sector);
        put64(p + 16, generation);
        put64(p + 24, ~sector);
        fill_pattern(p, seed_of(sector, generation));
}

void bf_tag_fill_range(void *buf, uint64_t sector, uint64_t n, uint64_t generation)
{
        for (uint64_t i = 0; i < n; i++)
                bf_tag_fill((uint8_t *)buf + i * BF_TAG_SECTOR, sector + i, generation);
}

static int all_zero(const uint8_t *p)
{
        for (uint32_t i = 0; i < BF_TAG_SECTOR; i++)
                if (p[i])
                        return 0;
        return 1;
}

enum bf_tag_result bf_tag_check(const void *sector_buf, uint64_t sector, uint64_t generation,
                                uint64_t *found_sector, uint64_t *found_gen)
{
        uint8_t want[BF_TAG_SECTOR];
        const uint8_t *p = sector_buf;
        uint64_t fs = get64(p + 8), fg = get64(p + 16);

        if (found_sector)
                *found_sector = fs;
        if (found_gen)
                *found_gen = fg;
        bf_tag_fill(want, sector, generation);
        if (!memcmp(want, p, BF_TAG_SECTOR))
                return BF_TAG_OK;
        if (all_zero(p))
                return BF_TAG_ZERO;
        if (get64(p) != BF_TAG_MAGIC || get64(p + 24) != ~fs)
                return BF_TAG_CORRUPT;
        /* A well-formed header: is the whole sector that tag's? */
        bf_tag_fill(want, fs, fg);
        if (memcmp(want, p, BF_TAG_SECTOR))
                return BF_TAG_CORRUPT;
        return fs != sector ? BF_TAG_ADDRESS : BF_TAG_GENERATION;
}

const char *bf_tag_result_name(enum bf_tag_result r)
{
        switch (r) {
        case BF_TAG_OK:
                return "ok";
        case BF_TAG_ZERO:
                return "zeroed";
        case BF_TAG_GENERATION:
                return "stale generation";
        case BF_TAG_ADDRESS:
                return "misplaced (another sector's tag)";
        case BF_TAG_CORRUPT:
                return "corrupt";
        }
        return "?";
}
