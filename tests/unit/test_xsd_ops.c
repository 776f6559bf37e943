/* Unit tests of the simulator xenstored's request semantics without sockets:
 * in-process connections acting as dom0 and two guests send xs_wire requests
 * and the queued replies and watch events are checked against what C
 * xenstored 4.17 answers (permissions, relative paths, watches, transaction
 * conflicts, quotas, domain trees). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/check_main.h"
#include "tools/sim/xsd_internal.h"

struct msg {
        uint32_t type, req_id, tx_id;
        size_t len;
        char data[XENSTORE_PAYLOAD_MAX + 1];
};

static struct xsd *x;
static struct xsd_conn *c0, *c1, *c2;

static void setup(void)
{
        ck_assert_int_eq(xsd_new(NULL, NULL, &x), 0);
        ck_assert_int_eq(xsd_domain_introduce(x, 0), 0);
        ck_assert_int_eq(xsd_domain_introduce(x, 1), 0);
        ck_assert_int_eq(xsd_domain_introduce(x, 2), 0);
        c0 = xsd_conn_new(x, -1, 0);
        c1 = xsd_conn_new(x, -1, 1);
        c2 = xsd_conn_new(x, -1, 2);
}

static void teardown(void)
{
        xsd_destroy(x);
        x = NULL;
}

/* Pops the first queued message of the wanted kind. */
static bool pop(struct xsd_conn *c, bool event, struct msg *m)
{
        for (struct xsd_out **pp = &c->out_head, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
                struct xsd_out *o = *pp;
                if (o->event != event)
                        continue;
                struct xsd_sockmsg h;
                memcpy(&h, o->buf, sizeof(h));
                m->type = h.type;
                m->req_id = h.req_id;
                m->tx_id = h.tx_id;
                m->len = h.len;
                memcpy(m->data, o->buf + sizeof(h), h.len);
                m->data[h.len] = 0;
                *pp = o->next;
                if (c->out_tail == o)
                        c->out_tail = prev;
                c->out_bytes -= o->len;
                if (!event)
                        c->out_replies--;
                free(o);
                return true;
        }
        return false;
}

static int err_of(const struct msg *m)
{
        if (m->type != XS_ERROR)
                return 0;
        for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
                if (!strcmp(m->data, xsd_errors[i].errstring))
                        return xsd_errors[i].errnum;
        return -1;
}

/* Sends one request and returns its reply's errno (0: success). */
static int rq(struct xsd_conn *c, uint32_t type, uint32_t tx, const char *p, size_t len,
              struct msg *reply)
{
        static struct msg scratch;
        struct xsd_sockmsg h = {.type = type, .req_id = 77, .tx_id = tx, .len = (uint32_t)len};
        char buf[XENSTORE_PAYLOAD_MAX + 1];
        memcpy(buf, p, len);
        buf[len] = 0;
        xsd_process(x, c, &h, buf);
        if (!reply)
                reply = &scratch;
        ck_assert(pop(c, false, reply));
        ck_assert_uint_eq(reply->req_id, 77);
        ck_assert_uint_eq(reply->tx_id, tx);
        return err_of(reply);
}

static int wr(struct xsd_conn *c, uint32_t tx, const char *path, const char *val)
{
        char buf[XENSTORE_PAYLOAD_MAX];
        size_t pl = strlen(path) + 1, vl = strlen(val);
        memcpy(buf, path, pl);
        memcpy(buf + pl, val, vl);
        return rq(c, XS_WRITE, tx, buf, pl + vl, NULL);
}

static int rd(struct xsd_conn *c, uint32_t tx, const char *path, struct msg *m)
{
        return rq(c, XS_READ, tx, path, strlen(path) + 1, m);
}

static int one(struct xsd_conn *c, uint32_t type, uint32_t tx, const char *arg)
{
        return rq(c, type, tx, arg, strlen(arg) + 1, NULL);
}

static int two(struct xsd_conn *c, uint32_t type, uint32_t tx, const char *a, const char *b,
               struct msg *m)
{
        char buf[XENSTORE_PAYLOAD_MAX];
        size_t al = strlen(a) + 1, bl = strlen(b) + 1;
        memcpy(buf, a, al);
        memcpy(buf + al, b, bl);
        return rq(c, type, 0, buf, al + bl, m);
}

