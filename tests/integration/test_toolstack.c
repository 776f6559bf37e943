/* Integration tests of `pvback-sim vif|vbd attach|detach` on a private
 * simulated host: a minimal fake backend (dom0: 1→2 on add, 5→6 on remove)
 * and test hotplug scripts. The resulting trees are compared with what libxl
 * 4.17 wrote on real Xen (tests/data/real-xen) and validated against the
 * schema; the timeouts and failure paths report libxl's errors. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check_main.h"
#include "proc.h"
#include "tmpdir.h"
#include "schema.h"
#include "simhost.h"
#include "tools/sim/toolstack.h"

static struct simhost host;
static char tmp[256];
static pid_t backend_pid;

static void tmp_path(char *buf, size_t len, const char *name)
{
        snprintf(buf, len, "%s/%s", tmp, name);
}

static char *read_text(const char *path)
{
        FILE *f = fopen(path, "r");
        char *buf = calloc(1, 1 << 16);
        if (f) {
                size_t n = fread(buf, 1, (1 << 16) - 1, f);
                buf[n] = '\0';
                fclose(f);
        }
        return buf;
}

static void write_script(const char *name, const char *body)
{
        char path[PATH_MAX];
        tmp_path(path, sizeof(path), name);
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "#!/bin/sh\n%s", body);
        fclose(f);
        chmod(path, 0755);
}

/* ---- the fake backend (dom0) ------------------------------------------- */

static char *xread(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key)
{
        char path[512];
        unsigned len;
        snprintf(path, sizeof(path), "%s/%s", dir, key);
        return xs_read(xs, t, path, &len);
}

/* What Linux netback writes before InitWait (netback_probe; values as in the
 * phase B dump): a backend in InitWait without them is incomplete, and the
 * schema says so. */
static void write_vif_features(struct xs_handle *xs, xs_transaction_t t, const char *dir)
{
        static const char *const kv[][2] = {
            {"feature-sg", "1"},
            {"feature-gso-tcpv4", "1"},
            {"feature-gso-tcpv6", "1"},
            {"feature-ipv6-csum-offload", "1"},
            {"feature-rx-copy", "1"},
            {"feature-rx-flip", "0"},
            {"feature-multicast-control", "1"},
            {"feature-dynamic-multicast-control", "1"},
            {"feature-split-event-channels", "1"},
            {"multi-queue-max-queues", "2"},
            {"feature-ctrl-ring", "1"},
            {"feature-xdp-headroom", "1"},
        };
        for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++) {
                char path[512];
                snprintf(path, sizeof(path), "%s/%s", dir, kv[i][0]);
                xs_write(xs, t, path, kv[i][1], (unsigned)strlen(kv[i][1]));
        }
}

/* One device: InitWait once online=1 and state=1, Closed once state=5. The
 * reads share a transaction, so what it logs about online and state at
 * Closing is what one transaction made visible together. */
static void backend_device(struct xs_handle *xs, const char *dir, FILE *log)
{
        for (;;) {
                xs_transaction_t t = xs_transaction_start(xs);
                char *state = xread(xs, t, dir, "state");
                char *online = xread(xs, t, dir, "online");
                const char *next = NULL;
                if (state && online && !strcmp(state, "1") && !strcmp(online, "1")) {
                        if (strstr(dir, "/backend/vif/"))
                                write_vif_features(xs, t, dir);
                        next = "2";
                }
                if (state && !strcmp(state, "5")) {
                        fprintf(log, "%s closing online=%s\n", dir, online ? online : "-");
                        fflush(log);
                        next = "6";
                }
                if (next) {
                        char path[512];
                        snprintf(path, sizeof(path), "%s/state", dir);
                        xs_write(xs, t, path, next, 1);
                }
                free(state);
                free(online);
                if (xs_transaction_end(xs, t, false) || errno != EAGAIN)
                        return;
        }
}

