/* The demo's miniature split device: one shared ring of "here is a page of
 * payload" requests, answered by the backend after it grant-copied the page.
 * Deliberately shaped like netif TX so the demo exercises what netback will. */
#ifndef PVBACK_DEMO_RING_H
#define PVBACK_DEMO_RING_H

#include <stdint.h>
#include <string.h>

#include "xh.h"
#include <xen/io/ring.h>

#define DEMO_DATA_PAGES 64
#define DEMO_XS_DIR     "data/pvback-demo"

struct demo_req {
        uint32_t gref;
        uint16_t id;
        uint16_t len;
};
struct demo_rsp {
        uint16_t id;
        int16_t status;
};
DEFINE_RING_TYPES(demo, struct demo_req, struct demo_rsp);

/* 64-bit FNV-1a over 8-byte words: cheap enough not to dominate the demo,
 * and any lost, duplicated or reordered page changes it. Both sides run the
 * same code, so host byte order does not matter. */
static inline uint64_t demo_digest(uint64_t h, const void *buf, uint32_t len)
{
        const unsigned char *p = buf;
        uint32_t i = 0;
        for (; i + 8 <= len; i += 8) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                h = (h ^ w) * 0x100000001b3ULL;
        }
        if (i < len) {
                uint64_t w = 0;
                memcpy(&w, p + i, len - i);
                h = (h ^ w) * 0x100000001b3ULL;
        }
        return h;
}

#define DEMO_DIGEST_INIT 0xcbf29ce484222325ULL

#endif
