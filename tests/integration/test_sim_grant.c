/* Grant tables on the simulated host, across two processes acting as two
 * domains: dom5 (a frontend, spawned, driven over pipes) shares pages; this
 * process acts as dom0 and copies, maps and is refused with Xen's exact
 * status codes and gntdev's errnos. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "sim_dom.h"
#include "simhost.h"
#include "simpeer.h"

#define FRONT  5
#define NSLOTS 16

/* ---- dom5: a scripted frontend ------------------------------------------- */
enum { A_SHARE = 1, A_FILL, A_DIGEST, A_UNSHARE, A_FLAGS, A_QUIT };
struct cmd {
        uint32_t op, a, b, c;
};
struct rep {
        int32_t rc;
        uint32_t n;
        uint32_t v[64];
};

static uint8_t pattern(uint32_t seed, size_t i)
{
        return (uint8_t)(seed * 131u + i * 7u + (i >> 12));
}

static uint32_t digest(const uint8_t *p, size_t n)
{
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < n; i++)
                h = (h ^ p[i]) * 16777619u;
        return h;
}

static uint32_t pattern_digest(uint32_t seed, size_t n)
{
        uint8_t *b = malloc(n);
        for (size_t i = 0; i < n; i++)
                b[i] = pattern(seed, i);
        uint32_t h = digest(b, n);
        free(b);
        return h;
}

struct slot {
        uint8_t *addr;
        uint32_t count;
};

static void agent_do(struct xh_gntshr *s, struct slot *slots, const struct cmd *c, struct rep *r)
{
        struct slot *sl = c->a < NSLOTS ? &slots[c->a] : NULL;
        memset(r, 0, sizeof(*r));
        switch (c->op) {
        case A_SHARE: {
                uint32_t i = 0;
                while (i < NSLOTS && slots[i].addr)
                        i++;
                void *addr;
                r->rc = i == NSLOTS || c->a > 64
                            ? -ENOSPC
                            : xh_gntshr_share(s, c->c, c->a, r->v, c->b, &addr);
                if (r->rc == 0) {
                        slots[i].addr = addr;
                        slots[i].count = c->a;
                        r->n = i;
                }
                break;
        }
        case A_FILL:
                for (size_t i = 0; sl && i < (size_t)sl->count * 4096; i++)
                        sl->addr[i] = pattern(c->b, i);
                break;
        case A_DIGEST:
                r->v[0] = sl ? digest(sl->addr, (size_t)sl->count * 4096) : 0;
                break;
        case A_UNSHARE:
                r->rc = sl ? xh_gntshr_unshare(s, sl->addr, sl->count) : -EINVAL;
                if (r->rc == 0)
                        sl->addr = NULL;
                break;
        case A_FLAGS: {
                struct sim_dom *d;
                const char *dir = getenv("PVBACK_SIM_DIR");
                r->rc = sim_dom_get(dir, FRONT, &d);
                if (r->rc == 0) {
                        r->v[0] = d->gt->shared[c->a].flags;
                        r->v[1] = d->gt->hdr.h.refs_used;
                }
                break;
        }
        default:
                r->rc = -EINVAL;
        }
}

static int agent_main(struct simpeer *peer, void *arg)
{
        const struct xh_provider *p;
        struct xh_gntshr *s;
        struct slot slots[NSLOTS] = {0};
        char err[256];
        struct cmd c;
        struct rep r;

        if (xh_provider_select(NULL, &p, err, sizeof(err)) < 0 || xh_gntshr_open(p, &s) < 0)
                return 2;
        while (simpeer_next(peer, &c, sizeof(c)) && c.op != A_QUIT) {
                agent_do(s, slots, &c, &r);
                if (!simpeer_reply(peer, &r, sizeof(r)))
                        break;
        }
        xh_gntshr_close(s);
        return 0;
}

/* ---- dom0: this process -------------------------------------------------- */
static struct simhost host;
static struct simpeer front;
static struct xh_gnttab *gt;

static struct rep ask(uint32_t op, uint32_t a, uint32_t b, uint32_t c)
{
        struct cmd cm = {op, a, b, c};
        struct rep r;
        ck_assert_int_eq(simpeer_ask(&front, &cm, sizeof(cm), &r, sizeof(r)), 0);
        return r;
}

