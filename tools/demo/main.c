/* pvback-demo: a two-process demonstration of the hypervisor seam. `front`
 * (in a domU) shares a ring and payload pages and streams a generated payload;
 * `back` (in dom0) finds them through xenstore, maps the ring, grant-copies
 * every page out and checks the digest. Not a backend: pvbackd is. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo_ring.h"
#include "demo_tcp.h"
#include "log.h"

struct demo_stats {
        uint64_t bytes;
        uint64_t copy_calls;
        uint64_t copy_segs;
        uint64_t notifies;
        uint64_t wakeups;
};

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int xs_printf(struct xs_handle *xs, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static int xs_printf(struct xs_handle *xs, const char *path, const char *fmt, ...)
{
        char val[512];
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(val, sizeof(val), fmt, ap);
        va_end(ap);
        if (n < 0 || n >= (int)sizeof(val))
                return -EINVAL;
        return xs_write(xs, XBT_NULL, path, val, (unsigned)n) ? 0 : -errno;
}

/* Reads an unsigned key written by the other side; never trusts its form. */
static int xs_read_u64(struct xs_handle *xs, const char *path, uint64_t max, uint64_t *out)
{
        char *val = xs_read(xs, XBT_NULL, path, NULL);
        char *end = NULL;
        if (!val)
                return -errno;
        errno = 0;
        unsigned long long v = strtoull(val, &end, 0);
        int bad = errno || end == val || *end || v > max;
        free(val);
        if (bad)
                return -EINVAL;
        *out = v;
        return 0;
}

/* Blocks until the port fires (or timeout_ms passes), then unmasks it. */
static int wait_event(struct xh_evtchn *ev, int timeout_ms, struct demo_stats *st)
{
        struct pollfd pfd = {.fd = xh_evtchn_fd(ev), .events = POLLIN};
        int n = poll(&pfd, 1, timeout_ms);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ETIMEDOUT;
        uint32_t port;
        int rc = xh_evtchn_pending(ev, &port);
        if (rc == -EAGAIN)
                return 0;
        if (rc < 0)
                return rc;
        st->wakeups++;
        return xh_evtchn_unmask(ev, port);
}

static void fill_payload(uint64_t *state, unsigned char *page, uint32_t len)
{
        for (uint32_t i = 0; i < len; i += 8) {
                uint64_t x = *state;
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *state = x;
                memcpy(page + i, &x, len - i < 8 ? len - i : 8);
        }
}

/* ---- frontend ----------------------------------------------------------- */

struct front {
        struct xs_handle *xs;
        struct xh_gntshr *shr;
        struct xh_evtchn *ev;
        void *ring_page, *data;
        uint32_t ring_ref, data_refs[DEMO_DATA_PAGES], port;
        demo_front_ring_t ring;
        char dir[128];
};

static int front_publish(struct front *f, uint64_t total)
{
        char path[256], refs[DEMO_DATA_PAGES * 12];
        size_t off = 0;
        for (int i = 0; i < DEMO_DATA_PAGES; i++)
                off += (size_t)snprintf(refs + off, sizeof(refs) - off, "%s%u", i ? "," : "",
                                        f->data_refs[i]);
        int rc = 0;
        snprintf(path, sizeof(path), "%s/ring-ref", f->dir);
        rc = rc ?: xs_printf(f->xs, path, "%u", f->ring_ref);
        snprintf(path, sizeof(path), "%s/event-channel", f->dir);
        rc = rc ?: xs_printf(f->xs, path, "%u", f->port);
        snprintf(path, sizeof(path), "%s/bytes", f->dir);
        rc = rc ?: xs_printf(f->xs, path, "%" PRIu64, total);
        snprintf(path, sizeof(path), "%s/data-refs", f->dir);
        rc = rc ?: (xs_write(f->xs, XBT_NULL, path, refs, (unsigned)off) ? 0 : -errno);
        snprintf(path, sizeof(path), "%s/state", f->dir);
        rc = rc ?: xs_printf(f->xs, path, "ready");
        return rc;
}

