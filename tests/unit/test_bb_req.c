/* bb_abi + bb_req: blkif requests in both ABIs written by a front ring in
 * plain memory, copied out by the back ring and validated; table-driven over
 * every invalid field, with wrap-around, indirect pages and responses. */
#include <check.h>
#include <stdalign.h>
#include <string.h>

#include "blkback/bb_abi.h"
#include "blkback/bb_req.h"
#include "check_main.h"

#define NPAGES 2u

struct fx {
        alignas(4096) uint8_t mem[NPAGES * BB_PAGE_SIZE];
        enum bb_abi abi;
        struct bb_x86_32_front_ring f32;
        struct bb_x86_64_front_ring f64;
        struct bb_ring back;
        struct bb_vbd_limits lim;
};

static struct fx fx;

static void fx_init(enum bb_abi abi, RING_IDX start)
{
        memset(&fx, 0, sizeof(fx));
        fx.abi = abi;
        if (abi == BB_ABI_X86_32) {
                struct bb_x86_32_sring *s = (void *)fx.mem;
                SHARED_RING_INIT(s);
                FRONT_RING_INIT(&fx.f32, s, sizeof(fx.mem));
                s->req_prod = s->rsp_prod = start;
                fx.f32.req_prod_pvt = fx.f32.rsp_cons = start;
        } else {
                struct bb_x86_64_sring *s = (void *)fx.mem;
                SHARED_RING_INIT(s);
                FRONT_RING_INIT(&fx.f64, s, sizeof(fx.mem));
                s->req_prod = s->rsp_prod = start;
                fx.f64.req_prod_pvt = fx.f64.rsp_cons = start;
        }
        ck_assert_int_eq(bb_ring_attach(&fx.back, abi, fx.mem, NPAGES), 0);
        fx.lim = (struct bb_vbd_limits){.sectors = 1 << 20,
                                        .sector_size = 512,
                                        .max_indirect_segs = 256,
                                        .flush = true,
                                        .discard = true};
}

/* A request in native (x86_64) field terms, written in the fixture's ABI. */
struct wreq {
        uint8_t op, nseg_u8, indirect_op, flag;
        uint16_t nseg_u16;
        uint64_t id, sector, nr_sectors;
        struct blkif_request_segment seg[11];
        uint32_t igref[8];
};

static void push(const struct wreq *w)
{
        if (fx.abi == BB_ABI_X86_32) {
                struct bb_x86_32_request *r = RING_GET_REQUEST(&fx.f32, fx.f32.req_prod_pvt);
                memset(r, 0xa5, sizeof(*r)); /* padding is junk, as from a guest */
                r->operation = w->op;
                if (w->op == BLKIF_OP_INDIRECT) {
                        r->u.indirect.indirect_op = w->indirect_op;
                        r->u.indirect.nr_segments = w->nseg_u16;
                        r->u.indirect.id = w->id;
                        r->u.indirect.sector_number = w->sector;
                        memcpy(r->u.indirect.indirect_grefs, w->igref, sizeof(w->igref));
                } else if (w->op == BLKIF_OP_DISCARD) {
                        r->u.discard.flag = w->flag;
                        r->u.discard.id = w->id;
                        r->u.discard.sector_number = w->sector;
                        r->u.discard.nr_sectors = w->nr_sectors;
                } else {
                        r->u.rw.nr_segments = w->nseg_u8;
                        r->u.rw.id = w->id;
                        r->u.rw.sector_number = w->sector;
                        memcpy(r->u.rw.seg, w->seg, sizeof(w->seg));
                }
                fx.f32.req_prod_pvt++;
                RING_PUSH_REQUESTS(&fx.f32);
        } else {
                struct bb_x86_64_request *r = RING_GET_REQUEST(&fx.f64, fx.f64.req_prod_pvt);
                memset(r, 0xa5, sizeof(*r));
                r->operation = w->op;
                if (w->op == BLKIF_OP_INDIRECT) {
                        r->u.indirect.indirect_op = w->indirect_op;
                        r->u.indirect.nr_segments = w->nseg_u16;
                        r->u.indirect.id = w->id;
                        r->u.indirect.sector_number = w->sector;
                        memcpy(r->u.indirect.indirect_grefs, w->igref, sizeof(w->igref));
                } else if (w->op == BLKIF_OP_DISCARD) {
                        r->u.discard.flag = w->flag;
                        r->u.discard.id = w->id;
                        r->u.discard.sector_number = w->sector;
                        r->u.discard.nr_sectors = w->nr_sectors;
                } else {
                        r->u.rw.nr_segments = w->nseg_u8;
                        r->u.rw.id = w->id;
                        r->u.rw.sector_number = w->sector;
                        memcpy(r->u.rw.seg, w->seg, sizeof(w->seg));
                }
                fx.f64.req_prod_pvt++;
                RING_PUSH_REQUESTS(&fx.f64);
        }
}