/* dom5 shares `count` pages with `to`, filled from `seed`; returns the slot. */
static uint32_t share(uint32_t count, bool writable, uint32_t to, uint32_t seed, uint32_t *refs)
{
        struct rep r = ask(A_SHARE, count, writable, to);
        ck_assert_int_eq(r.rc, 0);
        memcpy(refs, r.v, count * sizeof(uint32_t));
        ask(A_FILL, r.n, seed, 0);
        return r.n;
}

static uint16_t flags_of(uint32_t ref)
{
        struct rep r = ask(A_FLAGS, ref, 0, 0);
        ck_assert_int_eq(r.rc, 0);
        return (uint16_t)r.v[0];
}

static void setup(void)
{
        const struct xh_provider *p;
        char err[512];

        ck_assert_int_eq(simhost_start(&host), 0);
        ck_assert_int_eq(simhost_domain_create(&host, FRONT), 0);
        ck_assert_int_eq(simpeer_start(&front, &host, FRONT, agent_main, NULL), 0);
        simhost_enter(&host, 0);
        ck_assert_msg(xh_provider_select(NULL, &p, err, sizeof(err)) == 0, "%s", err);
        ck_assert_str_eq(xh_provider_name(p), "sim");
        ck_assert_int_eq(xh_gnttab_open(p, &gt), 0);
}

static void teardown(void)
{
        xh_gnttab_close(gt);
        gt = NULL;
        simpeer_stop(&front); /* end of file: the agent exits */
        simhost_stop(&host);
}

static xh_copy_seg_t from_gref(uint32_t ref, uint16_t off, void *dst, uint16_t len)
{
        xh_copy_seg_t s = {.flags = GNTCOPY_source_gref, .len = len, .status = 99};
        s.source.foreign.ref = ref;
        s.source.foreign.offset = off;
        s.source.foreign.domid = FRONT;
        s.dest.virt = dst;
        return s;
}

static xh_copy_seg_t to_gref(const void *src, uint32_t ref, uint16_t off, uint16_t len)
{
        xh_copy_seg_t s = {.flags = GNTCOPY_dest_gref, .len = len, .status = 99};
        s.source.virt = (void *)src;
        s.dest.foreign.ref = ref;
        s.dest.foreign.offset = off;
        s.dest.foreign.domid = FRONT;
        return s;
}

START_TEST(copy_out_of_and_into_a_shared_page)
{
        uint32_t refs[8];
        uint32_t slot = share(8, true, 0, 1, refs);
        uint8_t *buf = malloc(8 * 4096);
        xh_copy_seg_t segs[8];

        for (int i = 0; i < 8; i++)
                segs[i] = from_gref(refs[i], 0, buf + i * 4096, 4096);
        ck_assert_int_eq(xh_gnttab_copy(gt, 8, segs), 0);
        for (int i = 0; i < 8; i++)
                ck_assert_int_eq(segs[i].status, GNTST_okay);
        ck_assert_uint_eq(digest(buf, 8 * 4096), pattern_digest(1, 8 * 4096));
        /* No pin outlives the call. */
        ck_assert_uint_eq(flags_of(refs[0]), GTF_permit_access);

        for (size_t i = 0; i < 8 * 4096; i++)
                buf[i] = pattern(2, i);
        for (int i = 0; i < 8; i++)
                segs[i] = to_gref(buf + i * 4096, refs[i], 0, 4096);
        ck_assert_int_eq(xh_gnttab_copy(gt, 8, segs), 0);
        for (int i = 0; i < 8; i++)
                ck_assert_int_eq(segs[i].status, GNTST_okay);
        ck_assert_uint_eq(ask(A_DIGEST, slot, 0, 0).v[0], pattern_digest(2, 8 * 4096));
        free(buf);
}
END_TEST