static int front_stream(struct front *f, uint64_t total, uint64_t *digest, struct demo_stats *st)
{
        uint64_t sent = 0, prng = 0x9e3779b97f4a7c15ULL;
        uint16_t free_ids[DEMO_DATA_PAGES];
        int nfree = DEMO_DATA_PAGES;
        for (int i = 0; i < DEMO_DATA_PAGES; i++)
                free_ids[i] = (uint16_t)i;

        *digest = DEMO_DIGEST_INIT;
        while (sent < total || nfree < DEMO_DATA_PAGES) {
                while (sent < total && nfree > 0 && !RING_FULL(&f->ring)) {
                        uint16_t id = free_ids[--nfree];
                        uint32_t len = total - sent < XH_PAGE_SIZE ? (uint32_t)(total - sent)
                                                                   : XH_PAGE_SIZE;
                        unsigned char *page = (unsigned char *)f->data + (size_t)id * XH_PAGE_SIZE;
                        fill_payload(&prng, page, len);
                        *digest = demo_digest(*digest, page, len);
                        struct demo_req *req = RING_GET_REQUEST(&f->ring, f->ring.req_prod_pvt);
                        req->gref = f->data_refs[id];
                        req->id = id;
                        req->len = (uint16_t)(len == XH_PAGE_SIZE ? 0 : len); /* 0 = full page */
                        f->ring.req_prod_pvt++;
                        sent += len;
                }
                int notify;
                RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->ring, notify);
                if (notify) {
                        xh_evtchn_notify(f->ev, f->port);
                        st->notifies++;
                }
                int more;
                do {
                        RING_IDX rp = f->ring.sring->rsp_prod;
                        xen_rmb();
                        for (; f->ring.rsp_cons != rp; f->ring.rsp_cons++) {
                                struct demo_rsp rsp = *RING_GET_RESPONSE(&f->ring,
                                                                         f->ring.rsp_cons);
                                if (rsp.status != 0 || rsp.id >= DEMO_DATA_PAGES) {
                                        fprintf(stderr, "front: bad response id %u status %d\n",
                                                rsp.id, rsp.status);
                                        return -EIO;
                                }
                                free_ids[nfree++] = rsp.id;
                        }
                        RING_FINAL_CHECK_FOR_RESPONSES(&f->ring, more);
                } while (more);
                if (nfree == 0 || sent == total) {
                        if (nfree == DEMO_DATA_PAGES && sent == total)
                                break;
                        int rc = wait_event(f->ev, 10000, st);
                        if (rc < 0)
                                return rc;
                }
        }
        st->bytes = sent;
        return 0;
}

static int run_front(uint16_t backend, uint64_t total)
{
        const struct xh_provider *prov;
        char err[512], path[256];
        struct front f = {0};
        struct demo_stats st = {0};
        uint64_t digest;
        int rc;

        if ((rc = xh_provider_select(NULL, &prov, err, sizeof(err))) < 0) {
                fprintf(stderr, "front: %s\n", err);
                return 1;
        }
        f.xs = xs_open(0);
        if (!f.xs) {
                fprintf(stderr, "front: cannot open xenstore: %s\n", strerror(errno));
                return 1;
        }
        snprintf(f.dir, sizeof(f.dir), "%s", DEMO_XS_DIR);
        if ((rc = xh_gntshr_open(prov, &f.shr)) < 0 || (rc = xh_evtchn_open(prov, &f.ev)) < 0 ||
            (rc = xh_gntshr_share(f.shr, backend, 1, &f.ring_ref, true, &f.ring_page)) < 0 ||
            (rc = xh_gntshr_share(f.shr, backend, DEMO_DATA_PAGES, f.data_refs, false, &f.data)) <
                    0 ||
            (rc = xh_evtchn_bind_unbound(f.ev, backend, &f.port)) < 0) {
                fprintf(stderr, "front: setting up the shared ring failed: %s\n", strerror(-rc));
                return 1;
        }
        SHARED_RING_INIT((demo_sring_t *)f.ring_page);
        FRONT_RING_INIT(&f.ring, (demo_sring_t *)f.ring_page, XH_PAGE_SIZE);
        if ((rc = front_publish(&f, total)) < 0) {
                fprintf(stderr, "front: publishing to xenstore failed: %s\n", strerror(-rc));
                return 1;
        }
        double t0 = now_s();
        rc = front_stream(&f, total, &digest, &st);
        double dt = now_s() - t0;
        if (rc < 0) {
                fprintf(stderr, "front: streaming failed: %s\n", strerror(-rc));
                return 1;
        }
        snprintf(path, sizeof(path), "%s/digest", f.dir);
        xs_printf(f.xs, path, "%016" PRIx64, digest);
        printf("front: sent %" PRIu64 " bytes in %.2f s (%.0f MiB/s), digest %016" PRIx64
               ", %" PRIu64 " notifications, %" PRIu64 " wake-ups\n",
               st.bytes, dt, st.bytes / dt / 1048576.0, digest, st.notifies, st.wakeups);
        xh_gntshr_unshare(f.shr, f.data, DEMO_DATA_PAGES);
        xh_gntshr_unshare(f.shr, f.ring_page, 1);
        xh_evtchn_close(f.ev);
        xh_gntshr_close(f.shr);
        xs_close(f.xs);
        return 0;
}

