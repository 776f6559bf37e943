/* Integration tests of the simulator's xenstored through the real pvback-sim
 * daemon: real libxenstore clients acting as different domains, raw bytes on
 * the socket, and Debian's xenstore-* tools with XENSTORED_PATH. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/io/xs_wire.h>

#include "tests/lib/check_main.h"
#include "tests/lib/simhost.h"
#include "sim_paths.h"

static struct simhost h;
static struct xs_handle *xs0, *xs1, *xs2;

static void setup(void)
{
        memset(&h, 0, sizeof(h));
        ck_assert_int_eq(simhost_start(&h), 0);
        ck_assert_int_eq(simhost_domain_create(&h, 1), 0);
        ck_assert_int_eq(simhost_domain_create(&h, 2), 0);
        xs0 = simhost_xs_open(&h, 0);
        xs1 = simhost_xs_open(&h, 1);
        xs2 = simhost_xs_open(&h, 2);
        ck_assert(xs0 && xs1 && xs2);
}

static void teardown(void)
{
        if (xs0)
                xs_close(xs0);
        if (xs1)
                xs_close(xs1);
        if (xs2)
                xs_close(xs2);
        xs0 = xs1 = xs2 = NULL;
        simhost_stop(&h);
}

static char *rd(struct xs_handle *xs, const char *path)
{
        unsigned int len;
        return xs_read(xs, XBT_NULL, path, &len);
}

static bool wr(struct xs_handle *xs, xs_transaction_t t, const char *path, const char *val)
{
        return xs_write(xs, t, path, val, (unsigned int)strlen(val));
}

/* Next watch event within timeout_ms: its path in buf, or false. */
static bool next_event(struct xs_handle *xs, int timeout_ms, char *buf, size_t len)
{
        struct pollfd pfd = {.fd = xs_fileno(xs), .events = POLLIN};
        for (;;) {
                char **vec = xs_check_watch(xs);
                if (vec) {
                        snprintf(buf, len, "%s", vec[XS_WATCH_PATH]);
                        free(vec);
                        return true;
                }
                if (poll(&pfd, 1, timeout_ms) <= 0)
                        return false;
        }
}

static void expect_event(struct xs_handle *xs, const char *path)
{
        char buf[256];
        ck_assert_msg(next_event(xs, 3000, buf, sizeof(buf)), "no event for %s", path);
        ck_assert_str_eq(buf, path);
}

START_TEST(test_domu_cannot_read_other_domu)
{
        char *v = rd(xs1, "/local/domain/2/name");
        ck_assert_ptr_null(v);
        ck_assert_int_eq(errno, EACCES);
        ck_assert(!wr(xs1, XBT_NULL, "/local/domain/2/data/x", "1"));
        ck_assert_int_eq(errno, EACCES);
        v = rd(xs2, "/local/domain/2/name");
        ck_assert_str_eq(v, "sim-2");
        free(v);
        ck_assert_ptr_null(rd(xs1, "/local/domain/0/name"));
        ck_assert_int_eq(errno, EACCES);
}
END_TEST

START_TEST(test_relative_paths)
{
        char *v = rd(xs1, "domid");
        ck_assert_str_eq(v, "1");
        free(v);
        ck_assert(wr(xs1, XBT_NULL, "data/greeting", "hi"));
        v = rd(xs0, "/local/domain/1/data/greeting");
        ck_assert_str_eq(v, "hi");
        free(v);
        v = xs_get_domain_path(xs1, 1);
        ck_assert_str_eq(v, "/local/domain/1");
        free(v);
        unsigned int n;
        struct xs_permissions *p = xs_get_permissions(xs1, XBT_NULL, "data/greeting", &n);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(p[0].id, 1); /* the guest owns what it creates */
        free(p);
        ck_assert_ptr_null(rd(xs1, "data/none"));
        ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_watch_registration_children_relative)
{
        ck_assert(xs_watch(xs1, "data", "tok"));
        expect_event(xs1, "data");
        ck_assert(wr(xs0, XBT_NULL, "/local/domain/1/data/a/b", "1"));
        expect_event(xs1, "data/a/b");
        ck_assert(xs_watch(xs0, "/local/domain/1/data", "abs"));
        expect_event(xs0, "/local/domain/1/data");
        ck_assert(xs_rm(xs1, XBT_NULL, "data/a"));
        expect_event(xs1, "data/a");
        expect_event(xs0, "/local/domain/1/data/a");
        /* dom2 may watch dom1's data but hears nothing it may not read. */
        ck_assert(xs_watch(xs2, "/local/domain/1/data", "spy"));
        expect_event(xs2, "/local/domain/1/data");
        ck_assert(wr(xs1, XBT_NULL, "data/secret", "s"));
        expect_event(xs1, "data/secret");
        char buf[256];
        ck_assert(!next_event(xs2, 300, buf, sizeof(buf)));
        ck_assert(!xs_watch(xs1, "data", "tok"));
        ck_assert_int_eq(errno, EEXIST);
        ck_assert(xs_unwatch(xs1, "data", "tok"));
        ck_assert(!xs_unwatch(xs1, "data", "tok"));
        ck_assert_int_eq(errno, ENOENT);
}
END_TEST