START_TEST(sub_page_and_page_crossing_local_side)
{
        uint32_t refs[2];
        share(2, true, 0, 3, refs);
        uint8_t *buf = aligned_alloc(4096, 2 * 4096);
        memset(buf, 0, 2 * 4096);

        /* The local side crosses a page: gntdev splits it, Xen sees two ops. */
        xh_copy_seg_t s = from_gref(refs[1], 100, buf + 4096 - 500, 1000);
        ck_assert_int_eq(xh_gnttab_copy(gt, 1, &s), 0);
        ck_assert_int_eq(s.status, GNTST_okay);
        for (size_t i = 0; i < 1000; i++)
                ck_assert_uint_eq(buf[4096 - 500 + i], pattern(3, 4096 + 100 + i));
        ck_assert_uint_eq(buf[4096 - 501], 0);
        ck_assert_uint_eq(buf[4096 + 500], 0);

        /* Both sides grefs (dom5's page 0 into its page 1): one Xen op. */
        xh_copy_seg_t g = {.flags = GNTCOPY_source_gref | GNTCOPY_dest_gref, .len = 64};
        g.source.foreign = (typeof(g.source.foreign)){refs[0], 8, FRONT};
        g.dest.foreign = (typeof(g.dest.foreign)){refs[1], 0, FRONT};
        ck_assert_int_eq(xh_gnttab_copy(gt, 1, &g), 0);
        ck_assert_int_eq(g.status, GNTST_okay);
        s = from_gref(refs[1], 0, buf, 64);
        ck_assert_int_eq(xh_gnttab_copy(gt, 1, &s), 0);
        for (size_t i = 0; i < 64; i++)
                ck_assert_uint_eq(buf[i], pattern(3, 8 + i));
        free(buf);
}
END_TEST

/* One refused segment in the middle of good ones: only its status changes. */
static void expect_status(xh_copy_seg_t bad, int16_t want)
{
        uint32_t refs[1];
        share(1, true, 0, 4, refs);
        uint8_t a[64], b[64], c[64];
        xh_copy_seg_t segs[3] = {from_gref(refs[0], 0, a, 64), bad, from_gref(refs[0], 64, c, 64)};
        (void)b;
        ck_assert_int_eq(xh_gnttab_copy(gt, 3, segs), 0);
        ck_assert_int_eq(segs[0].status, GNTST_okay);
        ck_assert_int_eq(segs[1].status, want);
        ck_assert_int_eq(segs[2].status, GNTST_okay);
        ck_assert_uint_eq(c[0], pattern(4, 64));
}

START_TEST(refusals_give_xens_status_codes)
{
        uint32_t other[1], ro[1];
        uint8_t buf[64] = {0};
        share(1, true, 7, 5, other); /* granted to dom7, not to us */
        share(1, false, 0, 6, ro);

        xh_copy_seg_t s = from_gref(8, 0, buf, 64);
        s.source.foreign.domid = 77; /* no such domain */
        expect_status(s, GNTST_bad_domain);
        expect_status(from_gref(SIM_GNT_ENTRIES, 0, buf, 64), GNTST_bad_gntref);
        expect_status(from_gref(4000, 0, buf, 64), GNTST_general_error); /* never granted */
        expect_status(from_gref(other[0], 0, buf, 64), GNTST_general_error);
        expect_status(to_gref(buf, ro[0], 0, 64), GNTST_general_error); /* write into r/o */
        /* Reading a read-only grant is fine, and leaves no flag behind. */
        expect_status(from_gref(ro[0], 0, buf, 64), GNTST_okay);
        ck_assert_uint_eq(buf[0], pattern(6, 0));
        ck_assert_uint_eq(flags_of(ro[0]), GTF_permit_access | GTF_readonly);
}
END_TEST

