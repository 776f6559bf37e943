/* pvback-blkfront against a tiny in-test backend (dom0, this process) on a
 * private simulated host: the exact frontend keys of each negotiation (Linux
 * blkfront's set, phaseB of the real-Xen dumps), verify runs through every
 * feature combination with the disk checked directly, flush, discard and
 * hostile requests. The backend decodes rings with its own struct layouts so
 * the frontend's encoders are not checked against themselves. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "proc.h"
#include "simhost.h"
#include "xb.h"

#include <xen/io/blkif.h>
#include <xen/io/ring.h>

#include "bf_tag.h"

#define FE_DOM    1
#define DEVID     51712
#define SECTORS   8192u /* 4 MiB */
#define MAX_Q     4
#define MAX_PAGES 16

static struct simhost host;
static const char *BE = "/local/domain/0/backend/vbd/1/51712";
static const char *FE = "/local/domain/1/device/vbd/51712";

/* ---- the mini backend --------------------------------------------------- */

struct x32_req { /* x86_32-abi, packed to 4 (xen-protocol-notes §3.3) */
        uint8_t op, nseg;
        uint16_t handle;
        uint32_t id_lo, id_hi;
        uint32_t sec_lo, sec_hi;
        struct blkif_request_segment seg[11];
} __attribute__((packed));

struct mb_queue {
        void *sring;
        uint32_t npages, size, port;
        RING_IDX cons, rsp;
};

struct minibe {
        struct xs_handle *xs;
        struct xh_gnttab *gt;
        struct xh_evtchn *ev;
        uint8_t *disk;
        bool x32, readonly;
        uint32_t nq;
        struct mb_queue q[MAX_Q];
        /* advertised */
        uint32_t max_queues, max_order, max_indirect;
        /* seen */
        uint64_t reqs, indirect, flushes, discards, errors, per_queue[MAX_Q];
        uint8_t gref_seen[16384];
        uint32_t distinct_grefs;
};

static struct minibe mb;

static size_t req_size(void)
{
        return mb.x32 ? 108 : sizeof(struct blkif_request);
}

static void *slot(struct mb_queue *q, RING_IDX i)
{
        return (uint8_t *)q->sring + 64 + (size_t)(i & (q->size - 1)) * req_size();
}

static void put_response(struct mb_queue *q, uint64_t id, uint8_t op, int16_t st)
{
        uint8_t *p = slot(q, q->rsp++);
        memcpy(p, &id, 8);
        p[8] = op;
        memcpy(p + 10, &st, 2);
}

struct mb_req {
        uint8_t op, real_op;
        uint32_t nseg;
        uint64_t id, sector, nr;
        struct blkif_request_segment seg[512];
};

/* Copies the descriptors of an indirect request out of its first page. */
static int fetch_indirect(uint32_t gref, struct mb_req *r)
{
        xh_copy_seg_t c = {.source.foreign = {.ref = gref, .domid = FE_DOM},
                           .dest.virt = r->seg,
                           .len = (uint16_t)(r->nseg * 8),
                           .flags = GNTCOPY_source_gref};
        return xh_gnttab_copy(mb.gt, 1, &c) == 0 && c.status == GNTST_okay ? 0 : -EIO;
}