START_TEST(test_transaction_conflict_and_success)
{
        ck_assert(wr(xs1, XBT_NULL, "data/a", "1"));
        ck_assert(wr(xs1, XBT_NULL, "data/b", "1"));
        xs_transaction_t t = xs_transaction_start(xs1);
        ck_assert_uint_ne(t, XBT_NULL);
        unsigned int len;
        free(xs_read(xs1, t, "data/a", &len));
        ck_assert(wr(xs0, XBT_NULL, "/local/domain/1/data/a", "2"));
        ck_assert(wr(xs1, t, "data/c", "x"));
        ck_assert(!xs_transaction_end(xs1, t, false));
        ck_assert_int_eq(errno, EAGAIN);
        ck_assert_ptr_null(rd(xs1, "data/c"));

        t = xs_transaction_start(xs1);
        free(xs_read(xs1, t, "data/a", &len));
        ck_assert(wr(xs0, XBT_NULL, "/local/domain/1/data/b", "2")); /* unrelated */
        ck_assert(wr(xs1, t, "data/c", "x"));
        ck_assert(xs_transaction_end(xs1, t, false));
        char *v = rd(xs0, "/local/domain/1/data/c");
        ck_assert_str_eq(v, "x");
        free(v);

        t = xs_transaction_start(xs1);
        ck_assert(wr(xs1, t, "data/d", "x"));
        ck_assert(xs_transaction_end(xs1, t, true)); /* abort */
        ck_assert_ptr_null(rd(xs1, "data/d"));
}
END_TEST

START_TEST(test_introduce_release_domain_watches)
{
        char buf[256];
        ck_assert(xs_watch(xs0, "@introduceDomain", "i"));
        expect_event(xs0, "@introduceDomain");
        ck_assert(xs_watch(xs0, "@releaseDomain", "r"));
        expect_event(xs0, "@releaseDomain");
        ck_assert(xs_watch(xs1, "@releaseDomain", "r"));
        expect_event(xs1, "@releaseDomain");
        ck_assert_int_eq(simhost_domain_create(&h, 3), 0);
        expect_event(xs0, "@introduceDomain");
        ck_assert(wr(xs0, XBT_NULL, "/local/domain/0/backend/vif/3/0/state", "1"));
        ck_assert_int_eq(simhost_domain_destroy(&h, 3), 0);
        expect_event(xs0, "@releaseDomain");
        ck_assert(!next_event(xs1, 300, buf, sizeof(buf))); /* unprivileged */
        ck_assert_ptr_null(rd(xs0, "/local/domain/3"));
        ck_assert_ptr_null(rd(xs0, "/local/domain/0/backend/vif/3"));
        ck_assert_int_eq(errno, ENOENT);
        ck_assert(!xs_is_domain_introduced(xs0, 3));
        ck_assert(xs_is_domain_introduced(xs0, 1));
}
END_TEST

START_TEST(test_quotas)
{
        char big[2100];
        memset(big, 'q', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        ck_assert(!wr(xs1, XBT_NULL, "data/big", big));
        ck_assert_int_eq(errno, ENOSPC);
        ck_assert(wr(xs0, XBT_NULL, "/local/domain/1/data/big", big)); /* dom0: no quota */

        xs_transaction_t t[12];
        int i;
        for (i = 0; i < 12; i++) {
                t[i] = xs_transaction_start(xs1);
                if (t[i] == XBT_NULL)
                        break;
        }
        ck_assert_int_eq(i, 11); /* xenstored's "> quota" check: quota + 1 */
        ck_assert_int_eq(errno, ENOSPC);
        while (i--)
                xs_transaction_end(xs1, t[i], true);

        char tok[16];
        for (i = 0; i < 200; i++) {
                snprintf(tok, sizeof(tok), "w%d", i);
                if (!xs_watch(xs2, "data", tok))
                        break;
        }
        ck_assert_int_eq(i, 129);
        ck_assert_int_eq(errno, E2BIG);
}
END_TEST

static int raw_connect(uint16_t domid)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        ck_assert_int_eq(sim_path_dom(sa.sun_path, sizeof(sa.sun_path), h.dir, domid, SIM_XS_SOCK),
                         0);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        struct timeval tv = {.tv_sec = 3};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        return fd;
}