START_TEST(bad_segments_fail_the_whole_call_like_gntdev)
{
        uint32_t refs[20];
        uint32_t slot = share(20, true, 0, 7, refs);
        uint8_t *src = calloc(20, 4096);
        xh_copy_seg_t segs[21];

        /* Both sides local: EINVAL, nothing copied. */
        uint8_t x[8], y[8];
        xh_copy_seg_t vv = {.len = 8};
        vv.source.virt = x;
        vv.dest.virt = y;
        ck_assert_int_eq(xh_gnttab_copy(gt, 1, &vv), -EINVAL);

        /* gref-side offset+len > 4096: EINVAL. gntdev had flushed the first
         * full batch of 16 ops to Xen; the 4 ops queued after it are dropped. */
        for (int i = 0; i < 20; i++)
                segs[i] = to_gref(src + i * 4096, refs[i], 0, 4096);
        segs[20] = to_gref(src, refs[0], 4000, 200);
        ck_assert_int_eq(xh_gnttab_copy(gt, 21, segs), -EINVAL);
        ck_assert_int_eq(segs[20].status, 99); /* untouched */
        uint32_t want;
        {
                uint8_t *exp = malloc(20 * 4096);
                for (size_t i = 0; i < 20 * 4096; i++)
                        exp[i] = i < 16 * 4096 ? 0 : pattern(7, i);
                want = digest(exp, 20 * 4096);
                free(exp);
        }
        ck_assert_uint_eq(ask(A_DIGEST, slot, 0, 0).v[0], want);

        /* Source-side overflow too, with nothing flushed before it. */
        uint8_t d[64];
        xh_copy_seg_t one[2] = {from_gref(refs[0], 0, d, 64), from_gref(refs[0], 4095, d, 2)};
        ck_assert_int_eq(xh_gnttab_copy(gt, 2, one), -EINVAL);
        free(src);
}
END_TEST

START_TEST(map_shows_and_takes_the_guest_page)
{
        uint32_t refs[4];
        uint32_t slot = share(4, true, 0, 8, refs);
        void *addr;

        ck_assert_int_eq(xh_gnttab_map(gt, FRONT, 4, refs, true, &addr), 0);
        ck_assert_uint_eq(digest(addr, 4 * 4096), pattern_digest(8, 4 * 4096));
        ck_assert_uint_eq(flags_of(refs[2]), GTF_permit_access | GTF_reading | GTF_writing);
        for (size_t i = 0; i < 4 * 4096; i++)
                ((uint8_t *)addr)[i] = pattern(9, i);
        ck_assert_uint_eq(ask(A_DIGEST, slot, 0, 0).v[0], pattern_digest(9, 4 * 4096));

        ck_assert_int_eq(xh_gnttab_unmap(gt, (uint8_t *)addr + 4096, 3), -EINVAL);
        ck_assert_int_eq(xh_gnttab_unmap(gt, addr, 3), -EINVAL);
        ck_assert_int_eq(xh_gnttab_unmap(gt, addr, 4), 0);
        ck_assert_uint_eq(flags_of(refs[2]), GTF_permit_access);
        ck_assert_int_eq(xh_gnttab_unmap(gt, addr, 4), -EINVAL);
        int local;
        ck_assert_int_eq(xh_gnttab_unmap(gt, &local, 1), -EINVAL);
}
END_TEST

START_TEST(map_refusals_are_all_or_nothing)
{
        uint32_t refs[3], ro[1];
        void *addr = NULL;
        share(2, true, 0, 10, refs);
        share(1, false, 0, 11, ro);

        refs[2] = 4000; /* never granted */
        ck_assert_int_eq(xh_gnttab_map(gt, FRONT, 3, refs, true, &addr), -EINVAL);
        ck_assert_uint_eq(flags_of(refs[0]), GTF_permit_access); /* nothing left pinned */
        ck_assert_uint_eq(flags_of(refs[1]), GTF_permit_access);
        ck_assert_int_eq(xh_gnttab_map(gt, FRONT, 1, ro, true, &addr), -EINVAL);
        ck_assert_int_eq(xh_gnttab_map(gt, 77, 1, ro, false, &addr), -EINVAL);
        uint32_t big = SIM_GNT_ENTRIES;
        ck_assert_int_eq(xh_gnttab_map(gt, FRONT, 1, &big, false, &addr), -EINVAL);

        ck_assert_int_eq(xh_gnttab_map(gt, FRONT, 1, ro, false, &addr), 0);
        ck_assert_uint_eq(((uint8_t *)addr)[5], pattern(11, 5));
        ck_assert_uint_eq(flags_of(ro[0]), GTF_permit_access | GTF_readonly | GTF_reading);
        ck_assert_int_eq(xh_gnttab_unmap(gt, addr, 1), 0);
}
END_TEST