static uint32_t tx_start(struct xsd_conn *c)
{
        struct msg m;
        ck_assert_int_eq(rq(c, XS_TRANSACTION_START, 0, "", 1, &m), 0);
        return (uint32_t)strtoul(m.data, NULL, 10);
}

static void drain_events(struct xsd_conn *c)
{
        struct msg m;
        while (pop(c, true, &m))
                ;
}

START_TEST(test_read_write_binary)
{
        static const char val[] = "a\0b\xff";
        char buf[64] = "/bin";
        struct msg m;
        memcpy(buf + 5, val, 4);
        ck_assert_int_eq(rq(c0, XS_WRITE, 0, buf, 9, &m), 0);
        ck_assert_str_eq(m.data, "OK");
        ck_assert_int_eq(rd(c0, 0, "/bin", &m), 0);
        ck_assert_uint_eq(m.len, 4);
        ck_assert_int_eq(memcmp(m.data, val, 4), 0);
        ck_assert_int_eq(rd(c0, 0, "/missing", &m), ENOENT);
        ck_assert_str_eq(m.data, "ENOENT");
        ck_assert_uint_eq(m.len, 7);
}
END_TEST

START_TEST(test_domain_tree_like_libxl)
{
        struct msg m;
        ck_assert_int_eq(rd(c0, 0, "/local/domain/1/name", &m), 0);
        ck_assert_str_eq(m.data, "sim-1");
        ck_assert_int_eq(rd(c0, 0, "/local/domain/0/name", &m), 0);
        ck_assert_str_eq(m.data, "Domain-0");
        ck_assert_int_eq(rd(c1, 0, "domid", &m), 0);
        ck_assert_str_eq(m.data, "1");
        ck_assert_int_eq(one(c0, XS_GET_PERMS, 0, "/local/domain/1") ? -1 : 0, 0);
        ck_assert_int_eq(rq(c0, XS_GET_PERMS, 0, "/local/domain/1", 16, &m), 0);
        ck_assert_uint_eq(m.len, 6);
        ck_assert_int_eq(memcmp(m.data, "n0\0r1", 6), 0);
        ck_assert_int_eq(rq(c0, XS_GET_PERMS, 0, "/local/domain/1/data", 21, &m), 0);
        ck_assert_int_eq(memcmp(m.data, "n1", 3), 0);
        /* device/suspend inherits the read-only device dir; the leaf is the guest's. */
        ck_assert_int_eq(rq(c0, XS_GET_PERMS, 0, "/local/domain/1/device/suspend", 31, &m), 0);
        ck_assert_int_eq(memcmp(m.data, "n0\0r1", 6), 0);
        ck_assert_int_eq(rq(c1, XS_GET_PERMS, 0, "device/suspend/event-channel", 29, &m), 0);
        ck_assert_int_eq(memcmp(m.data, "n1", 3), 0);
        ck_assert_int_eq(rd(c1, 0, "control/platform-feature-xs_reset_watches", &m), 0);
        ck_assert_str_eq(m.data, "1");
}
END_TEST

START_TEST(test_domu_isolation)
{
        struct msg m;
        /* Another guest's home: forbidden, and missing nodes there too. */
        ck_assert_int_eq(rd(c2, 0, "/local/domain/1/name", &m), EACCES);
        ck_assert_int_eq(rd(c2, 0, "/local/domain/1/nope", &m), EACCES);
        ck_assert_int_eq(wr(c2, 0, "/local/domain/1/data/x", "1"), EACCES);
        /* Own tree: readable; read-only parts stay read-only. */
        ck_assert_int_eq(rd(c1, 0, "/local/domain/1/name", &m), 0);
        ck_assert_int_eq(wr(c1, 0, "name", "evil"), EACCES);
        ck_assert_int_eq(wr(c1, 0, "device/new", "1"), EACCES);
        /* Missing node under a readable parent: ENOENT, not EACCES. */
        ck_assert_int_eq(rd(c1, 0, "data/none", &m), ENOENT);
        ck_assert_int_eq(rd(c1, 0, "/tool/xenstored", &m), EACCES);
        ck_assert_int_eq(rd(c2, 0, "/local/domain/0/name", &m), EACCES);
}
END_TEST

