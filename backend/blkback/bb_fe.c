/* Reading a blkfront's keys (Linux xen-blkback xenbus.c connect_ring and
 * read_per_ring_refs): protocol, feature-persistent, multi-queue-num-queues,
 * ring-page-order, then per queue ring-ref(s) and event-channel. */
#include "blkback/bb_fe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xb.h"

static int read_ring(struct xs_handle *xs, const char *dir, unsigned order, struct bb_fe_ring *r,
                     char *err, size_t errlen)
{
        uint64_t v;
        char key[24];
        int rc;

        rc = xb_read_uint(xs, XBT_NULL, dir, "event-channel", UINT32_MAX, &v);
        if (rc < 0) {
                snprintf(err, errlen, "reading %s/event-channel", dir);
                return rc;
        }
        r->evtchn = (uint32_t)v;
        r->nr_pages = 1u << order;
        /* A single page may be named "ring-ref" (legacy) or "ring-ref0". */
        if (order == 0 && xb_read_uint(xs, XBT_NULL, dir, "ring-ref", UINT32_MAX, &v) == 0) {
                r->refs[0] = (uint32_t)v;
                return 0;
        }
        for (unsigned i = 0; i < r->nr_pages; i++) {
                snprintf(key, sizeof(key), "ring-ref%u", i);
                rc = xb_read_uint(xs, XBT_NULL, dir, key, UINT32_MAX, &v);
                if (rc < 0) {
                        snprintf(err, errlen, "reading %s/%s", dir, key);
                        return rc;
                }
                r->refs[i] = (uint32_t)v;
        }
        return 0;
}

int bb_fe_read(struct xs_handle *xs, const char *fe_path, unsigned max_queues, unsigned max_order,
               struct bb_fe_info *fe, char *err, size_t errlen)
{
        char *proto = NULL;
        uint64_t v;
        int rc;

        memset(fe, 0, sizeof(*fe));
        rc = xb_read_str(xs, XBT_NULL, fe_path, "protocol", &proto);
        if (rc < 0 && rc != -ENOENT) {
                snprintf(err, errlen, "reading %s/protocol", fe_path);
                return rc;
        }
        rc = bb_abi_from_protocol(proto, &fe->abi);
        if (rc < 0) {
                snprintf(err, errlen, "unknown fe protocol %s", proto);
                free(proto);
                return rc;
        }
        free(proto);

        rc = xb_read_bool_default(xs, XBT_NULL, fe_path, "feature-persistent", false,
                                  &fe->persistent);
        if (rc == 0)
                rc = xb_read_bool_default(xs, XBT_NULL, fe_path, "feature-large-sector-size",
                                          false, &fe->large_sector);
        if (rc < 0) {
                snprintf(err, errlen, "malformed feature key in %s", fe_path);
                return rc;
        }
        rc = xb_read_uint_default(xs, XBT_NULL, fe_path, "multi-queue-num-queues", UINT32_MAX, 1,
                                  &v);
        if (rc < 0 || v == 0 || v > max_queues || v > BB_FE_MAX_QUEUES) {
                snprintf(err, errlen, "guest requested %llu queues, exceeding the maximum of %u",
                         rc < 0 ? 0ull : (unsigned long long)v, max_queues);
                return rc < 0 ? rc : -EINVAL;
        }
        fe->nr_queues = (unsigned)v;
        rc = xb_read_uint_default(xs, XBT_NULL, fe_path, "ring-page-order", UINT32_MAX, 0, &v);
        if (rc < 0 || v > max_order) {
                snprintf(err, errlen, "requested ring page order %llu exceeds max:%u",
                         rc < 0 ? 0ull : (unsigned long long)v, max_order);
                return rc < 0 ? rc : -EINVAL;
        }
        fe->ring_order = (unsigned)v;

        if (fe->nr_queues == 1)
                return read_ring(xs, fe_path, fe->ring_order, &fe->q[0], err, errlen);
        for (unsigned i = 0; i < fe->nr_queues; i++) {
                char dir[192];
                snprintf(dir, sizeof(dir), "%s/queue-%u", fe_path, i);
                rc = read_ring(xs, dir, fe->ring_order, &fe->q[i], err, errlen);
                if (rc < 0)
                        return rc;
        }
        return 0;
}