static void backend_scan(struct xs_handle *xs, FILE *log)
{
        static const char *const kinds[] = {"vif", "vbd"};
        for (int k = 0; k < 2; k++) {
                char base[128];
                unsigned nd = 0;
                snprintf(base, sizeof(base), "/local/domain/0/backend/%s", kinds[k]);
                char **doms = xs_directory(xs, XBT_NULL, base, &nd);
                for (unsigned i = 0; doms && i < nd; i++) {
                        char ddir[256];
                        unsigned nv = 0;
                        snprintf(ddir, sizeof(ddir), "%s/%s", base, doms[i]);
                        char **devs = xs_directory(xs, XBT_NULL, ddir, &nv);
                        for (unsigned j = 0; devs && j < nv; j++) {
                                char dir[384];
                                snprintf(dir, sizeof(dir), "%s/%s", ddir, devs[j]);
                                backend_device(xs, dir, log);
                        }
                        free(devs);
                }
                free(doms);
        }
}

static int fake_backend(void *arg)
{
        FILE *log = fopen(arg, "a");
        struct xs_handle *xs = xs_open(0);
        if (!xs || !log || !xs_watch(xs, "/local/domain/0/backend", "be"))
                return 1;
        for (;;) {
                unsigned n;
                char **ev = xs_read_watch(xs, &n);
                if (!ev)
                        return 1;
                free(ev);
                backend_scan(xs, log);
        }
}

static void start_backend(void)
{
        static char log[PATH_MAX];
        tmp_path(log, sizeof(log), "backend.log");
        backend_pid = simhost_spawn(&host, 0, fake_backend, log);
        ck_assert_int_gt(backend_pid, 0);
}

/* ---- fixture ------------------------------------------------------------ */

static void setup(void)
{
        ck_assert_int_eq(simhost_start(&host), 0);
        ck_assert_int_eq(simhost_domain_create(&host, 1), 0);
        ck_assert_int_eq(tmpdir_make(tmp, sizeof(tmp), "pvback-ts"), 0);
        /* Records argv and the environment, then reports success as the stock
         * scripts' success() does. */
        write_script("ok.sh",
                     "{ echo \"args: $*\"; env | sort; } >> \"$(dirname \"$0\")/hotplug.log\"\n"
                     "case \"$1\" in online|add) xenstore-write \"$XENBUS_PATH/hotplug-status\" "
                     "connected ;; esac\n");
        /* As fatal() in xen-hotplug-common.sh. */
        write_script("fail.sh", "xenstore-write \"$XENBUS_PATH/hotplug-error\" \"Could not find "
                                "bridge device xenbr9\" \"$XENBUS_PATH/hotplug-status\" error\n"
                                "exit 1\n");
        write_script("slow.sh", "echo $$ > \"$(dirname \"$0\")/slow.pid\"\nsleep 60\n");
        char img[PATH_MAX];
        tmp_path(img, sizeof(img), "disk.img");
        close(open(img, O_CREAT | O_WRONLY, 0644));
}

static void teardown(void)
{
        if (backend_pid > 0) {
                kill(backend_pid, SIGKILL);
                simhost_wait(backend_pid, 5000);
                backend_pid = 0;
        }
        simhost_stop(&host);
        tmpdir_remove(tmp);
}

/* ---- running the toolstack ---------------------------------------------- */

/* Runs toolstack_<kind>_main as `pvback-sim <kind> ...` would, in a child
 * with stderr captured into err. Returns the exit status. */
static int run(const char *kind, const char *const args[], char *err, size_t errlen, long *ms)
{
        char errfile[PATH_MAX];
        const char *argv[40];
        int argc = 0;
        tmp_path(errfile, sizeof(errfile), "stderr.txt");
        for (int i = 0; args[i] && argc < 38; i++)
                argv[argc++] = args[i];
        argv[argc] = NULL;
        uint64_t t0 = now_ms();
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = open(errfile, O_CREAT | O_TRUNC | O_WRONLY, 0644);
                dup2(fd, STDERR_FILENO);
                int rc = strcmp(kind, "vif") == 0
                             ? toolstack_vif_main(host.dir, argc, (char **)argv)
                             : toolstack_vbd_main(host.dir, argc, (char **)argv);
                _exit(rc);
        }
        int status = simhost_wait(pid, 90000);
        if (ms)
                *ms = now_ms() - t0;
        char *text = read_text(errfile);
        if (err)
                snprintf(err, errlen, "%s", text);
        if (getenv("PVBACK_TEST_VERBOSE"))
                fprintf(stderr, "pvback-sim %s %s → %d\n%s", kind, args[0], status, text);
        free(text);
        return status;
}