START_TEST(test_relative_and_invalid_paths)
{
        struct msg m;
        ck_assert_int_eq(wr(c1, 0, "data/a/b", "v"), 0);
        ck_assert_int_eq(rd(c0, 0, "/local/domain/1/data/a/b", &m), 0);
        ck_assert_str_eq(m.data, "v");
        /* The guest owns what it created, with the parent's other entries. */
        ck_assert_int_eq(rq(c0, XS_GET_PERMS, 0, "/local/domain/1/data/a", 23, &m), 0);
        ck_assert_int_eq(memcmp(m.data, "n1", 3), 0);
        ck_assert_int_eq(wr(c1, 0, "data//a", "v"), EINVAL);
        ck_assert_int_eq(wr(c1, 0, "data/a/", "v"), EINVAL);
        ck_assert_int_eq(wr(c1, 0, "data/sp ace", "v"), EINVAL);
        ck_assert_int_eq(rd(c1, 0, "", &m), EINVAL);
        /* READ needs exactly one string. */
        ck_assert_int_eq(rq(c1, XS_READ, 0, "data\0x", 7, &m), EINVAL);
        ck_assert_int_eq(rq(c1, XS_READ, 0, "data", 4, &m), EINVAL);
        ck_assert_int_eq(rq(c0, XS_GET_DOMAIN_PATH, 0, "7", 2, &m), 0);
        ck_assert_str_eq(m.data, "/local/domain/7");
}
END_TEST

START_TEST(test_mkdir_rm_directory)
{
        struct msg m;
        ck_assert_int_eq(one(c0, XS_MKDIR, 0, "/t/a/b"), 0);
        ck_assert_int_eq(one(c0, XS_MKDIR, 0, "/t/a/b"), 0);
        ck_assert_int_eq(wr(c0, 0, "/t/a/c", "1"), 0);
        ck_assert_int_eq(rq(c0, XS_DIRECTORY, 0, "/t/a", 5, &m), 0);
        ck_assert_uint_eq(m.len, 4);
        ck_assert_int_eq(memcmp(m.data, "b\0c", 4), 0);
        ck_assert_int_eq(one(c0, XS_RM, 0, "/t/a"), 0);
        ck_assert_int_eq(rd(c0, 0, "/t/a/c", &m), ENOENT);
        ck_assert_int_eq(rq(c0, XS_DIRECTORY, 0, "/t", 3, &m), 0);
        ck_assert_uint_eq(m.len, 0);
        /* rm of a missing node: fine under an existing parent only. */
        ck_assert_int_eq(one(c0, XS_RM, 0, "/t/gone"), 0);
        ck_assert_int_eq(one(c0, XS_RM, 0, "/t/gone/deeper"), ENOENT);
        ck_assert_int_eq(one(c0, XS_RM, 0, "/"), EINVAL);
        ck_assert_int_eq(one(c0, XS_RM, 0, "@releaseDomain"), EINVAL);
        /* DIRECTORY_PART: generation, children, empty terminator. */
        ck_assert_int_eq(one(c0, XS_MKDIR, 0, "/t/p/x"), 0);
        ck_assert_int_eq(two(c0, XS_DIRECTORY_PART, 0, "/t/p", "0", &m), 0);
        size_t gl = strlen(m.data) + 1;
        ck_assert_uint_eq(m.len, gl + 3);
        ck_assert_int_eq(memcmp(m.data + gl, "x\0", 3), 0);
}
END_TEST