START_TEST(unshare_while_mapped_is_deferred)
{
        uint32_t refs[1], more[1];
        uint32_t slot = share(1, true, 0, 12, refs);
        void *addr;

        ck_assert_int_eq(xh_gnttab_map(gt, FRONT, 1, refs, false, &addr), 0);
        ck_assert_int_eq(ask(A_UNSHARE, slot, 0, 0).rc, 0);
        /* Still granted (gntalloc defers), and our mapping still reads it. */
        ck_assert_uint_eq(flags_of(refs[0]) & GTF_permit_access, GTF_permit_access);
        ck_assert_uint_eq(((uint8_t *)addr)[9], pattern(12, 9));
        ck_assert_int_eq(xh_gnttab_unmap(gt, addr, 1), 0);
        /* dom5's next grant operation frees the deferred ref. */
        share(1, true, 0, 13, more);
        ck_assert_uint_eq(more[0], refs[0]);
        ck_assert_uint_eq(ask(A_FLAGS, refs[0], 0, 0).v[1], 1);
}
END_TEST

static int map_and_die(void *arg)
{
        const uint32_t *ref = arg;
        const struct xh_provider *p;
        struct xh_gnttab *g;
        char err[256];
        void *addr;
        if (xh_provider_select(NULL, &p, err, sizeof(err)) < 0 || xh_gnttab_open(p, &g) < 0 ||
            xh_gnttab_map(g, FRONT, 1, ref, true, &addr) < 0)
                return 1;
        raise(SIGKILL);
        return 2;
}

START_TEST(a_dead_mappers_pins_are_released)
{
        uint32_t refs[1];
        uint32_t slot = share(1, true, 0, 14, refs);
        pid_t pid = simhost_spawn(&host, 0, map_and_die, refs);
        ck_assert_int_gt(pid, 0);
        ck_assert_int_eq(simhost_wait(pid, 10000), 128 + SIGKILL);
        ck_assert_uint_eq(flags_of(refs[0]), GTF_permit_access | GTF_reading | GTF_writing);
        ck_assert_int_eq(ask(A_UNSHARE, slot, 0, 0).rc, 0);
        ck_assert_uint_eq(flags_of(refs[0]), 0);
        ck_assert_uint_eq(ask(A_FLAGS, refs[0], 0, 0).v[1], 0);
}
END_TEST

START_TEST(destroyed_domain_gives_bad_domain)
{
        uint32_t refs[1];
        uint8_t buf[64];
        void *addr;
        share(1, true, 0, 15, refs);
        ck_assert_int_eq(xh_gnttab_map(gt, FRONT, 1, refs, false, &addr), 0);

        ck_assert_int_eq(simhost_domain_destroy(&host, FRONT), 0);
        xh_copy_seg_t s = from_gref(refs[0], 0, buf, 64);
        ck_assert_int_eq(xh_gnttab_copy(gt, 1, &s), 0);
        ck_assert_int_eq(s.status, GNTST_bad_domain);
        s = to_gref(buf, refs[0], 0, 64);
        ck_assert_int_eq(xh_gnttab_copy(gt, 1, &s), 0);
        ck_assert_int_eq(s.status, GNTST_bad_domain);
        void *again;
        ck_assert_int_eq(xh_gnttab_map(gt, FRONT, 1, refs, false, &again), -EINVAL);
        /* A zombie's page stays readable through a mapping held across the
         * destruction, and unmapping it still works. */
        ck_assert_uint_eq(((uint8_t *)addr)[3], pattern(15, 3));
        ck_assert_int_eq(xh_gnttab_unmap(gt, addr, 1), 0);
}
END_TEST

static Suite *sim_grant_suite(void)
{
        Suite *s = suite_create("sim_grant");
        TCase *tc = tcase_create("two domains");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, copy_out_of_and_into_a_shared_page);
        tcase_add_test(tc, sub_page_and_page_crossing_local_side);
        tcase_add_test(tc, refusals_give_xens_status_codes);
        tcase_add_test(tc, bad_segments_fail_the_whole_call_like_gntdev);
        tcase_add_test(tc, map_shows_and_takes_the_guest_page);
        tcase_add_test(tc, map_refusals_are_all_or_nothing);
        tcase_add_test(tc, unshare_while_mapped_is_deferred);
        tcase_add_test(tc, a_dead_mappers_pins_are_released);
        tcase_add_test(tc, destroyed_domain_gives_bad_domain);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(sim_grant_suite)
