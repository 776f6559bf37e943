/* `-o vbd.KEY=VALUE` parsing for the vbd class. */
#include "blkback/bb_config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "blkback/bb_abi.h"
#include "blkback/bb_pgrant.h"
#include "log.h"
#include "xb.h"

/* Linux blkback caps queues at online CPUs; the ring keys allow 1..n. */
#define BB_MAX_QUEUES_CAP 64u

struct bb_config bb_cfg = {
    .max_queues = 0,
    .max_ring_order = BB_MAX_RING_ORDER,
    .max_indirect_segs = BB_MAX_INDIRECT_SEGS,
    .persistent = true,
    .max_pgrants = BB_PGRANT_MAX_DEFAULT,
    .pgrant_idle_s = BB_PGRANT_IDLE_MS_DEFAULT / 1000,
    .max_buffer_pages = 1024,
    .engine = BB_ENGINE_AUTO,
    .direct_io = BB_DIO_AUTO,
    .resize_poll_ms = 1000,
};

const char bb_options_help[] =
    "  vbd.max-queues=N           multi-queue-max-queues (default: online CPUs)\n"
    "  vbd.max-ring-page-order=N  max-ring-page-order, 0..4 (default 4)\n"
    "  vbd.max-indirect-segments=N  feature-max-indirect-segments, 0 (off) or 11..256\n"
    "                             (default 256)\n"
    "  vbd.feature-persistent=0|1 offer persistent grants (default 1)\n"
    "  vbd.max-persistent-grants=N  per queue (default 1056)\n"
    "  vbd.persistent-grant-unused-seconds=N  idle grants are unmapped after N s (60)\n"
    "  vbd.max-buffer-pages=N     bounce pages kept for reuse per queue (default 1024)\n"
    "  vbd.engine=auto|io_uring|threads  I/O engine (default auto: io_uring, else threads)\n"
    "  vbd.direct-io=auto|always|never  O_DIRECT (default auto: when direct-io-safe=1)\n"
    "  vbd.resize-poll-ms=N       how often backing stores are checked for a new size\n"
    "                             (default 1000, 0 = never)\n";

static int parse_u(const char *key, const char *v, uint64_t lo, uint64_t hi, uint64_t *out)
{
        int rc = xb_parse_uint(v, hi, out);
        if (rc == 0 && *out < lo)
                rc = -ERANGE;
        if (rc < 0)
                pv_err("vbd", "option %s=%s: expected %llu..%llu", key, v,
                       (unsigned long long)lo, (unsigned long long)hi);
        return rc;
}

int bb_configure(const char *key, const char *value)
{
        uint64_t n;
        int rc;

        if (!strcmp(key, "max-queues")) {
                if ((rc = parse_u(key, value, 1, BB_MAX_QUEUES_CAP, &n)) < 0)
                        return rc;
                bb_cfg.max_queues = (unsigned)n;
        } else if (!strcmp(key, "max-ring-page-order")) {
                if ((rc = parse_u(key, value, 0, BB_MAX_RING_ORDER, &n)) < 0)
                        return rc;
                bb_cfg.max_ring_order = (unsigned)n;
        } else if (!strcmp(key, "max-indirect-segments")) {
                if ((rc = parse_u(key, value, 0, BB_MAX_INDIRECT_SEGS, &n)) < 0)
                        return rc;
                if (n && n <= BLKIF_MAX_SEGMENTS_PER_REQUEST) {
                        pv_err("vbd", "option %s=%s: 0 or more than %u", key, value,
                               BLKIF_MAX_SEGMENTS_PER_REQUEST);
                        return -ERANGE;
                }
                bb_cfg.max_indirect_segs = (unsigned)n;
        } else if (!strcmp(key, "feature-persistent")) {
                bool b;
                if ((rc = xb_parse_bool(value, &b)) < 0) {
                        pv_err("vbd", "option %s=%s: expected 0 or 1", key, value);
                        return rc;
                }
                bb_cfg.persistent = b;
        } else if (!strcmp(key, "max-persistent-grants")) {
                if ((rc = parse_u(key, value, 1, 1u << 20, &n)) < 0)
                        return rc;
                bb_cfg.max_pgrants = (uint32_t)n;
        } else if (!strcmp(key, "persistent-grant-unused-seconds")) {
                if ((rc = parse_u(key, value, 1, 86400, &n)) < 0)
                        return rc;
                bb_cfg.pgrant_idle_s = (uint32_t)n;
        } else if (!strcmp(key, "max-buffer-pages")) {
                if ((rc = parse_u(key, value, 0, 1u << 20, &n)) < 0)
                        return rc;
                bb_cfg.max_buffer_pages = (uint32_t)n;
        } else if (!strcmp(key, "engine")) {
                if ((rc = bb_engine_kind_parse(value, &bb_cfg.engine)) < 0) {
                        pv_err("vbd", "option %s=%s: expected auto, io_uring or threads", key,
                               value);
                        return rc;
                }
        } else if (!strcmp(key, "direct-io")) {
                if (!strcmp(value, "auto"))
                        bb_cfg.direct_io = BB_DIO_AUTO;
                else if (!strcmp(value, "always"))
                        bb_cfg.direct_io = BB_DIO_ALWAYS;
                else if (!strcmp(value, "never"))
                        bb_cfg.direct_io = BB_DIO_NEVER;
                else {
                        pv_err("vbd", "option %s=%s: expected auto, always or never", key, value);
                        return -EINVAL;
                }
        } else if (!strcmp(key, "resize-poll-ms")) {
                if ((rc = parse_u(key, value, 0, 3600000, &n)) < 0)
                        return rc;
                bb_cfg.resize_poll_ms = (uint32_t)n;
        } else {
                pv_err("vbd", "unknown option vbd.%s", key);
                return -EINVAL;
        }
        return 0;
}

unsigned bb_config_max_queues(void)
{
        long cpus;
        if (bb_cfg.max_queues)
                return bb_cfg.max_queues;
        cpus = sysconf(_SC_NPROCESSORS_ONLN);
        if (cpus < 1)
                cpus = 1;
        return cpus > (long)BB_MAX_QUEUES_CAP ? BB_MAX_QUEUES_CAP : (unsigned)cpus;
}