static int decode(struct mb_queue *q, RING_IDX i, struct mb_req *r)
{
        uint8_t raw[112];
        memcpy(raw, slot(q, i), req_size());
        r->op = r->real_op = raw[0];
        if (mb.x32) {
                struct x32_req x;
                memcpy(&x, raw, sizeof(x));
                r->id = (uint64_t)x.id_hi << 32 | x.id_lo;
                r->sector = (uint64_t)x.sec_hi << 32 | x.sec_lo;
                r->nseg = x.nseg;
                memcpy(r->seg, x.seg, sizeof(x.seg));
                if (r->op == BLKIF_OP_DISCARD)
                        memcpy(&r->nr, raw + 20, 8);
                if (r->op == BLKIF_OP_INDIRECT) {
                        uint16_t n;
                        uint32_t g;
                        memcpy(&n, raw + 2, 2);
                        memcpy(&g, raw + 24, 4);
                        r->real_op = raw[1];
                        r->nseg = n;
                        return n > 512 ? -E2BIG : fetch_indirect(g, r);
                }
                return 0;
        }
        struct blkif_request n;
        memcpy(&n, raw, sizeof(n));
        r->id = n.id;
        r->sector = n.sector_number;
        r->nseg = n.nr_segments;
        memcpy(r->seg, n.seg, sizeof(n.seg));
        if (r->op == BLKIF_OP_DISCARD)
                r->nr = ((struct blkif_request_discard *)raw)->nr_sectors;
        if (r->op == BLKIF_OP_INDIRECT) {
                struct blkif_request_indirect ind;
                memcpy(&ind, raw, sizeof(ind));
                r->real_op = ind.indirect_op;
                r->nseg = ind.nr_segments;
                return ind.nr_segments > 512 ? -E2BIG : fetch_indirect(ind.indirect_grefs[0], r);
        }
        return 0;
}

static int16_t do_rw(struct mb_req *r)
{
        uint64_t sec = r->sector;
        for (uint32_t k = 0; k < r->nseg; k++) {
                struct blkif_request_segment *s = &r->seg[k];
                if (s->first_sect > s->last_sect || s->last_sect >= 8)
                        return BLKIF_RSP_ERROR;
                uint32_t n = s->last_sect - s->first_sect + 1u;
                if (sec + n > SECTORS)
                        return BLKIF_RSP_ERROR;
                if (s->gref < sizeof(mb.gref_seen) && !mb.gref_seen[s->gref]++)
                        mb.distinct_grefs++;
                xh_copy_seg_t c = {.len = (uint16_t)(n * 512)};
                if (r->real_op == BLKIF_OP_READ) {
                        c.source.virt = mb.disk + sec * 512;
                        c.dest.foreign = (typeof(c.dest.foreign)){
                            s->gref, (uint16_t)(s->first_sect * 512), FE_DOM};
                        c.flags = GNTCOPY_dest_gref;
                } else {
                        c.dest.virt = mb.disk + sec * 512;
                        c.source.foreign = (typeof(c.source.foreign)){
                            s->gref, (uint16_t)(s->first_sect * 512), FE_DOM};
                        c.flags = GNTCOPY_source_gref;
                }
                if (xh_gnttab_copy(mb.gt, 1, &c) < 0 || c.status != GNTST_okay)
                        return BLKIF_RSP_ERROR;
                sec += n;
        }
        return BLKIF_RSP_OKAY;
}

static int16_t handle(struct mb_req *r)
{
        switch (r->real_op) {
        case BLKIF_OP_FLUSH_DISKCACHE:
        case BLKIF_OP_WRITE_BARRIER:
                mb.flushes++;
                return r->nseg ? do_rw(r) : BLKIF_RSP_OKAY;
        case BLKIF_OP_DISCARD:
                mb.discards++;
                if (r->sector + r->nr > SECTORS)
                        return BLKIF_RSP_ERROR;
                memset(mb.disk + r->sector * 512, 0, r->nr * 512);
                return BLKIF_RSP_OKAY;
        case BLKIF_OP_READ:
        case BLKIF_OP_WRITE:
                if (r->nseg == 0 || (r->op != BLKIF_OP_INDIRECT && r->nseg > 11))
                        return BLKIF_RSP_ERROR;
                if (r->real_op == BLKIF_OP_WRITE && mb.readonly)
                        return BLKIF_RSP_ERROR;
                return do_rw(r);
        default:
                return BLKIF_RSP_EOPNOTSUPP;
        }
}