static struct xs_handle *dom0(void)
{
        struct xs_handle *xs = simhost_xs_open(&host, 0);
        ck_assert_ptr_nonnull(xs);
        return xs;
}

static char *get(struct xs_handle *xs, const char *path)
{
        unsigned len;
        return xs_read(xs, XBT_NULL, path, &len);
}

static bool exists(struct xs_handle *xs, const char *path)
{
        char *v = get(xs, path);
        free(v);
        return v != NULL;
}

static void assert_value(struct xs_handle *xs, const char *path, const char *want)
{
        char *v = get(xs, path);
        ck_assert_msg(v && strcmp(v, want) == 0, "%s is '%s', expected '%s'", path,
                      v ? v : "(absent)", want);
        free(v);
}

/* The live tree validates against the repository's schema. */
static void assert_schema_valid(struct xs_handle *xs)
{
        char dir[PATH_MAX], err[512];
        const char *src = getenv("PVBACK_SRC");
        snprintf(dir, sizeof(dir), "%s/xenstore-schema", src && *src ? src : ".");
        struct schema *s;
        ck_assert_int_eq(schema_new(&s), 0);
        ck_assert_msg(schema_load_dir(s, dir, err, sizeof(err)) == 0, "%s", err);
        const char *const root[] = {"/"};
        struct schema_node *nodes;
        size_t n;
        ck_assert_int_eq(schema_read_xs(xs, root, 1, &nodes, &n), 0);
        struct schema_findings f = {0};
        ck_assert_int_eq(schema_validate(s, nodes, n, &f), 0);
        for (size_t i = 0; i < f.n; i++)
                fprintf(stderr, "schema: %s: %s\n", f.v[i].path, f.v[i].msg);
        ck_assert_uint_eq(f.n, 0);
        schema_findings_free(&f);
        schema_nodes_free(nodes, n);
        schema_free(s);
}

/* ---- comparison with the reference dumps -------------------------------- */

struct dump {
        char *text;
        struct schema_node *nodes;
        size_t n;
};

static void dump_load(struct dump *d, const char *name)
{
        char path[PATH_MAX];
        const char *src = getenv("PVBACK_SRC");
        snprintf(path, sizeof(path), "%s/tests/data/real-xen/%s", src && *src ? src : ".", name);
        d->text = read_text(path);
        ck_assert_int_eq(schema_parse_ls(d->text, &d->nodes, &d->n, NULL), 0);
        ck_assert_uint_gt(d->n, 10);
}

static const struct schema_node *find(const struct schema_node *v, size_t n, const char *path)
{
        for (size_t i = 0; i < n; i++)
                if (strcmp(v[i].path, path) == 0)
                        return &v[i];
        return NULL;
}

static bool under(const char *path, const char *const *prefixes)
{
        for (int i = 0; prefixes[i]; i++) {
                size_t l = strlen(prefixes[i]);
                if (!strncmp(path, prefixes[i], l) && (path[l] == '\0' || path[l] == '/'))
                        return true;
        }
        return false;
}

static bool listed(const char *key, const char *const *keys)
{
        for (int i = 0; keys && keys[i]; i++)
                if (strcmp(key, keys[i]) == 0)
                        return true;
        return false;
}

/* The live nodes under prefixes equal the reference's (same paths, values,
 * permissions), except that keys named in `keep_only` restrict the reference
 * to those keys (NULL: all), and keys in `any_value` are compared for
 * presence and permissions only. */