static enum bb_verdict take_parse(struct bb_req *req, enum bb_reason *why)
{
        struct bb_raw_req raw;
        RING_IDX rp;
        ck_assert_int_eq(bb_ring_pending(&fx.back, &rp), 0);
        ck_assert_uint_ne(rp, fx.back.r.common.req_cons);
        bb_ring_take(&fx.back, &raw);
        return bb_req_parse(&raw, &fx.lim, req, why);
}

static struct wreq rw(uint8_t op, uint8_t nseg, uint64_t sector)
{
        struct wreq w = {.op = op, .nseg_u8 = nseg, .id = 0x1122334455667788ull, .sector = sector};
        for (unsigned i = 0; i < 11; i++)
                w.seg[i] = (struct blkif_request_segment){.gref = 100 + i, .first_sect = 0,
                                                          .last_sect = 7};
        return w;
}

static struct bb_req req;

START_TEST(valid_rw_both_abis)
{
        for (int a = 0; a < 2; a++) {
                fx_init(a ? BB_ABI_X86_64 : BB_ABI_X86_32, 0);
                struct wreq w = rw(BLKIF_OP_WRITE, 3, 64);
                w.seg[1].first_sect = 2;
                w.seg[1].last_sect = 5;
                push(&w);
                enum bb_reason why;
                ck_assert_int_eq(take_parse(&req, &why), BB_REQ_OK);
                ck_assert_uint_eq(req.id, 0x1122334455667788ull);
                ck_assert_int_eq(req.op, BB_OP_WRITE);
                ck_assert_uint_eq(req.sector, 64);
                ck_assert_uint_eq(req.nr_segs, 3);
                ck_assert_uint_eq(req.nr_sectors, 8 + 4 + 8);
                ck_assert_uint_eq(req.seg[1].gref, 101);
                ck_assert_uint_eq(req.seg[1].offset, 1024);
                ck_assert_uint_eq(req.seg[1].len, 2048);
        }
}
END_TEST

