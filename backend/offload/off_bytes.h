/* Unaligned, endian-explicit loads and stores for packet fields.
 * Packet headers sit at any alignment inside guest buffers, so every access
 * goes through memcpy (UBSan rejects misaligned pointer casts). */
#ifndef PVBACK_OFF_BYTES_H
#define PVBACK_OFF_BYTES_H

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t off_get_be16(const uint8_t *p)
{
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        return ntohs(v);
}

static inline uint32_t off_get_be32(const uint8_t *p)
{
        uint32_t v;
        memcpy(&v, p, sizeof(v));
        return ntohl(v);
}

static inline void off_put_be16(uint8_t *p, uint16_t v)
{
        uint16_t n = htons(v);
        memcpy(p, &n, sizeof(n));
}

static inline void off_put_be32(uint8_t *p, uint32_t v)
{
        uint32_t n = htonl(v);
        memcpy(p, &n, sizeof(n));
}

/* Checksum fields are kept "as stored" (network order bytes read natively),
 * the representation the ones' complement helpers work in. */
static inline uint16_t off_get_raw16(const uint8_t *p)
{
        uint16_t v;
        memcpy(&v, p, sizeof(v));
        return v;
}

static inline void off_put_raw16(uint8_t *p, uint16_t v)
{
        memcpy(p, &v, sizeof(v));
}

#endif