/* ---- backend ------------------------------------------------------------ */

struct back {
        struct xs_handle *xs;
        struct xh_gnttab *gt;
        struct xh_evtchn *ev;
        void *ring_page;
        uint32_t port;
        uint16_t fe;
        demo_back_ring_t ring;
        char dir[128];
        unsigned char *buf;
};

static int back_wait_ready(struct back *b, int timeout_ms)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/state", b->dir);
        if (!xs_watch(b->xs, path, "demo"))
                return -errno;
        for (double end = now_s() + timeout_ms / 1000.0; now_s() < end;) {
                char *v = xs_read(b->xs, XBT_NULL, path, NULL);
                int ready = v && strcmp(v, "ready") == 0;
                free(v);
                if (ready)
                        return 0;
                struct pollfd pfd = {.fd = xs_fileno(b->xs), .events = POLLIN};
                if (poll(&pfd, 1, 200) > 0) {
                        unsigned int n;
                        free(xs_read_watch(b->xs, &n));
                }
        }
        return -ETIMEDOUT;
}

/* Parse, then act: every request is copied out of the shared ring and
 * validated before its grant goes into the copy batch. */
static int back_drain(struct back *b, struct demo_stats *st, uint64_t *digest, uint64_t *left)
{
        xh_copy_seg_t segs[DEMO_DATA_PAGES];
        struct demo_req reqs[DEMO_DATA_PAGES];
        unsigned n = 0;
        RING_IDX rp = b->ring.sring->req_prod;
        xen_rmb();
        if (rp - b->ring.req_cons > RING_SIZE(&b->ring))
                return -EPROTO;
        while (b->ring.req_cons != rp && n < DEMO_DATA_PAGES) {
                struct demo_req *r = &reqs[n];
                RING_COPY_REQUEST(&b->ring, b->ring.req_cons, r);
                b->ring.req_cons++;
                uint32_t len = r->len ? r->len : XH_PAGE_SIZE;
                if (r->len > XH_PAGE_SIZE || len > *left)
                        return -EPROTO;
                *left -= len;
                segs[n] = (xh_copy_seg_t){
                        .source.foreign = {.ref = r->gref, .offset = 0, .domid = b->fe},
                        .dest.virt = b->buf + (size_t)n * XH_PAGE_SIZE,
                        .len = (uint16_t)len,
                        .flags = GNTCOPY_source_gref,
                };
                n++;
        }
        if (n == 0)
                return 0;
        int rc = xh_gnttab_copy(b->gt, n, segs);
        st->copy_calls++;
        st->copy_segs += n;
        for (unsigned i = 0; i < n; i++) {
                int16_t status = rc < 0 ? -1 : segs[i].status;
                if (status == GNTST_okay) {
                        *digest = demo_digest(*digest, segs[i].dest.virt, segs[i].len);
                        st->bytes += segs[i].len;
                }
                struct demo_rsp *rsp = RING_GET_RESPONSE(&b->ring, b->ring.rsp_prod_pvt);
                rsp->id = reqs[i].id;
                rsp->status = status;
                b->ring.rsp_prod_pvt++;
        }
        int notify;
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->ring, notify);
        if (notify) {
                xh_evtchn_notify(b->ev, b->port);
                st->notifies++;
        }
        return (int)n;
}