static void compare_tree(struct xs_handle *xs, const struct dump *ref, const char *const *prefixes,
                         const char *const *keep_only, const char *const *any_value)
{
        struct schema_node *live;
        size_t nlive, compared = 0, nprefix = 0;
        while (prefixes[nprefix])
                nprefix++;
        ck_assert_int_eq(schema_read_xs(xs, prefixes, nprefix, &live, &nlive), 0);
        for (size_t i = 0; i < ref->n; i++) {
                const struct schema_node *r = &ref->nodes[i];
                if (!under(r->path, prefixes))
                        continue;
                const char *key = strrchr(r->path, '/') + 1;
                bool is_dir = strcmp(r->value, "") == 0 && !listed(key, keep_only);
                if (keep_only && !is_dir && !listed(key, keep_only))
                        continue;
                const struct schema_node *l = find(live, nlive, r->path);
                ck_assert_msg(l != NULL, "%s missing (libxl wrote it)", r->path);
                if (!listed(key, any_value))
                        ck_assert_msg(strcmp(l->value, r->value) == 0,
                                      "%s = '%s', libxl wrote '%s'", r->path, l->value, r->value);
                ck_assert_msg(strcmp(l->perms, r->perms) == 0, "%s perms (%s), libxl's (%s)",
                              r->path, l->perms, r->perms);
                compared++;
        }
        for (size_t i = 0; i < nlive; i++)
                ck_assert_msg(find(ref->nodes, ref->n, live[i].path) != NULL,
                              "%s = '%s' is not in libxl's tree", live[i].path, live[i].value);
        ck_assert_uint_eq(compared, nlive);
        schema_nodes_free(live, nlive);
}

/* ---- tests -------------------------------------------------------------- */

/* What xl create wrote for disk=['phy:/srv/xen/domu.img,xvda,w'] while no
 * backend answered (phase A): the same keys, values and permissions. */
START_TEST(vbd_attach_matches_phase_a)
{
        const char *const args[] = {"attach",
                                    "--domid",
                                    "1",
                                    "--vdev",
                                    "xvda",
                                    "--target",
                                    "/srv/xen/domu.img",
                                    "--script",
                                    "/etc/xen/scripts/block",
                                    "--no-wait",
                                    NULL};
        char err[4096];
        ck_assert_int_eq(run("vbd", args, err, sizeof(err), NULL), 0);
        struct xs_handle *xs = dom0();
        struct dump ref;
        dump_load(&ref, "phaseA-xenstore.txt");
        const char *const prefixes[] = {"/local/domain/0/backend/vbd", "/local/domain/1/device/vbd",
                                        NULL};
        compare_tree(xs, &ref, prefixes, NULL, NULL);
        /* The private copy: frontend, backend and every backend key. */
        assert_value(xs, "/libxl/1/device/vbd/51712/backend",
                     "/local/domain/0/backend/vbd/1/51712");
        assert_value(xs, "/libxl/1/device/vbd/51712/frontend", "/local/domain/1/device/vbd/51712");
        assert_value(xs, "/libxl/1/device/vbd/51712/params", "/srv/xen/domu.img");
        assert_value(xs, "/libxl/1/device/vbd/51712/specification", "xen");
        assert_schema_valid(xs);
        free(ref.nodes);
        free(ref.text);
        xs_close(xs);
}
END_TEST

static bool log_has(const char *name, const char *needle)
{
        char path[PATH_MAX];
        tmp_path(path, sizeof(path), name);
        char *text = read_text(path);
        bool found = strstr(text, needle) != NULL;
        free(text);
        return found;
}