START_TEST(test_set_perms_rules)
{
        struct msg m;
        static const char req[] = "/local/domain/1/data/p\0n1\0r2";
        ck_assert_int_eq(wr(c1, 0, "data/p", "secret"), 0);
        ck_assert_int_eq(rd(c2, 0, "/local/domain/1/data/p", &m), EACCES);
        ck_assert_int_eq(rq(c1, XS_SET_PERMS, 0, req, sizeof(req), &m), 0);
        ck_assert_int_eq(rd(c2, 0, "/local/domain/1/data/p", &m), 0);
        ck_assert_str_eq(m.data, "secret");
        ck_assert_int_eq(wr(c2, 0, "/local/domain/1/data/p", "x"), EACCES);
        /* Unprivileged owners may not give a node away. */
        static const char give[] = "/local/domain/1/data/p\0n2";
        ck_assert_int_eq(rq(c1, XS_SET_PERMS, 0, give, sizeof(give), &m), EPERM);
        /* Non-owners may not change perms at all. */
        ck_assert_int_eq(rq(c2, XS_SET_PERMS, 0, req, sizeof(req), &m), EACCES);
        /* Owner must exist. */
        static const char ghost[] = "/t\0n99";
        ck_assert_int_eq(one(c0, XS_MKDIR, 0, "/t"), 0);
        ck_assert_int_eq(rq(c0, XS_SET_PERMS, 0, ghost, sizeof(ghost), &m), ENOENT);
        static const char bad[] = "/t\0q0";
        ck_assert_int_eq(rq(c0, XS_SET_PERMS, 0, bad, sizeof(bad), &m), EINVAL);
        static const char many[] = "/local/domain/1/data/p\0n1\0r0\0r2\0r3\0r4\0r5";
        ck_assert_int_eq(rq(c1, XS_SET_PERMS, 0, many, sizeof(many), &m), ENOSPC);
}
END_TEST

START_TEST(test_watch_fire_and_relative)
{
        struct msg m;
        ck_assert_int_eq(two(c1, XS_WATCH, 0, "data", "tok", &m), 0);
        ck_assert_str_eq(m.data, "OK");
        /* Fires once at registration with the path as given. */
        ck_assert(pop(c1, true, &m));
        ck_assert_str_eq(m.data, "data");
        ck_assert_str_eq(m.data + 5, "tok");
        ck_assert_uint_eq(m.req_id, 0);
        ck_assert_int_eq(two(c1, XS_WATCH, 0, "data", "tok", &m), EEXIST);
        /* Children fire, with relative event paths. */
        ck_assert_int_eq(wr(c0, 0, "/local/domain/1/data/x/y", "1"), 0);
        ck_assert(pop(c1, true, &m));
        ck_assert_str_eq(m.data, "data/x/y");
        ck_assert(!pop(c1, true, &m));
        /* Another guest cannot watch into it usefully: no events. */
        ck_assert_int_eq(two(c2, XS_WATCH, 0, "/local/domain/1/data", "t2", &m), 0);
        drain_events(c2);
        ck_assert_int_eq(wr(c1, 0, "data/z", "1"), 0);
        ck_assert(!pop(c2, true, &m));
        ck_assert(pop(c1, true, &m));
        ck_assert_str_eq(m.data, "data/z");
        /* rm fires for the node and, exactly, for watches below it. */
        ck_assert_int_eq(two(c0, XS_WATCH, 0, "/local/domain/1/data/x/y", "deep", &m), 0);
        drain_events(c0);
        ck_assert_int_eq(one(c0, XS_RM, 0, "/local/domain/1/data/x"), 0);
        ck_assert(pop(c0, true, &m));
        ck_assert_str_eq(m.data, "/local/domain/1/data/x/y");
        ck_assert(pop(c1, true, &m));
        ck_assert_str_eq(m.data, "data/x");
        ck_assert_int_eq(two(c1, XS_UNWATCH, 0, "data", "tok", &m), 0);
        ck_assert_int_eq(two(c1, XS_UNWATCH, 0, "data", "tok", &m), ENOENT);
        ck_assert_int_eq(wr(c1, 0, "data/q", "1"), 0);
        ck_assert(!pop(c1, true, &m));
}
END_TEST

START_TEST(test_special_watches)
{
        struct msg m;
        ck_assert_int_eq(two(c0, XS_WATCH, 0, "@releaseDomain", "r", &m), 0);
        ck_assert_int_eq(two(c1, XS_WATCH, 0, "@releaseDomain", "r", &m), 0);
        ck_assert_int_eq(two(c0, XS_WATCH, 0, "@introduceDomain", "i", &m), 0);
        drain_events(c0);
        drain_events(c1);
        ck_assert_int_eq(xsd_domain_introduce(x, 3), 0);
        ck_assert(pop(c0, true, &m));
        ck_assert_str_eq(m.data, "@introduceDomain");
        ck_assert_int_eq(xsd_domain_release(x, 2), 0);
        ck_assert(pop(c0, true, &m));
        ck_assert_str_eq(m.data, "@releaseDomain");
        ck_assert(!pop(c1, true, &m)); /* unprivileged: not by default */
        /* dom0 may open it up, as xenstored's set_perms_special. */
        static const char open[] = "@releaseDomain\0n0\0r1";
        ck_assert_int_eq(rq(c0, XS_SET_PERMS, 0, open, sizeof(open), &m), 0);
        ck_assert_int_eq(xsd_domain_release(x, 3), 0);
        ck_assert(pop(c1, true, &m));
        ck_assert_str_eq(m.data, "@releaseDomain");
}
END_TEST