static int back_connect(struct back *b, uint64_t *total)
{
        char path[256];
        uint64_t ring_ref, port;
        int rc;
        snprintf(path, sizeof(path), "%s/ring-ref", b->dir);
        if ((rc = xs_read_u64(b->xs, path, UINT32_MAX, &ring_ref)) < 0)
                return rc;
        snprintf(path, sizeof(path), "%s/event-channel", b->dir);
        if ((rc = xs_read_u64(b->xs, path, UINT32_MAX, &port)) < 0)
                return rc;
        snprintf(path, sizeof(path), "%s/bytes", b->dir);
        if ((rc = xs_read_u64(b->xs, path, 1ULL << 40, total)) < 0)
                return rc;
        uint32_t ref = (uint32_t)ring_ref;
        if ((rc = xh_gnttab_map(b->gt, b->fe, 1, &ref, true, &b->ring_page)) < 0)
                return rc;
        BACK_RING_INIT(&b->ring, (demo_sring_t *)b->ring_page, XH_PAGE_SIZE);
        return xh_evtchn_bind_interdomain(b->ev, b->fe, (uint32_t)port, &b->port);
}

static int back_check_digest(struct back *b, uint64_t digest)
{
        char path[256];
        uint64_t theirs = 0;
        snprintf(path, sizeof(path), "%s/digest", b->dir);
        for (int i = 0; i < 500; i++) {
                char *v = xs_read(b->xs, XBT_NULL, path, NULL);
                if (v) {
                        theirs = strtoull(v, NULL, 16);
                        free(v);
                        return theirs == digest ? 0 : -EBADMSG;
                }
                struct timespec ts = {0, 10 * 1000 * 1000};
                nanosleep(&ts, NULL);
        }
        return -ETIMEDOUT;
}

static int run_back(uint16_t fe)
{
        const struct xh_provider *prov;
        char err[512];
        struct back b = {.fe = fe};
        struct demo_stats st = {0};
        uint64_t total = 0, left, digest = DEMO_DIGEST_INIT;
        int rc;

        if ((rc = xh_provider_select(NULL, &prov, err, sizeof(err))) < 0) {
                fprintf(stderr, "back: %s\n", err);
                return 1;
        }
        b.xs = xs_open(0);
        b.buf = malloc((size_t)DEMO_DATA_PAGES * XH_PAGE_SIZE);
        if (!b.xs || !b.buf || xh_gnttab_open(prov, &b.gt) < 0 || xh_evtchn_open(prov, &b.ev) < 0) {
                fprintf(stderr, "back: cannot open xenstore or the hypervisor\n");
                return 1;
        }
        snprintf(b.dir, sizeof(b.dir), "/local/domain/%u/%s", fe, DEMO_XS_DIR);
        if ((rc = back_wait_ready(&b, 30000)) < 0 || (rc = back_connect(&b, &total)) < 0) {
                fprintf(stderr, "back: connecting to domain %u failed: %s\n", fe, strerror(-rc));
                return 1;
        }
        printf("back: connected to domain %u (ring mapped, event channel %u bound)\n", fe, b.port);
        left = total;
        double t0 = now_s();
        while (st.bytes < total) {
                int n = back_drain(&b, &st, &digest, &left);
                if (n < 0) {
                        fprintf(stderr, "back: domain %u broke the protocol; disconnecting\n", fe);
                        return 1;
                }
                if (n > 0)
                        continue;
                int more;
                RING_FINAL_CHECK_FOR_REQUESTS(&b.ring, more);
                if (!more && (rc = wait_event(b.ev, 10000, &st)) < 0) {
                        fprintf(stderr, "back: waiting for domain %u: %s\n", fe, strerror(-rc));
                        return 1;
                }
        }
        double dt = now_s() - t0;
        rc = back_check_digest(&b, digest);
        printf("back: received %" PRIu64 " bytes in %.2f s (%.0f MiB/s); %" PRIu64
               " grant-copy calls (%.1f segments each), %" PRIu64 " notifications, %" PRIu64
               " wake-ups\n",
               st.bytes, dt, st.bytes / dt / 1048576.0, st.copy_calls,
               st.copy_calls ? (double)st.copy_segs / st.copy_calls : 0.0, st.notifies,
               st.wakeups);
        printf("back: payload digest %016" PRIx64 " %s\n", digest,
               rc == 0 ? "matches the frontend's: verified" : "DOES NOT MATCH");
        xh_evtchn_unbind(b.ev, b.port);
        xh_gnttab_unmap(b.gt, b.ring_page, 1);
        xh_evtchn_close(b.ev);
        xh_gnttab_close(b.gt);
        xs_close(b.xs);
        free(b.buf);
        return rc == 0 ? 0 : 1;
}