static void raw_send(int fd, uint32_t type, uint32_t req, uint32_t tx, const void *p, uint32_t len,
                     uint32_t claimed_len)
{
        struct xsd_sockmsg m = {.type = type, .req_id = req, .tx_id = tx, .len = claimed_len};
        ck_assert_int_eq(send(fd, &m, sizeof(m), MSG_NOSIGNAL), (int)sizeof(m));
        if (len)
                ck_assert_int_eq(send(fd, p, len, MSG_NOSIGNAL), (int)len);
}

static bool read_full(int fd, void *buf, size_t len)
{
        for (size_t off = 0; off < len;) {
                ssize_t n = read(fd, (char *)buf + off, len - off);
                if (n <= 0)
                        return false;
                off += (size_t)n;
        }
        return true;
}

static void raw_expect(int fd, uint32_t type, uint32_t req, const char *payload, size_t len)
{
        struct xsd_sockmsg m;
        char buf[XENSTORE_PAYLOAD_MAX];
        ck_assert(read_full(fd, &m, sizeof(m)));
        ck_assert_uint_eq(m.type, type);
        ck_assert_uint_eq(m.req_id, req);
        ck_assert_uint_eq(m.len, len);
        ck_assert(read_full(fd, buf, m.len));
        ck_assert_int_eq(memcmp(buf, payload, len), 0);
}

START_TEST(test_raw_malformed_messages)
{
        int fd = raw_connect(1);
        raw_send(fd, XS_READ, 1, 0, "domid", 5, 5); /* no NUL */
        raw_expect(fd, XS_ERROR, 1, "EINVAL", 7);
        raw_send(fd, 99, 2, 0, NULL, 0, 0);
        raw_expect(fd, XS_ERROR, 2, "ENOSYS", 7);
        raw_send(fd, XS_READ, 3, 777, "domid", 6, 6);
        raw_expect(fd, XS_ERROR, 3, "ENOENT", 7); /* unknown transaction */
        raw_send(fd, XS_INTRODUCE, 4, 0, "5\0001\0001", 6, 6);
        raw_expect(fd, XS_ERROR, 4, "EACCES", 7);
        raw_send(fd, XS_READ, 5, 0, "domid", 6, 6);
        raw_expect(fd, XS_READ, 5, "1", 1);
        /* Oversized: xenstored drops the connection. */
        raw_send(fd, XS_WRITE, 6, 0, NULL, 0, XENSTORE_PAYLOAD_MAX + 1);
        char c;
        ck_assert_int_eq(read(fd, &c, 1), 0);
        close(fd);

        /* Many requests without reading: input pauses, nothing is lost. */
        fd = raw_connect(2);
        for (uint32_t i = 0; i < 60; i++)
                raw_send(fd, XS_READ, 100 + i, 0, "domid", 6, 6);
        for (uint32_t i = 0; i < 60; i++)
                raw_expect(fd, XS_READ, 100 + i, "2", 1);
        close(fd);

        /* The daemon is fine. */
        char *v = rd(xs1, "domid");
        ck_assert_str_eq(v, "1");
        free(v);
}
END_TEST

START_TEST(test_client_that_never_reads_is_dropped)
{
        int fd = raw_connect(0);
        int sz = 4096;
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        raw_send(fd, XS_WATCH, 1, 0, "/flood\0t", 9, 9);
        /* Long paths make each event ~2 KiB: well past the output cap. */
        char longname[1901], path[2048];
        memset(longname, 'f', sizeof(longname) - 1);
        longname[sizeof(longname) - 1] = 0;
        for (int i = 0; i < 1500; i++) {
                snprintf(path, sizeof(path), "/flood/%s/%d", longname, i);
                ck_assert(wr(xs0, XBT_NULL, path, ""));
        }
        /* The daemon still answers everyone else. */
        char *v = rd(xs1, "domid");
        ck_assert_str_eq(v, "1");
        free(v);
        /* And the flooded client was disconnected (reads end at EOF). */
        char buf[65536];
        ssize_t n;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
                ;
        ck_assert_int_eq(n, 0);
        close(fd);
}
END_TEST

/* Runs argv with XENSTORED_PATH set to domid's socket; stdout into out. */
static int run_tool(uint16_t domid, char *out, size_t outlen, const char *const argv[])
{
        char sock[512];
        int pfd[2];
        ck_assert_int_eq(sim_path_dom(sock, sizeof(sock), h.dir, domid, SIM_XS_SOCK), 0);
        ck_assert_int_eq(pipe(pfd), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
                dup2(pfd[1], 1);
                if (null >= 0)
                        dup2(null, 2); /* expected failures print to stderr */
                close(pfd[0]);
                close(pfd[1]);
                setenv("XENSTORED_PATH", sock, 1);
                execvp(argv[0], (char *const *)argv);
                _exit(127);
        }
        close(pfd[1]);
        size_t used = 0;
        ssize_t n;
        while (used + 1 < outlen && (n = read(pfd[0], out + used, outlen - 1 - used)) > 0)
                used += (size_t)n;
        out[used] = 0;
        close(pfd[0]);
        return simhost_wait(pid, 5000);
}