START_TEST(test_release_removes_trees_and_connections)
{
        struct msg m;
        ck_assert_int_eq(wr(c0, 0, "/local/domain/0/backend/vif/2/0/state", "1"), 0);
        ck_assert_int_eq(wr(c0, 0, "/local/domain/0/backend/vbd/2/51712/state", "1"), 0);
        ck_assert_int_eq(wr(c0, 0, "/local/domain/0/backend/vif/1/0/state", "1"), 0);
        ck_assert_int_eq(two(c2, XS_WATCH, 0, "data", "t", &m), 0);
        ck_assert_int_eq(xsd_domain_release(x, 2), 0);
        ck_assert_int_eq(rd(c0, 0, "/local/domain/2", &m), ENOENT);
        ck_assert_int_eq(rd(c0, 0, "/local/domain/0/backend/vif/2", &m), ENOENT);
        ck_assert_int_eq(rd(c0, 0, "/local/domain/0/backend/vbd/2", &m), ENOENT);
        ck_assert_int_eq(rd(c0, 0, "/local/domain/0/backend/vif/1/0/state", &m), 0);
        ck_assert_int_eq(rd(c0, 0, "/libxl/2", &m), ENOENT);
        ck_assert_ptr_null(xsd_domain_find(x, 2));
        /* The guest's connection went with it. */
        for (struct xsd_conn *c = x->conns; c; c = c->next)
                ck_assert_uint_ne(c->domid, 2);
        c2 = NULL;
        ck_assert_int_eq(xsd_domain_release(x, 2), -ENOENT);
        ck_assert_int_eq(xsd_domain_introduce(x, 1), -EEXIST);
}
END_TEST

START_TEST(test_txn_conflict_eagain)
{
        struct msg m;
        ck_assert_int_eq(wr(c0, 0, "/local/domain/1/data/a", "1"), 0);
        ck_assert_int_eq(wr(c0, 0, "/local/domain/1/data/b", "1"), 0);
        uint32_t t = tx_start(c1);
        ck_assert_uint_ne(t, 0);
        ck_assert_int_eq(rd(c1, t, "/local/domain/1/data/a", &m), 0);
        ck_assert_int_eq(wr(c0, 0, "/local/domain/1/data/a", "2"), 0); /* conflicting write */
        ck_assert_int_eq(rd(c1, t, "/local/domain/1/data/a", &m), 0);
        ck_assert_str_eq(m.data, "1"); /* the transaction keeps its view */
        ck_assert_int_eq(wr(c1, t, "data/out", "x"), 0);
        ck_assert_int_eq(one(c1, XS_TRANSACTION_END, t, "T"), EAGAIN);
        ck_assert_int_eq(rd(c1, 0, "data/out", &m), ENOENT);
        ck_assert_int_eq(one(c1, XS_TRANSACTION_END, t, "T"), ENOENT);
}
END_TEST