/* Every invalid field, in both ABIs. */
struct bad_case {
        const char *name;
        void (*mutate)(struct wreq *w, struct bb_vbd_limits *l);
        enum bb_verdict v;
        enum bb_reason why;
};
#define M(fn) static void fn(struct wreq *w, struct bb_vbd_limits *l)
M(m_unknown_op) { w->op = 9; (void)l; }
M(m_reserved) { w->op = BLKIF_OP_RESERVED_1; (void)l; }
M(m_zero_seg) { w->nseg_u8 = 0; (void)l; }
M(m_12_segs) { w->nseg_u8 = 12; (void)l; }
M(m_255_segs) { w->nseg_u8 = 255; (void)l; }
M(m_last_ge_8) { w->seg[0].last_sect = 8; (void)l; }
M(m_first_gt_last) { w->seg[1].first_sect = 5; w->seg[1].last_sect = 4; (void)l; }
M(m_beyond_end) { w->sector = (1 << 20) - 8; (void)l; }
M(m_wraps) { w->sector = UINT64_MAX - 3; (void)l; }
M(m_readonly) { l->readonly = true; (void)w; }
M(m_flush_unsupported) { w->op = BLKIF_OP_FLUSH_DISKCACHE; l->flush = false; }
M(m_misaligned) { l->sector_size = 4096; w->sector = 1; }
M(m_discard_off) { w->op = BLKIF_OP_DISCARD; w->nr_sectors = 8; l->discard = false; }
M(m_discard_secure) { w->op = BLKIF_OP_DISCARD; w->nr_sectors = 8; w->flag = BLKIF_DISCARD_SECURE; (void)l; }
M(m_discard_range) { w->op = BLKIF_OP_DISCARD; w->sector = 1 << 20; w->nr_sectors = 1; (void)l; }
M(m_discard_ro) { w->op = BLKIF_OP_DISCARD; w->nr_sectors = 8; l->readonly = true; }
M(m_ind_op) { w->op = BLKIF_OP_INDIRECT; w->indirect_op = BLKIF_OP_DISCARD; w->nseg_u16 = 20; (void)l; }
M(m_ind_zero) { w->op = BLKIF_OP_INDIRECT; w->indirect_op = BLKIF_OP_READ; w->nseg_u16 = 0; (void)l; }
M(m_ind_257) { w->op = BLKIF_OP_INDIRECT; w->indirect_op = BLKIF_OP_READ; w->nseg_u16 = 257; (void)l; }
M(m_ind_huge) { w->op = BLKIF_OP_INDIRECT; w->indirect_op = BLKIF_OP_READ; w->nseg_u16 = 65535; (void)l; }
M(m_ind_off) { w->op = BLKIF_OP_INDIRECT; w->indirect_op = BLKIF_OP_READ; w->nseg_u16 = 20; l->max_indirect_segs = 0; }
#undef M
static const struct bad_case cases[] = {
    {"unknown op", m_unknown_op, BB_REQ_EOPNOTSUPP, BB_R_UNKNOWN_OP},
    {"reserved op", m_reserved, BB_REQ_EOPNOTSUPP, BB_R_UNKNOWN_OP},
    {"0 segments", m_zero_seg, BB_REQ_ERROR, BB_R_NSEG},
    {"12 segments", m_12_segs, BB_REQ_ERROR, BB_R_NSEG},
    {"255 segments", m_255_segs, BB_REQ_ERROR, BB_R_NSEG},
    {"last_sect 8", m_last_ge_8, BB_REQ_ERROR, BB_R_SECT},
    {"first > last", m_first_gt_last, BB_REQ_ERROR, BB_R_SECT},
    {"beyond end", m_beyond_end, BB_REQ_ERROR, BB_R_RANGE},
    {"wraps", m_wraps, BB_REQ_ERROR, BB_R_RANGE},
    {"read-only", m_readonly, BB_REQ_ERROR, BB_R_READONLY},
    {"flush unsupported", m_flush_unsupported, BB_REQ_EOPNOTSUPP, BB_R_NO_FLUSH},
    {"misaligned", m_misaligned, BB_REQ_ERROR, BB_R_ALIGN},
    {"discard off", m_discard_off, BB_REQ_EOPNOTSUPP, BB_R_NO_DISCARD},
    {"secure discard", m_discard_secure, BB_REQ_EOPNOTSUPP, BB_R_NO_SECURE},
    {"discard range", m_discard_range, BB_REQ_ERROR, BB_R_RANGE},
    {"discard read-only", m_discard_ro, BB_REQ_ERROR, BB_R_READONLY},
    {"indirect op", m_ind_op, BB_REQ_ERROR, BB_R_INDIRECT_OP},
    {"indirect 0", m_ind_zero, BB_REQ_ERROR, BB_R_NSEG},
    {"indirect 257", m_ind_257, BB_REQ_ERROR, BB_R_NSEG},
    {"indirect 65535", m_ind_huge, BB_REQ_ERROR, BB_R_NSEG},
    {"indirect off", m_ind_off, BB_REQ_EOPNOTSUPP, BB_R_NO_INDIRECT},
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

START_TEST(invalid_fields)
{
        const struct bad_case *c = &cases[_i % NCASES];
        fx_init(_i < (int)NCASES ? BB_ABI_X86_32 : BB_ABI_X86_64, 0);
        struct wreq w = rw(BLKIF_OP_WRITE, 2, 8);
        c->mutate(&w, &fx.lim);
        push(&w);
        enum bb_reason why;
        enum bb_verdict v = take_parse(&req, &why);
        ck_assert_msg(v == c->v && why == c->why, "%s: verdict %d reason %s", c->name, v,
                      bb_reason_str(why));
        /* The response still carries the id and operation (echo). */
        ck_assert_uint_eq(req.id, w.id);
        ck_assert_uint_eq(req.rsp_op, w.op == BLKIF_OP_INDIRECT ? w.indirect_op : w.op);
}
END_TEST

START_TEST(flush_without_segments)
{
        fx_init(BB_ABI_X86_64, 0);
        struct wreq w = rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 12345);
        push(&w);
        enum bb_reason why;
        ck_assert_int_eq(take_parse(&req, &why), BB_REQ_OK);
        ck_assert_int_eq(req.op, BB_OP_FLUSH);
        ck_assert_uint_eq(req.nr_segs, 0);
        w = rw(BLKIF_OP_WRITE_BARRIER, 0, 0);
        push(&w);
        ck_assert_int_eq(take_parse(&req, &why), BB_REQ_OK);
        ck_assert_int_eq(req.op, BB_OP_BARRIER);
        w = rw(BLKIF_OP_READ, 0, 0);
        push(&w);
        ck_assert_int_eq(take_parse(&req, &why), BB_REQ_ERROR);
}
END_TEST