START_TEST(vbd_attach_detach_sequence)
{
        char img[PATH_MAX], script[PATH_MAX], err[4096];
        tmp_path(img, sizeof(img), "disk.img");
        tmp_path(script, sizeof(script), "ok.sh");
        start_backend();
        const char *const add[] = {"attach", "--domid", "1", "--vdev",   "xvdb1", "--target",
                                   img,      "--mode",  "r", "--script", script,  NULL};
        ck_assert_msg(run("vbd", add, err, sizeof(err), NULL) == 0, "%s", err);
        struct xs_handle *xs = dom0();
        const char *be = "/local/domain/0/backend/vbd/1/51729";
        char path[256];
        snprintf(path, sizeof(path), "%s/state", be);
        assert_value(xs, path, "2");
        snprintf(path, sizeof(path), "%s/hotplug-status", be);
        assert_value(xs, path, "connected");
        snprintf(path, sizeof(path), "%s/discard-enable", be);
        assert_value(xs, path, "0");
        /* libxl's argv and environment (libxl_linux.c libxl__hotplug_disk). */
        ck_assert(log_has("hotplug.log", "args: add\n"));
        ck_assert(log_has("hotplug.log", "XENBUS_PATH=backend/vbd/1/51729\n"));
        ck_assert(log_has("hotplug.log", "XENBUS_TYPE=vbd\n"));
        ck_assert(log_has("hotplug.log", "XENBUS_BASE_PATH=backend\n"));
        ck_assert(log_has("hotplug.log", "XENSTORED_PATH="));
        char want[PATH_MAX + 16];
        snprintf(want, sizeof(want), "script=%s\n", script);
        ck_assert(log_has("hotplug.log", want));
        ck_assert(!log_has("hotplug.log", "netdev="));
        assert_schema_valid(xs);

        const char *const del[] = {"detach", "--domid", "1", "--vdev", "xvdb1", NULL};
        ck_assert_msg(run("vbd", del, err, sizeof(err), NULL) == 0, "%s", err);
        /* online=0 was visible together with state=5. */
        snprintf(path, sizeof(path), "%s closing online=0", be);
        ck_assert(log_has("backend.log", path));
        ck_assert(log_has("hotplug.log", "args: remove\n"));
        ck_assert(!exists(xs, be));
        ck_assert(!exists(xs, "/local/domain/0/backend/vbd"));
        ck_assert(!exists(xs, "/local/domain/1/device/vbd"));
        ck_assert(!exists(xs, "/libxl/1/device/vbd"));
        /* The guest's other nodes stay. */
        ck_assert(exists(xs, "/local/domain/1/device/suspend/event-channel"));
        xs_close(xs);
}
END_TEST

/* vif = ['mac=00:16:3e:00:00:01,bridge=xenbr0'] of domain 6 (phase B): the
 * toolstack's keys, values and permissions. The script is ours; the states
 * are those of a backend in InitWait. */