START_TEST(test_txn_unrelated_write_commits)
{
        struct msg m;
        ck_assert_int_eq(wr(c0, 0, "/local/domain/1/data/a", "1"), 0);
        ck_assert_int_eq(wr(c0, 0, "/local/domain/1/data/b", "1"), 0);
        ck_assert_int_eq(two(c0, XS_WATCH, 0, "/local/domain/1/data", "w", &m), 0);
        drain_events(c0);
        uint32_t t = tx_start(c1);
        ck_assert_int_eq(rd(c1, t, "/local/domain/1/data/a", &m), 0);
        ck_assert_int_eq(wr(c0, 0, "/local/domain/1/data/b", "2"),
                         0); /* not read by the transaction */
        drain_events(c0);
        ck_assert_int_eq(wr(c1, t, "data/out", "x"), 0);
        ck_assert_int_eq(rd(c1, t, "data/out", &m), 0);
        ck_assert_int_eq(rd(c0, 0, "/local/domain/1/data/out", &m), ENOENT); /* isolated */
        ck_assert(!pop(c0, true, &m)); /* watches wait for the commit */
        ck_assert_int_eq(one(c1, XS_TRANSACTION_END, t, "T"), 0);
        ck_assert_int_eq(rd(c0, 0, "/local/domain/1/data/out", &m), 0);
        ck_assert_str_eq(m.data, "x");
        ck_assert(pop(c0, true, &m));
        ck_assert_str_eq(m.data, "/local/domain/1/data/out");
}
END_TEST

START_TEST(test_txn_abort_and_errors)
{
        struct msg m;
        uint32_t t = tx_start(c1);
        ck_assert_int_eq(wr(c1, t, "data/gone", "x"), 0);
        ck_assert_int_eq(one(c1, XS_TRANSACTION_END, t, "F"), 0);
        ck_assert_int_eq(rd(c1, 0, "data/gone", &m), ENOENT);
        ck_assert_int_eq(rd(c1, 4242, "data", &m), ENOENT); /* unknown tx id */
        ck_assert_int_eq(one(c1, XS_TRANSACTION_END, 0, "T"), ENOENT);
        t = tx_start(c1);
        ck_assert_int_eq(one(c1, XS_TRANSACTION_END, t, "X"), EINVAL);
        ck_assert_int_eq(rq(c1, XS_TRANSACTION_START, t, "", 1, &m), EBUSY);
        /* Transaction ids are per connection. */
        ck_assert_int_eq(rd(c2, t, "data", &m), ENOENT);
        ck_assert_int_eq(one(c1, XS_TRANSACTION_END, t, "F"), 0);
}
END_TEST

START_TEST(test_quota_nodes_and_size)
{
        char path[64], big[XSD_QUOTA_NODE_SIZE];
        struct msg m;
        /* Record size: 24 header + 8 per perm + data + children. */
        memset(big, 'v', sizeof(big));
        big[XSD_QUOTA_NODE_SIZE - 24 - 8 - 1] = 0;
        ck_assert_int_eq(wr(c1, 0, "data/big", big), 0);
        big[XSD_QUOTA_NODE_SIZE - 24 - 8 - 1] = 'v';
        big[XSD_QUOTA_NODE_SIZE - 24 - 8] = 0;
        ck_assert_int_eq(wr(c1, 0, "data/big", big), ENOSPC);
        ck_assert_int_eq(wr(c0, 0, "/local/domain/1/data/big", big), 0); /* dom0: no quota */

        int owned = xsd_domain_find(x, 1)->nbentry, i;
        for (i = 0; owned + i < XSD_QUOTA_NODES; i++) {
                snprintf(path, sizeof(path), "data/d%d/n%d", i / 100, i % 100);
                int rc = wr(c1, 0, path, "");
                if (rc)
                        break;
                owned += (i % 100 == 0); /* the d<k> directory */
        }
        ck_assert_int_eq(xsd_domain_find(x, 1)->nbentry, XSD_QUOTA_NODES);
        ck_assert_int_eq(wr(c1, 0, "data/one-more", ""), ENOSPC);
        ck_assert_int_eq(rd(c1, 0, "data/one-more", &m), ENOENT);
        ck_assert_int_eq(one(c1, XS_RM, 0, "data/d0"), 0);
        ck_assert_int_eq(wr(c1, 0, "data/one-more", ""), 0);
}
END_TEST

START_TEST(test_quota_watches_and_transactions)
{
        char tok[16];
        struct msg m;
        int i;
        /* xenstored checks "count > quota" before adding: quota + 1 fit. */
        for (i = 0; i <= XSD_QUOTA_WATCHES; i++) {
                snprintf(tok, sizeof(tok), "t%d", i);
                ck_assert_int_eq(two(c1, XS_WATCH, 0, "data", tok, &m), 0);
        }
        ck_assert_int_eq(two(c1, XS_WATCH, 0, "data", "last", &m), E2BIG);
        ck_assert_int_eq(one(c1, XS_RESET_WATCHES, 0, ""), 0);
        ck_assert_int_eq(two(c1, XS_WATCH, 0, "data", "again", &m), 0);
        drain_events(c1);
        for (i = 0; i <= XSD_QUOTA_TRANSACTIONS; i++)
                tx_start(c1);
        ck_assert_int_eq(rq(c1, XS_TRANSACTION_START, 0, "", 1, &m), ENOSPC);
        for (i = 0; i < 50; i++)
                tx_start(c0); /* dom0 is not limited */
}
END_TEST