static void serve_queue(uint32_t qi)
{
        struct mb_queue *q = &mb.q[qi];
        struct blkif_sring *s = q->sring;
        RING_IDX rp = s->req_prod;
        xen_rmb();
        while (q->cons != rp) {
                struct mb_req r = {0};
                int16_t st = decode(q, q->cons++, &r) < 0 ? BLKIF_RSP_ERROR : handle(&r);
                mb.reqs++;
                mb.per_queue[qi]++;
                mb.indirect += r.op == BLKIF_OP_INDIRECT;
                mb.errors += st != BLKIF_RSP_OKAY;
                put_response(q, r.id, r.real_op, st);
        }
        RING_IDX old = s->rsp_prod;
        xen_wmb();
        s->rsp_prod = q->rsp;
        xen_mb();
        if ((RING_IDX)(q->rsp - s->rsp_event) < (RING_IDX)(q->rsp - old))
                xh_evtchn_notify(mb.ev, q->port);
        s->req_event = q->cons + 1; /* always ask: keeps the loop simple */
        xen_mb();
}

static int read_u32(const char *dir, const char *key, uint32_t *out)
{
        uint64_t v;
        int rc = xb_read_uint(mb.xs, XBT_NULL, dir, key, UINT32_MAX, &v);
        *out = (uint32_t)v;
        return rc;
}

static int map_queue(const char *dir, uint32_t order, struct mb_queue *q)
{
        uint32_t refs[MAX_PAGES];
        q->npages = 1u << order;
        for (uint32_t i = 0; i < q->npages; i++) {
                char key[16];
                snprintf(key, sizeof(key), order ? "ring-ref%u" : "ring-ref", i);
                if (read_u32(dir, key, &refs[i]) < 0)
                        return -ENOENT;
        }
        uint32_t port;
        if (read_u32(dir, "event-channel", &port) < 0)
                return -ENOENT;
        if (xh_gnttab_map(mb.gt, FE_DOM, q->npages, refs, true, &q->sring) < 0)
                return -EIO;
        q->size = __RD32((q->npages * 4096u - 64) / req_size());
        q->cons = q->rsp = 0;
        return xh_evtchn_bind_interdomain(mb.ev, FE_DOM, port, &q->port);
}

static int connect_backend(void)
{
        char *proto = NULL;
        uint32_t order = 0;
        xb_read_str(mb.xs, XBT_NULL, FE, "protocol", &proto);
        mb.x32 = proto && !strcmp(proto, "x86_32-abi");
        free(proto);
        if (read_u32(FE, "ring-page-order", &order) < 0)
                order = 0;
        if (read_u32(FE, "multi-queue-num-queues", &mb.nq) < 0)
                mb.nq = 1;
        if (mb.nq > MAX_Q || order > 4)
                return -EINVAL;
        for (uint32_t i = 0; i < mb.nq; i++) {
                char dir[128];
                snprintf(dir, sizeof(dir), "%s/queue-%u", FE, i);
                if (map_queue(mb.nq > 1 ? dir : FE, order, &mb.q[i]) < 0)
                        return -EIO;
        }
        int rc = xb_printf(mb.xs, XBT_NULL, BE, "sectors", "%u", SECTORS);
        rc = rc ?: xb_printf(mb.xs, XBT_NULL, BE, "info", "%u", mb.readonly ? VDISK_READONLY : 0);
        rc = rc ?: xb_printf(mb.xs, XBT_NULL, BE, "sector-size", "512");
        rc = rc ?: xb_printf(mb.xs, XBT_NULL, BE, "feature-flush-cache", "1");
        rc = rc ?: xb_printf(mb.xs, XBT_NULL, BE, "feature-barrier", "1");
        rc = rc ?: xb_printf(mb.xs, XBT_NULL, BE, "feature-discard", "1");
        rc = rc ?: xb_printf(mb.xs, XBT_NULL, BE, "discard-granularity", "4096");
        rc = rc ?: xb_printf(mb.xs, XBT_NULL, BE, "discard-secure", "1");
        rc = rc ?: xb_printf(mb.xs, XBT_NULL, BE, "feature-persistent", "1");
        rc = rc
                 ?: xb_printf(mb.xs, XBT_NULL, BE, "feature-max-indirect-segments", "%u",
                              mb.max_indirect);
        return rc ?: xb_printf(mb.xs, XBT_NULL, BE, "state", "4");
}