START_TEST(discard_valid)
{
        fx_init(_i ? BB_ABI_X86_64 : BB_ABI_X86_32, 0);
        fx.lim.discard_secure = true;
        struct wreq w = {.op = BLKIF_OP_DISCARD, .id = 7, .sector = 100, .nr_sectors = 900,
                         .flag = BLKIF_DISCARD_SECURE};
        push(&w);
        enum bb_reason why;
        ck_assert_int_eq(take_parse(&req, &why), BB_REQ_OK);
        ck_assert_int_eq(req.op, BB_OP_DISCARD);
        ck_assert(req.secure);
        ck_assert_uint_eq(req.sector, 100);
        ck_assert_uint_eq(req.nr_sectors, 900);
}
END_TEST

/* Indirect: header first, then the descriptors from the pages. */
START_TEST(indirect_pages)
{
        static struct blkif_request_segment page0[512];
        const void *pages[1] = {page0};
        fx_init(_i ? BB_ABI_X86_64 : BB_ABI_X86_32, 0);
        struct wreq w = {.op = BLKIF_OP_INDIRECT, .indirect_op = BLKIF_OP_READ,
                         .nseg_u16 = 256, .id = 99, .sector = 4096};
        w.igref[0] = 777;
        w.igref[1] = 778; /* beyond what 256 segments need: not copied */
        push(&w);
        enum bb_reason why;
        ck_assert_int_eq(take_parse(&req, &why), BB_REQ_INDIRECT);
        ck_assert_uint_eq(req.nr_indirect, 1);
        ck_assert_uint_eq(req.indirect_grefs[0], 777);
        for (unsigned i = 0; i < 256; i++)
                page0[i] = (struct blkif_request_segment){.gref = 1000 + i, .first_sect = 0,
                                                          .last_sect = 7};
        ck_assert_int_eq(bb_req_parse_indirect(pages, &fx.lim, &req, &why), BB_REQ_OK);
        ck_assert_uint_eq(req.nr_sectors, 256 * 8);
        ck_assert_uint_eq(req.seg[255].gref, 1255);
        /* A bad descriptor deep in the page fails the request. */
        page0[200].last_sect = 9;
        ck_assert_int_eq(bb_req_parse_indirect(pages, &fx.lim, &req, &why), BB_REQ_ERROR);
        ck_assert_int_eq(why, BB_R_SECT);
        /* And so does a range past the end. */
        page0[200].last_sect = 7;
        req.sector = (1 << 20) - 8;
        ck_assert_int_eq(bb_req_parse_indirect(pages, &fx.lim, &req, &why), BB_REQ_ERROR);
        ck_assert_int_eq(why, BB_R_RANGE);
}
END_TEST

/* Indices wrap past 2^32: requests and responses keep their slots. */
START_TEST(wrap_around)
{
        enum bb_abi abi = _i ? BB_ABI_X86_64 : BB_ABI_X86_32;
        unsigned n = bb_ring_entries(abi, NPAGES);
        fx_init(abi, (RING_IDX)0 - 5);
        for (unsigned i = 0; i < n; i++) {
                struct wreq w = rw(BLKIF_OP_READ, 1, i * 8);
                w.id = i;
                push(&w);
        }
        for (unsigned i = 0; i < n; i++) {
                enum bb_reason why;
                ck_assert(bb_ring_can_consume(&fx.back));
                ck_assert_int_eq(take_parse(&req, &why), BB_REQ_OK);
                ck_assert_uint_eq(req.id, i);
                bb_ring_put_rsp(&fx.back, req.id, req.rsp_op, i % 2 ? BLKIF_RSP_ERROR : 0);
        }
        bool notify;
        bb_ring_push(&fx.back, &notify);
        for (unsigned i = 0; i < n; i++) {
                RING_IDX c = (RING_IDX)0 - 5 + i;
                if (abi == BB_ABI_X86_32) {
                        struct bb_x86_32_response *r = RING_GET_RESPONSE(&fx.f32, c);
                        ck_assert_uint_eq(r->id, i);
                        ck_assert_int_eq(r->status, i % 2 ? BLKIF_RSP_ERROR : 0);
                        ck_assert_uint_eq(r->operation, BLKIF_OP_READ);
                } else {
                        struct bb_x86_64_response *r = RING_GET_RESPONSE(&fx.f64, c);
                        ck_assert_uint_eq(r->id, i);
                        ck_assert_int_eq(r->status, i % 2 ? BLKIF_RSP_ERROR : 0);
                }
        }
        ck_assert_uint_eq(abi == BB_ABI_X86_32 ? fx.f32.sring->rsp_prod : fx.f64.sring->rsp_prod,
                          (RING_IDX)0 - 5 + n);
}
END_TEST