START_TEST(test_privileged_only_and_unknown)
{
        struct msg m;
        ck_assert_int_eq(one(c1, XS_IS_DOMAIN_INTRODUCED, 0, "1"), EACCES);
        ck_assert_int_eq(rq(c0, XS_IS_DOMAIN_INTRODUCED, 0, "1", 2, &m), 0);
        ck_assert_str_eq(m.data, "T");
        ck_assert_int_eq(rq(c0, XS_IS_DOMAIN_INTRODUCED, 0, "9", 2, &m), 0);
        ck_assert_str_eq(m.data, "F");
        ck_assert_int_eq(one(c1, XS_INTRODUCE, 0, "5"), EACCES);
        ck_assert_int_eq(one(c1, XS_RELEASE, 0, "1"), EACCES);
        ck_assert_int_eq(one(c1, XS_SET_TARGET, 0, "1"), EACCES);
        ck_assert_int_eq(one(c0, XS_RESUME, 0, "1"), 0);
        ck_assert_int_eq(one(c0, XS_RESUME, 0, "0"), EINVAL);
        ck_assert_int_eq(one(c0, XS_RESUME, 0, "9"), ENOENT);
        ck_assert_int_eq(rq(c0, 999, 0, "", 0, &m), ENOSYS);
        ck_assert_int_eq(rq(c0, XS_WATCH_EVENT, 0, "", 0, &m), ENOSYS);
        /* SET_TARGET: dom2 acts for dom1's nodes. */
        ck_assert_int_eq(rd(c2, 0, "/local/domain/1/data", &m), EACCES);
        ck_assert_int_eq(two(c0, XS_SET_TARGET, 0, "2", "1", &m), 0);
        ck_assert_int_eq(rd(c2, 0, "/local/domain/1/data", &m), 0);
}
END_TEST

START_TEST(test_big_reply_e2big)
{
        char path[64];
        struct msg m;
        /* A directory listing that cannot fit one message. */
        for (int i = 0; i < 400; i++) {
                snprintf(path, sizeof(path), "/big/child-with-a-long-name-%04d", i);
                ck_assert_int_eq(one(c0, XS_MKDIR, 0, path), 0);
        }
        ck_assert_int_eq(rq(c0, XS_DIRECTORY, 0, "/big", 5, &m), E2BIG);
        ck_assert_int_eq(two(c0, XS_DIRECTORY_PART, 0, "/big", "0", &m), 0);
        ck_assert_uint_le(m.len, XENSTORE_PAYLOAD_MAX);
}
END_TEST

static Suite *xsd_ops_suite(void)
{
        Suite *s = suite_create("xsd_ops");
        TCase *tc = tcase_create("ops");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_read_write_binary);
        tcase_add_test(tc, test_domain_tree_like_libxl);
        tcase_add_test(tc, test_domu_isolation);
        tcase_add_test(tc, test_relative_and_invalid_paths);
        tcase_add_test(tc, test_mkdir_rm_directory);
        tcase_add_test(tc, test_set_perms_rules);
        tcase_add_test(tc, test_watch_fire_and_relative);
        tcase_add_test(tc, test_special_watches);
        tcase_add_test(tc, test_release_removes_trees_and_connections);
        tcase_add_test(tc, test_txn_conflict_eagain);
        tcase_add_test(tc, test_txn_unrelated_write_commits);
        tcase_add_test(tc, test_txn_abort_and_errors);
        tcase_add_test(tc, test_quota_nodes_and_size);
        tcase_add_test(tc, test_quota_watches_and_transactions);
        tcase_add_test(tc, test_privileged_only_and_unknown);
        tcase_add_test(tc, test_big_reply_e2big);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(xsd_ops_suite)