static void disconnect_backend(void)
{
        for (uint32_t i = 0; i < mb.nq; i++) {
                xh_evtchn_unbind(mb.ev, mb.q[i].port);
                xh_gnttab_unmap(mb.gt, mb.q[i].sring, mb.q[i].npages);
                mb.q[i].sring = NULL;
        }
        mb.nq = 0;
}

static void set_perms(const char *path, unsigned owner, unsigned reader)
{
        struct xs_permissions p[2] = {{.id = owner, .perms = XS_PERM_NONE},
                                      {.id = reader, .perms = XS_PERM_READ}};
        ck_assert(xs_set_permissions(mb.xs, XBT_NULL, path, p, 2));
}

/* The directories as libxl writes them, the backend already in InitWait. */
static void make_device(void)
{
        xb_rm(mb.xs, XBT_NULL, BE, NULL);
        xb_rm(mb.xs, XBT_NULL, FE, NULL);
        ck_assert_int_eq(xb_printf(mb.xs, XBT_NULL, FE, "backend", "%s", BE), 0);
        set_perms(FE, FE_DOM, 0);
        xb_printf(mb.xs, XBT_NULL, FE, "backend-id", "0");
        xb_printf(mb.xs, XBT_NULL, FE, "virtual-device", "%u", DEVID);
        xb_printf(mb.xs, XBT_NULL, FE, "device-type", "disk");
        xb_printf(mb.xs, XBT_NULL, FE, "trusted", "1");
        xb_printf(mb.xs, XBT_NULL, FE, "protocol", "x86_64-abi");
        xb_printf(mb.xs, XBT_NULL, FE, "state", "1");
        ck_assert_int_eq(xb_printf(mb.xs, XBT_NULL, BE, "frontend", "%s", FE), 0);
        set_perms(BE, 0, FE_DOM);
        xb_printf(mb.xs, XBT_NULL, BE, "frontend-id", "%u", FE_DOM);
        xb_printf(mb.xs, XBT_NULL, BE, "online", "1");
        if (mb.max_queues > 1)
                xb_printf(mb.xs, XBT_NULL, BE, "multi-queue-max-queues", "%u", mb.max_queues);
        if (mb.max_order)
                xb_printf(mb.xs, XBT_NULL, BE, "max-ring-page-order", "%u", mb.max_order);
        xb_printf(mb.xs, XBT_NULL, BE, "state", "2");
}

/* ---- running the CLI as domain 1 ---------------------------------------- */

struct cli_run {
        const char *const *args;
        char out[PATH_MAX + 16];
};