/* A frontend claiming more requests than the ring holds is fatal. */
START_TEST(bogus_req_prod)
{
        RING_IDX rp;
        fx_init(_i ? BB_ABI_X86_64 : BB_ABI_X86_32, 0);
        unsigned n = bb_ring_entries(fx.abi, NPAGES);
        struct bb_x86_64_sring *s = (void *)fx.mem;
        s->req_prod = n + 1;
        ck_assert_int_eq(bb_ring_pending(&fx.back, &rp), -EPROTO);
        s->req_prod = n;
        ck_assert_int_eq(bb_ring_pending(&fx.back, &rp), 0);
        /* Attaching to such a ring is refused too. */
        s->req_prod = n + 3;
        struct bb_ring r2;
        ck_assert_int_eq(bb_ring_attach(&r2, fx.abi, fx.mem, NPAGES), -EINVAL);
}
END_TEST

/* The guest rewrites the slot after the copy: the copy stands. */
START_TEST(copied_once)
{
        fx_init(BB_ABI_X86_64, 0);
        struct wreq w = rw(BLKIF_OP_READ, 2, 0);
        push(&w);
        struct bb_raw_req raw;
        RING_IDX rp;
        ck_assert_int_eq(bb_ring_pending(&fx.back, &rp), 0);
        bb_ring_take(&fx.back, &raw);
        struct bb_x86_64_request *slot = RING_GET_REQUEST(&fx.f64, 0);
        slot->u.rw.nr_segments = 200;
        enum bb_reason why;
        ck_assert_int_eq(bb_req_parse(&raw, &fx.lim, &req, &why), BB_REQ_OK);
        ck_assert_uint_eq(req.nr_segs, 2);
}
END_TEST

START_TEST(protocol_names)
{
        enum bb_abi a;
        ck_assert_int_eq(bb_abi_from_protocol(NULL, &a), 0);
        ck_assert_int_eq(a, BB_ABI_X86_32);
        ck_assert_int_eq(bb_abi_from_protocol("x86_64-abi", &a), 0);
        ck_assert_int_eq(a, BB_ABI_X86_64);
        ck_assert_int_eq(bb_abi_from_protocol("x86_32-abi", &a), 0);
        ck_assert_int_eq(a, BB_ABI_X86_32);
        ck_assert_int_eq(bb_abi_from_protocol("arm-abi", &a), -EINVAL);
        ck_assert_uint_eq(bb_ring_entries(BB_ABI_X86_64, 1), 32);
        ck_assert_uint_eq(bb_ring_entries(BB_ABI_X86_32, 1), 32);
        ck_assert_uint_eq(bb_ring_entries(BB_ABI_X86_64, 16), 512);
        ck_assert_uint_eq(bb_ring_entries(BB_ABI_X86_32, 16), 512);
}
END_TEST

static Suite *bb_req_suite(void)
{
        Suite *s = suite_create("bb_req");
        TCase *tc = tcase_create("parse");
        tcase_add_test(tc, valid_rw_both_abis);
        tcase_add_loop_test(tc, invalid_fields, 0, 2 * NCASES);
        tcase_add_test(tc, flush_without_segments);
        tcase_add_loop_test(tc, discard_valid, 0, 2);
        tcase_add_loop_test(tc, indirect_pages, 0, 2);
        tcase_add_loop_test(tc, wrap_around, 0, 2);
        tcase_add_loop_test(tc, bogus_req_prod, 0, 2);
        tcase_add_test(tc, copied_once);
        tcase_add_test(tc, protocol_names);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(bb_req_suite)