START_TEST(vif_attach_matches_phase_b)
{
        char script[PATH_MAX], err[4096];
        tmp_path(script, sizeof(script), "ok.sh");
        ck_assert_int_eq(simhost_domain_create(&host, 6), 0);
        start_backend();
        const char *const add[] = {"attach",   "--domid", "6", "--mac", "00:16:3e:00:00:01",
                                   "--script", script,    NULL};
        ck_assert_msg(run("vif", add, err, sizeof(err), NULL) == 0, "%s", err);
        struct xs_handle *xs = dom0();
        struct dump ref;
        dump_load(&ref, "phaseB-xenstore.txt");
        static const char *const front_keys[] = {"backend", "backend-id", "handle",  "mac",
                                                 "mtu",     "state",      "trusted", NULL};
        /* The backend: the toolstack's keys plus the features the fake
         * backend wrote before InitWait, as Linux netback does. */
        static const char *const back_keys[] = {"bridge",
                                                "frontend",
                                                "frontend-id",
                                                "handle",
                                                "hotplug-status",
                                                "mac",
                                                "online",
                                                "script",
                                                "state",
                                                "type",
                                                "feature-sg",
                                                "feature-gso-tcpv4",
                                                "feature-gso-tcpv6",
                                                "feature-ipv6-csum-offload",
                                                "feature-rx-copy",
                                                "feature-rx-flip",
                                                "feature-multicast-control",
                                                "feature-dynamic-multicast-control",
                                                "feature-split-event-channels",
                                                "multi-queue-max-queues",
                                                "feature-ctrl-ring",
                                                "feature-xdp-headroom",
                                                NULL};
        static const char *const moved_on[] = {"state", "script", NULL};
        const char *const back[] = {"/local/domain/0/backend/vif", NULL};
        const char *const front[] = {"/local/domain/6/device/vif", NULL};
        compare_tree(xs, &ref, back, back_keys, moved_on);
        compare_tree(xs, &ref, front, front_keys, moved_on);
        assert_value(xs, "/local/domain/0/backend/vif/6/0/state", "2");
        assert_value(xs, "/local/domain/6/device/vif/0/state", "1");
        assert_value(xs, "/libxl/6/device/vif/0/hotplug-status", "");
        /* libxl_linux.c libxl__hotplug_nic + get_hotplug_env. */
        ck_assert(log_has("hotplug.log", "args: online type_if=vif\n"));
        ck_assert(log_has("hotplug.log", "vif=vif6.0\n"));
        ck_assert(log_has("hotplug.log", "netdev=\n"));
        ck_assert(log_has("hotplug.log", "XENBUS_PATH=backend/vif/6/0\n"));
        assert_schema_valid(xs);

        const char *const del[] = {"detach", "--domid", "6", "--mac", "00:16:3e:00:00:01", NULL};
        ck_assert_msg(run("vif", del, err, sizeof(err), NULL) == 0, "%s", err);
        ck_assert(log_has("backend.log", "/local/domain/0/backend/vif/6/0 closing online=0"));
        ck_assert(log_has("hotplug.log", "args: offline type_if=vif\n"));
        ck_assert(!exists(xs, "/local/domain/0/backend/vif"));
        ck_assert(!exists(xs, "/local/domain/6/device/vif"));
        ck_assert(!exists(xs, "/libxl/6/device/vif"));
        free(ref.nodes);
        free(ref.text);
        xs_close(xs);
}
END_TEST

START_TEST(vif_next_devid_and_exists)
{
        char err[4096];
        const char *const add[] = {"attach", "--domid", "1", "--no-wait", NULL};
        ck_assert_int_eq(run("vif", add, err, sizeof(err), NULL), 0);
        ck_assert_int_eq(run("vif", add, err, sizeof(err), NULL), 0);
        struct xs_handle *xs = dom0();
        ck_assert(exists(xs, "/local/domain/0/backend/vif/1/0"));
        ck_assert(exists(xs, "/local/domain/0/backend/vif/1/1"));
        /* A random MAC in Xen's OUI. */
        char *mac = get(xs, "/local/domain/1/device/vif/1/mac");
        ck_assert_ptr_nonnull(mac);
        ck_assert_int_eq(strncmp(mac, "00:16:3e:", 9), 0);
        free(mac);
        const char *const again[] = {"attach", "--domid", "1", "--devid", "1", "--no-wait", NULL};
        ck_assert_int_eq(run("vif", again, err, sizeof(err), NULL), 1);
        ck_assert_msg(strstr(err, "device already exists in xenstore"), "%s", err);
        ck_assert_msg(strstr(err, "unable to add vif with id 1"), "%s", err);
        xs_close(xs);
}
END_TEST

/* No backend: libxl's error after the (shortened) InitWait timeout. */
START_TEST(attach_timeout)
{
        char err[4096];
        long ms;
        const char *const add[] = {"attach", "--domid",  "1",     "--vdev",    "xvda", "--target",
                                   "/x",     "--script", "block", "--timeout", "0.5",  NULL};
        ck_assert_int_eq(run("vbd", add, err, sizeof(err), &ms), 1);
        ck_assert_msg(strstr(err, "unable to add device with path "
                                  "/local/domain/0/backend/vbd/1/51712"),
                      "%s", err);
        ck_assert_int_ge(ms, 500);
        ck_assert_int_lt(ms, 5000);
}
END_TEST