START_TEST(test_debian_cli_tools)
{
        char out[4096];
        ck_assert_int_eq(run_tool(0, out, sizeof(out),
                                  (const char *const[]){"xenstore-write", "/cli/a", "hello",
                                                        "/cli/b/c", "deep", NULL}),
                         0);
        ck_assert_int_eq(
            run_tool(0, out, sizeof(out), (const char *const[]){"xenstore-read", "/cli/a", NULL}),
            0);
        ck_assert_str_eq(out, "hello\n");
        ck_assert_int_eq(
            run_tool(0, out, sizeof(out), (const char *const[]){"xenstore-ls", "/cli", NULL}), 0);
        ck_assert_str_eq(out, "a = \"hello\"\nb = \"\"\n c = \"deep\"\n");
        ck_assert_int_eq(
            run_tool(0, out, sizeof(out), (const char *const[]){"xenstore-list", "/cli", NULL}), 0);
        ck_assert_str_eq(out, "a\nb\n");
        /* chmod, then a guest's xenstore-read sees it. */
        ck_assert_int_ne(
            run_tool(1, out, sizeof(out), (const char *const[]){"xenstore-read", "/cli/a", NULL}),
            0);
        ck_assert_int_eq(
            run_tool(0, out, sizeof(out),
                     (const char *const[]){"xenstore-chmod", "/cli/a", "n0", "r1", NULL}),
            0);
        ck_assert_int_eq(
            run_tool(1, out, sizeof(out), (const char *const[]){"xenstore-read", "/cli/a", NULL}),
            0);
        ck_assert_str_eq(out, "hello\n");
        ck_assert_int_eq(
            run_tool(1, out, sizeof(out), (const char *const[]){"xenstore-read", "domid", NULL}),
            0);
        ck_assert_str_eq(out, "1\n");
        /* xenstore-watch: the registration event, then the change. */
        char sock[512];
        int pfd[2];
        ck_assert_int_eq(sim_path_dom(sock, sizeof(sock), h.dir, 0, SIM_XS_SOCK), 0);
        ck_assert_int_eq(pipe(pfd), 0);
        pid_t pid = fork();
        if (pid == 0) {
                dup2(pfd[1], 1);
                close(pfd[0]);
                close(pfd[1]);
                setenv("XENSTORED_PATH", sock, 1);
                execlp("xenstore-watch", "xenstore-watch", "-n", "2", "/cli/w", (char *)NULL);
                _exit(127);
        }
        close(pfd[1]);
        struct pollfd p = {.fd = pfd[0], .events = POLLIN};
        ck_assert_int_eq(poll(&p, 1, 3000), 1); /* first event printed */
        ck_assert(wr(xs0, XBT_NULL, "/cli/w/x", "1"));
        size_t used = 0;
        ssize_t n;
        while ((n = read(pfd[0], out + used, sizeof(out) - 1 - used)) > 0)
                used += (size_t)n;
        out[used] = 0;
        close(pfd[0]);
        ck_assert_int_eq(simhost_wait(pid, 5000), 0);
        ck_assert_str_eq(out, "/cli/w\n/cli/w/x\n");
        /* rm and exists */
        ck_assert_int_eq(
            run_tool(0, out, sizeof(out), (const char *const[]){"xenstore-rm", "/cli/b", NULL}), 0);
        ck_assert_int_ne(run_tool(0, out, sizeof(out),
                                  (const char *const[]){"xenstore-exists", "/cli/b/c", NULL}),
                         0);
        ck_assert_int_eq(
            run_tool(0, out, sizeof(out), (const char *const[]){"xenstore-exists", "/cli/a", NULL}),
            0);
}
END_TEST

static Suite *xenstored_suite(void)
{
        Suite *s = suite_create("xenstored");
        TCase *tc = tcase_create("daemon");
        tcase_set_timeout(tc, 60);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_domu_cannot_read_other_domu);
        tcase_add_test(tc, test_relative_paths);
        tcase_add_test(tc, test_watch_registration_children_relative);
        tcase_add_test(tc, test_transaction_conflict_and_success);
        tcase_add_test(tc, test_introduce_release_domain_watches);
        tcase_add_test(tc, test_quotas);
        tcase_add_test(tc, test_raw_malformed_messages);
        tcase_add_test(tc, test_client_that_never_reads_is_dropped);
        tcase_add_test(tc, test_debian_cli_tools);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(xenstored_suite)