static int exec_cli(void *arg)
{
        struct cli_run *c = arg;
        char bin[PATH_MAX];
        const char *argv[40] = {simhost_bin("pvback-blkfront", bin, sizeof(bin))};
        int n = 1;
        for (; c->args[n - 1] && n < 39; n++)
                argv[n] = c->args[n - 1];
        argv[n] = NULL;
        int fd = open(c->out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(argv[0], (char *const *)argv);
        return 127;
}

/* FE keys at the moment the frontend said Initialised, for the key tests. */
static char fe_keys[1024];

static void snapshot_fe_keys(void)
{
        unsigned n = 0;
        char **e = xs_directory(mb.xs, XBT_NULL, FE, &n);
        fe_keys[0] = '\0';
        for (unsigned i = 0; e && i < n; i++) {
                strcat(fe_keys, e[i]);
                strcat(fe_keys, " ");
        }
        free(e);
}

/* Backend side of one frontend session until the CLI exits; its status. */
static int serve(pid_t pid, int timeout_ms)
{
        uint64_t end = now_ms() + (uint64_t)timeout_ms;
        int be = 2;
        while (now_ms() < end) {
                int st, fe = xb_read_state(mb.xs, FE);
                if (be == 2 && fe == 3) {
                        snapshot_fe_keys();
                        be = connect_backend() == 0 ? 4 : 6;
                        if (be == 6)
                                xb_printf(mb.xs, XBT_NULL, BE, "state", "6");
                } else if (be == 4 && fe >= 5) {
                        disconnect_backend();
                        xb_printf(mb.xs, XBT_NULL, BE, "state", "%d", be = 5);
                } else if (be == 5 && fe == 6) {
                        xb_printf(mb.xs, XBT_NULL, BE, "state", "%d", be = 6);
                }
                struct pollfd pfd = {.fd = xh_evtchn_fd(mb.ev), .events = POLLIN};
                if (poll(&pfd, 1, 5) > 0) {
                        uint32_t port;
                        while (xh_evtchn_pending(mb.ev, &port) == 0)
                                xh_evtchn_unmask(mb.ev, port);
                }
                for (uint32_t q = 0; q < mb.nq; q++)
                        serve_queue(q);
                if (waitpid(pid, &st, WNOHANG) == pid) {
                        if (be == 4)
                                disconnect_backend();
                        return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
                }
        }
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -ETIMEDOUT;
}

static int run_cli(const char *const *args, char *out, size_t outlen)
{
        struct cli_run c = {.args = args};
        snprintf(c.out, sizeof(c.out), "%s/cli.out", host.dir);
        make_device();
        memset(mb.gref_seen, 0, sizeof(mb.gref_seen));
        mb.distinct_grefs = 0;
        mb.reqs = mb.indirect = mb.flushes = mb.discards = mb.errors = 0;
        memset(mb.per_queue, 0, sizeof(mb.per_queue));
        pid_t pid = simhost_spawn(&host, FE_DOM, exec_cli, &c);
        ck_assert_int_gt(pid, 0);
        int rc = serve(pid, 60000);
        FILE *f = fopen(c.out, "r");
        size_t n = f ? fread(out, 1, outlen - 1, f) : 0;
        out[n] = '\0';
        if (f)
                fclose(f);
        return rc;
}

static void setup(void)
{
        ck_assert_int_eq(simhost_start(&host), 0);
        ck_assert_int_eq(simhost_domain_create(&host, FE_DOM), 0);
        simhost_enter(&host, 0);
        const struct xh_provider *p;
        char err[256];
        memset(&mb, 0, sizeof(mb));
        ck_assert_int_eq(xh_provider_select("sim", &p, err, sizeof(err)), 0);
        mb.xs = xs_open(0);
        ck_assert_ptr_nonnull(mb.xs);
        ck_assert_int_eq(xh_gnttab_open(p, &mb.gt), 0);
        ck_assert_int_eq(xh_evtchn_open(p, &mb.ev), 0);
        mb.disk = calloc(SECTORS, 512);
        mb.max_queues = MAX_Q;
        mb.max_order = 4;
        mb.max_indirect = 256;
}

static void teardown(void)
{
        if (mb.ev)
                xh_evtchn_close(mb.ev);
        if (mb.gt)
                xh_gnttab_close(mb.gt);
        if (mb.xs)
                xs_close(mb.xs);
        free(mb.disk);
        simhost_stop(&host);
}

/* ---- tests -------------------------------------------------------------- */

/* Linux blkfront against a one-queue, one-page backend wrote exactly these
 * (phaseB-xenstore.txt, /local/domain/6/device/vbd/51712). */
START_TEST(keys_like_linux_single_ring)
{
        char out[8192];
        mb.max_queues = 1;
        mb.max_order = 0;
        const char *args[] = {"info", "--devid", "51712", NULL};
        ck_assert_int_eq(run_cli(args, out, sizeof(out)), 0);
        ck_assert_str_eq(fe_keys, "backend backend-id virtual-device device-type trusted protocol "
                                  "state ring-ref event-channel feature-persistent ");
        ck_assert_ptr_nonnull(
            strstr(out, "queues 1 (backend max 1), ring-page-order 0 (32 slots)"));
        ck_assert_int_eq(xb_read_state(mb.xs, FE), XenbusStateClosed);
}
END_TEST

START_TEST(keys_multi_queue_multi_page)
{
        char out[8192], *v = NULL;
        const char *args[] = {"info",
                              "--queues",
                              "3",
                              "--ring-order",
                              "2",
                              "--abi",
                              "x86_32-abi",
                              "--large-sectors",
                              "--no-persistent",
                              NULL};
        ck_assert_int_eq(run_cli(args, out, sizeof(out)), 0);
        ck_assert_str_eq(fe_keys, "backend backend-id virtual-device device-type trusted protocol "
                                  "state ring-page-order multi-queue-num-queues queue-0 queue-1 "
                                  "queue-2 feature-persistent feature-large-sector-size ");
        /* The run left its keys; queue-1 was complete and the ABI was 32-bit. */
        ck_assert_int_eq(xb_read_str(mb.xs, XBT_NULL, FE, "protocol", &v), 0);
        ck_assert_str_eq(v, "x86_32-abi");
        free(v);
        ck_assert(
            xb_exists(mb.xs, XBT_NULL, "/local/domain/1/device/vbd/51712/queue-1", "ring-ref3"));
        ck_assert(
            !xb_exists(mb.xs, XBT_NULL, "/local/domain/1/device/vbd/51712/queue-1", "ring-ref4"));
        ck_assert(xb_exists(mb.xs, XBT_NULL, "/local/domain/1/device/vbd/51712/queue-2",
                            "event-channel"));
        ck_assert_ptr_nonnull(
            strstr(out, "queues 3 (backend max 4), ring-page-order 2 (128 slots)"));
        ck_assert_ptr_nonnull(strstr(out, "persistent grants off"));
}
END_TEST

/* queues × ring order × indirect × persistent × ABI, verified by the CLI and
 * by reading the mini backend's disk directly. */
START_TEST(verify_feature_matrix)
{
        char out[16384];
        int q4 = _i & 1, o4 = _i & 2, ind = _i & 4, pers = _i & 8, x32 = _i & 16;
        char gen[16];
        snprintf(gen, sizeof(gen), "%d", 100 + _i);
        const char *args[24] = {"verify",
                                "--range",
                                "0:8192",
                                "--bs",
                                "256K",
                                "--depth",
                                "8",
                                "--generation",
                                gen,
                                "--queues",
                                q4 ? "4" : "1",
                                "--ring-order",
                                o4 ? "4" : "0",
                                "--abi",
                                x32 ? "x86_32-abi" : "x86_64-abi"};
        int n = 15;
        if (ind) {
                args[n++] = "--indirect-segs";
                args[n++] = "256";
        } else {
                args[n++] = "--no-indirect";
        }
        if (!pers)
                args[n++] = "--no-persistent";
        args[n] = NULL;
        int rc = run_cli(args, out, sizeof(out));
        ck_assert_msg(rc == 0, "combination %d: exit %d\n%s", _i, rc, out);
        ck_assert_ptr_nonnull(strstr(out, "8192 checked"));
        for (uint64_t s = 0; s < SECTORS; s++)
                ck_assert_msg(bf_tag_check(mb.disk + s * 512, s, 100u + (unsigned)_i, NULL, NULL) ==
                                  BF_TAG_OK,
                              "sector %lu on the backend's disk", (unsigned long)s);
        ck_assert_msg((mb.indirect > 0) == (ind != 0), "indirect requests %lu",
                      (unsigned long)mb.indirect);
        ck_assert_uint_ge(mb.flushes, 1);
        if (q4)
                for (int q = 0; q < 4; q++)
                        ck_assert_uint_gt(mb.per_queue[q], 0);
        /* Persistent grants are granted once and reused; otherwise every page
         * moved (2 × 1024 data pages, write then read) takes a fresh grant. */
        const char *g = strstr(out, "grants: ");
        unsigned long granted = 0;
        ck_assert_ptr_nonnull(g);
        ck_assert_int_eq(sscanf(g, "grants: %lu granted", &granted), 1);
        if (pers)
                ck_assert_uint_lt(granted, 2u * 8 * 260 * (q4 ? 4 : 1) + 64);
        else
                ck_assert_uint_ge(granted, 2048);
        ck_assert_uint_le(mb.distinct_grefs, granted);
}
END_TEST

START_TEST(misaligned_buffers)
{
        char out[16384];
        const char *args[] = {"verify",        "--range", "3:2045",  "--bs", "2048",
                              "--page-offset", "3",       "--depth", "4",    NULL};
        int rc = run_cli(args, out, sizeof(out));
        ck_assert_msg(rc == 0, "exit %d\n%s", rc, out);
        ck_assert_ptr_nonnull(strstr(out, "2045 checked"));
}
END_TEST

START_TEST(verify_reports_mismatches)
{
        char out[16384];
        const char *w[] = {"verify", "--range", "0:64", "--write-only", NULL};
        ck_assert_int_eq(run_cli(w, out, sizeof(out)), 0);
        bf_tag_fill(mb.disk + 10 * 512, 10, 999); /* stale */
        mb.disk[20 * 512 + 100] ^= 0xff;          /* corrupt */
        const char *r[] = {"verify", "--range", "0:64", "--check-only", NULL};
        ck_assert_int_eq(run_cli(r, out, sizeof(out)), 1);
        ck_assert_ptr_nonnull(strstr(out, "sector 10: stale generation (generation 999"));
        ck_assert_ptr_nonnull(strstr(out, "sector 20: corrupt"));
        ck_assert_ptr_nonnull(strstr(out, "2 mismatches"));
}
END_TEST

START_TEST(flush_and_discard)
{
        char out[8192];
        const char *w[] = {"verify", "--range", "0:256", NULL};
        ck_assert_int_eq(run_cli(w, out, sizeof(out)), 0);
        const char *f[] = {"flush", NULL};
        ck_assert_int_eq(run_cli(f, out, sizeof(out)), 0);
        ck_assert_uint_eq(mb.flushes, 1);
        const char *d[] = {"discard", "--range", "64:128", "--secure", NULL};
        ck_assert_int_eq(run_cli(d, out, sizeof(out)), 0);
        ck_assert_uint_eq(mb.discards, 1);
        const char *z[] = {"verify", "--range", "64:128", "--expect-zero", NULL};
        ck_assert_int_eq(run_cli(z, out, sizeof(out)), 0);
        const char *k[] = {"verify", "--range", "0:64", "--check-only", NULL};
        ck_assert_int_eq(run_cli(k, out, sizeof(out)), 0);
}
END_TEST

START_TEST(load_reports_figures)
{
        char out[8192];
        const char *a[] = {"load", "--rw", "mix", "--count", "2000", "--depth", "16", NULL};
        int rc = run_cli(a, out, sizeof(out));
        ck_assert_msg(rc == 0, "exit %d\n%s", rc, out);
        ck_assert_ptr_nonnull(strstr(out, "load: 2000 I/Os"));
        ck_assert_ptr_nonnull(strstr(out, "persistent-grant reuse"));
        ck_assert_uint_eq(mb.reqs, 2000);
}
END_TEST

/* load sends what one CPU submits to that CPU's queue (blk-mq's mapping);
 * pinned to one CPU, every request of a 4-queue device arrives on one. */
START_TEST(load_keeps_to_the_cpu_queue)
{
        char out[8192];
        cpu_set_t was, one;
        int cpu = sched_getcpu();
        ck_assert_int_ge(cpu, 0);
        ck_assert_int_eq(sched_getaffinity(0, sizeof(was), &was), 0);
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        ck_assert_int_eq(sched_setaffinity(0, sizeof(one), &one), 0);
        const char *a[] = {"load", "--queues", "4", "--count", "2000", "--depth", "16", NULL};
        int rc = run_cli(a, out, sizeof(out));
        sched_setaffinity(0, sizeof(was), &was);
        ck_assert_msg(rc == 0, "exit %d\n%s", rc, out);
        ck_assert_uint_eq(mb.reqs, 2000);
        for (int q = 0; q < 4; q++)
                ck_assert_msg(mb.per_queue[q] == (q == cpu % 4 ? 2000u : 0u),
                              "queue %d had %lu requests (the CPU's is %d)", q,
                              (unsigned long)mb.per_queue[q], cpu % 4);
}
END_TEST

struct hostile_case {
        const char *cls;
        const char *want; /* line fragment */
};
static const struct hostile_case hostile_cases[] = {
    {"bad-op", "status -2 (eopnotsupp)"},
    {"zero-segments", "status -1 (error)"},
    {"too-many-segments", "status -1 (error)"},
    {"first-gt-last", "status -1 (error)"},
    {"last-sect-ge8", "status -1 (error)"},
    {"out-of-range", "status -1 (error)"},
    {"bad-gref", "status -1 (error)"},
    {"foreign-gref", "status -1 (error)"},
    {"too-many-indirect-pages", "status -1 (error)"},
};

START_TEST(hostile_classes)
{
        char out[8192];
        const struct hostile_case *c = &hostile_cases[_i];
        const char *a[] = {"hostile", "--class", c->cls, "--timeout", "3000", NULL};
        int rc = run_cli(a, out, sizeof(out));
        ck_assert_msg(rc == 0, "%s: exit %d\n%s", c->cls, rc, out);
        ck_assert_msg(strstr(out, c->want) != NULL, "%s:\n%s", c->cls, out);
}
END_TEST

START_TEST(hostile_write_on_readonly)
{
        char out[8192];
        mb.readonly = true;
        const char *a[] = {"hostile", "--class", "write-on-readonly", NULL};
        ck_assert_int_eq(run_cli(a, out, sizeof(out)), 0);
        ck_assert_ptr_nonnull(strstr(out, "status -1 (error)"));
        ck_assert_ptr_nonnull(strstr(out, "(read-only)"));
}
END_TEST

/* The mini backend never notices req_prod running away: "silent" is what an
 * --expect without it must turn into exit 1. */
START_TEST(hostile_expectation_enforced)
{
        char out[8192];
        const char *a[] = {"hostile", "--class", "bad-op", "--expect", "error", NULL};
        ck_assert_int_eq(run_cli(a, out, sizeof(out)), 1);
        ck_assert_ptr_nonnull(strstr(out, "outcome 'eopnotsupp' is not one of error"));
}
END_TEST

static Suite *blkfront_minibe_suite(void)
{
        Suite *s = suite_create("blkfront_minibe");
        TCase *keys = tcase_create("keys");
        tcase_add_checked_fixture(keys, setup, teardown);
        tcase_set_timeout(keys, 60);
        tcase_add_test(keys, keys_like_linux_single_ring);
        tcase_add_test(keys, keys_multi_queue_multi_page);
        suite_add_tcase(s, keys);
        TCase *data = tcase_create("data");
        tcase_add_checked_fixture(data, setup, teardown);
        tcase_set_timeout(data, 120);
        tcase_add_loop_test(data, verify_feature_matrix, 0, 32);
        tcase_add_test(data, misaligned_buffers);
        tcase_add_test(data, verify_reports_mismatches);
        tcase_add_test(data, flush_and_discard);
        tcase_add_test(data, load_reports_figures);
        tcase_add_test(data, load_keeps_to_the_cpu_queue);
        suite_add_tcase(s, data);
        TCase *h = tcase_create("hostile");
        tcase_add_checked_fixture(h, setup, teardown);
        tcase_set_timeout(h, 60);
        tcase_add_loop_test(h, hostile_classes, 0,
                            sizeof(hostile_cases) / sizeof(hostile_cases[0]));
        tcase_add_test(h, hostile_write_on_readonly);
        tcase_add_test(h, hostile_expectation_enforced);
        suite_add_tcase(s, h);
        return s;
}

PV_CHECK_MAIN(blkfront_minibe_suite)