START_TEST(hotplug_failure)
{
        char script[PATH_MAX], err[4096];
        tmp_path(script, sizeof(script), "fail.sh");
        start_backend();
        const char *const add[] = {"attach", "--domid", "1", "--script", script, NULL};
        ck_assert_int_eq(run("vif", add, err, sizeof(err), NULL), 1);
        ck_assert_msg(strstr(err, "online [") && strstr(err, "exited with error status 1"), "%s",
                      err);
        ck_assert_msg(strstr(err, "script: Could not find bridge device xenbr9"), "%s", err);
        ck_assert_msg(strstr(err, "unable to add vif with id 0"), "%s", err);
}
END_TEST

START_TEST(hotplug_timeout)
{
        char script[PATH_MAX], err[4096], pidfile[PATH_MAX];
        long ms;
        tmp_path(script, sizeof(script), "slow.sh");
        start_backend();
        const char *const add[] = {"attach", "--domid",           "1",   "--vdev",
                                   "xvda",   "--target",          "/x",  "--script",
                                   script,   "--hotplug-timeout", "0.5", NULL};
        ck_assert_int_eq(run("vbd", add, err, sizeof(err), &ms), 1);
        ck_assert_msg(strstr(err, "killing execution of "), "%s", err);
        ck_assert_msg(strstr(err, " add because of timeout"), "%s", err);
        ck_assert_int_lt(ms, 5000);
        /* The script is gone (killed with its process group). */
        tmp_path(pidfile, sizeof(pidfile), "slow.pid");
        char *pid = read_text(pidfile);
        ck_assert_int_gt(atoi(pid), 0);
        ck_assert_int_ne(kill(atoi(pid), 0), 0);
        free(pid);
}
END_TEST

/* No backend answers the removal: one forced retry, libxl's error, and the
 * directories are gone anyway. --no-wait shows the closing transaction. */
START_TEST(detach_timeout_and_no_wait)
{
        char err[4096];
        long ms;
        const char *const add[] = {"attach", "--domid",  "1",     "--vdev",    "xvda", "--target",
                                   "/x",     "--script", "block", "--no-wait", NULL};
        ck_assert_int_eq(run("vbd", add, err, sizeof(err), NULL), 0);
        const char *const close_only[] = {"detach", "--domid",   "1", "--vdev",
                                          "xvda",   "--no-wait", NULL};
        ck_assert_int_eq(run("vbd", close_only, err, sizeof(err), NULL), 0);
        struct xs_handle *xs = dom0();
        assert_value(xs, "/local/domain/0/backend/vbd/1/51712/online", "0");
        assert_value(xs, "/local/domain/0/backend/vbd/1/51712/state", "5");
        ck_assert(exists(xs, "/local/domain/1/device/vbd/51712"));

        const char *const del[] = {"detach", "--domid",   "1",   "--vdev",
                                   "xvda",   "--timeout", "0.3", NULL};
        ck_assert_int_eq(run("vbd", del, err, sizeof(err), &ms), 1);
        ck_assert_msg(strstr(err, "unable to remove device with path "
                                  "/local/domain/0/backend/vbd/1/51712"),
                      "%s", err);
        ck_assert_int_ge(ms, 600); /* the wait, then the forced one */
        ck_assert(!exists(xs, "/local/domain/0/backend/vbd/1/51712"));
        ck_assert(!exists(xs, "/local/domain/1/device/vbd"));
        ck_assert(!exists(xs, "/libxl/1/device/vbd"));
        xs_close(xs);
}
END_TEST