static const char usage[] =
        "Usage: pvback-demo front --backend-domid N --bytes SIZE\n"
        "       pvback-demo back --frontend-domid N\n"
        "       pvback-demo tcp-send --to A.B.C.D:PORT --bytes SIZE\n"
        "       pvback-demo tcp-recv --listen A.B.C.D:PORT [--bytes SIZE] [--digest HEX]\n"
        "Streams SIZE bytes (suffix K, M or G) from a frontend domain to a backend domain\n"
        "through shared pages, grant copy and an event channel, and checks the digest.\n"
        "Run each side as its domain, e.g. eval \"$(pvback-sim env --domid 1)\".\n"
        "tcp-send/tcp-recv stream the same generated payload over TCP and compare\n"
        "digests, to verify a transfer through a vif.\n";

static uint64_t parse_size(const char *s)
{
        char *end = NULL;
        uint64_t v = strtoull(s, &end, 10);
        switch (*end) {
        case 'G':
                v <<= 10;
                /* fall through */
        case 'M':
                v <<= 10;
                /* fall through */
        case 'K':
                v <<= 10;
                break;
        default:
                break;
        }
        return v;
}

int main(int argc, char **argv)
{
        static const struct option opts[] = {{"backend-domid", required_argument, NULL, 'b'},
                                             {"frontend-domid", required_argument, NULL, 'f'},
                                             {"bytes", required_argument, NULL, 'n'},
                                             {"to", required_argument, NULL, 't'},
                                             {"listen", required_argument, NULL, 'l'},
                                             {"digest", required_argument, NULL, 'd'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
        long backend = 0, fe = -1;
        uint64_t bytes = 64ULL << 20;
        const char *to = NULL, *listen_on = NULL, *digest = NULL;
        bool bytes_given = false;
        int c;
        if (argc < 2) {
                fputs(usage, stderr);
                return 2;
        }
        optind = 2;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        backend = strtol(optarg, NULL, 10);
                        break;
                case 'f':
                        fe = strtol(optarg, NULL, 10);
                        break;
                case 'n':
                        bytes = parse_size(optarg);
                        bytes_given = true;
                        break;
                case 't':
                        to = optarg;
                        break;
                case 'l':
                        listen_on = optarg;
                        break;
                case 'd':
                        digest = optarg;
                        break;
                case 'h':
                        fputs(usage, stdout);
                        return 0;
                default:
                        fputs(usage, stderr);
                        return 2;
                }
        }
        if (strcmp(argv[1], "front") == 0 && bytes > 0 && backend >= 0 && backend < 0x7FF0)
                return run_front((uint16_t)backend, bytes);
        if (strcmp(argv[1], "back") == 0 && fe > 0 && fe < 0x7FF0)
                return run_back((uint16_t)fe);
        if (strcmp(argv[1], "tcp-send") == 0 && to && bytes > 0)
                return demo_tcp_send(to, bytes);
        if (strcmp(argv[1], "tcp-recv") == 0 && listen_on)
                return demo_tcp_recv(listen_on, bytes_given ? bytes : 0, digest);
        fputs(usage, stderr);
        return 2;
}