/* Through the real binary: pvback-sim vbd attach, --help, usage errors. */
START_TEST(cli_binary)
{
        char out[8192];
        const char *const help[] = {"vbd", "--help", NULL};
        ck_assert_int_eq(simhost_cli(&host, out, sizeof(out), help), 0);
        ck_assert_ptr_nonnull(strstr(out, "Usage: pvback-sim vbd attach"));
        ck_assert_ptr_nonnull(strstr(out, "--timeout SEC"));
        const char *const bad[] = {"vif", "attach", "--mac", "zz", "--domid", "1", NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, bad), 2);
        const char *const nodom[] = {"vbd", "attach", "--vdev", "xvda", "--target", "/x", NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, nodom), 2);
        const char *const add[] = {"vbd",      "attach", "--domid",  "1",     "--vdev",    "hdc",
                                   "--target", "/x",     "--script", "block", "--no-wait", NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, add), 0);
        struct xs_handle *xs = dom0();
        assert_value(xs, "/local/domain/1/device/vbd/5632/virtual-device", "5632");
        assert_value(xs, "/local/domain/0/backend/vbd/1/5632/dev", "hdc");
        xs_close(xs);
        /* libxl refuses a phy target that is neither a block device nor a file. */
        const char *const nophy[] = {"vbd",  "attach",   "--domid",           "1", "--vdev",
                                     "xvdc", "--target", "/nonexistent/disk", NULL};
        ck_assert_int_eq(simhost_cli(&host, NULL, 0, nophy), 1);
}
END_TEST

/* The stock Debian vif-bridge (xen-utils-common) against a real bridge in a
 * private network namespace; the netdev vif1.0 is a TAP standing in for
 * pvbackd's TAP. */
static int stock_vif_bridge_child(void)
{
        /* The scripts look at /sys/class/net, which shows the namespace of
         * whoever mounted sysfs: mount a fresh one in a private mount namespace. */
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
                return 77;
        if (system("ip link add xenbr0 type bridge && ip link set xenbr0 up && "
                   "ip tuntap add dev vif1.0 mode tap") != 0)
                return 77;
        start_backend();
        char err[4096];
        const char *const add[] = {"attach",
                                   "--domid",
                                   "1",
                                   "--mac",
                                   "00:16:3e:00:00:01",
                                   "--script",
                                   "/etc/xen/scripts/vif-bridge",
                                   NULL};
        int rc = run("vif", add, err, sizeof(err), NULL);
        if (rc != 0) {
                fprintf(stderr, "%s", err);
                return 1;
        }
        if (system("ip -o link show vif1.0 | grep -q 'master xenbr0'") != 0)
                return 2;
        struct xs_handle *xs = dom0();
        char *st = get(xs, "/local/domain/0/backend/vif/1/0/hotplug-status");
        bool ok = st && strcmp(st, "connected") == 0;
        free(st);
        const char *const del[] = {"detach", "--domid", "1", "--devid", "0", NULL};
        rc = run("vif", del, err, sizeof(err), NULL);
        bool released = system("ip -o link show vif1.0 | grep -q master") != 0;
        xs_close(xs);
        return !ok ? 3 : rc ? 4 : !released ? 5 : 0;
}

START_TEST(stock_vif_bridge)
{
        if (access("/etc/xen/scripts/vif-bridge", X_OK) != 0) {
                fprintf(stderr, "stock_vif_bridge: skipped: /etc/xen/scripts/vif-bridge is not "
                                "installed (Debian package xen-utils-common)\n");
                return;
        }
        fflush(NULL);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(stock_vif_bridge_child());
        int status = simhost_wait(pid, 90000);
        if (status == 77) {
                fprintf(stderr, "stock_vif_bridge: skipped: no network namespace or bridge "
                                "support here\n");
                return;
        }
        ck_assert_msg(status == 0, "stock vif-bridge run failed at step %d", status);
}
END_TEST

static Suite *toolstack_suite(void)
{
        Suite *s = suite_create("toolstack");
        TCase *tc = tcase_create("toolstack");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, vbd_attach_matches_phase_a);
        tcase_add_test(tc, vbd_attach_detach_sequence);
        tcase_add_test(tc, vif_attach_matches_phase_b);
        tcase_add_test(tc, vif_next_devid_and_exists);
        tcase_add_test(tc, attach_timeout);
        tcase_add_test(tc, hotplug_failure);
        tcase_add_test(tc, hotplug_timeout);
        tcase_add_test(tc, detach_timeout_and_no_wait);
        tcase_add_test(tc, cli_binary);
        tcase_add_test(tc, stock_vif_bridge);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(toolstack_suite)
