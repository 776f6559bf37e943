/* Network namespaces for integration tests, owned by a process and never by a
 * name: netns_create forks a holder that unshares a network namespace (and a
 * mount namespace whose /sys shows that network namespace, so hotplug scripts
 * reading /sys/class/net see its devices) and sleeps. Everything else enters
 * through /proc/<holder>/ns/{net,mnt}. The namespace, and every interface
 * still in it, vanishes when its last process exits, so cleanup cannot be
 * forgotten:
 *   - the holder dies with the process that created it (PR_SET_PDEATHSIG),
 *   - netns_destroy kills it, and an atexit handler of the creating process
 *     kills every holder still alive (a test process that ends normally;
 *     after a failed assertion Check's fork mode runs neither teardown nor
 *     atexit, and the holder goes with the test's process group),
 *   - processes started in a namespace by netns_spawn, netns_exec or netns_run die with
 *     their parent too (SIGKILL unless told otherwise).
 * No names under /run/netns are created: two tests in parallel never clash.
 *
 * Typical use (as root):
 *     struct netns host, guest;
 *     ck_assert_int_eq(netns_create(&host, "host"), 0);
 *     ck_assert_int_eq(netns_run(&host, "ip link add br0 type bridge"), 0);
 *     pid_t p = netns_spawn(&guest, my_fn, arg);   // my_fn runs inside
 *     ... netns_destroy(&guest); netns_destroy(&host); */
#ifndef PVBACK_TEST_NETNS_H
#define PVBACK_TEST_NETNS_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

struct netns {
        pid_t holder;      /* the process keeping the namespaces alive; 0: none */
        char label[32];    /* for messages only */
        char net_path[64]; /* /proc/<holder>/ns/net: pass to `--netns`, setns(2) */
        char mnt_path[64]; /* /proc/<holder>/ns/mnt: /sys of this namespace */
};

/* Creates the namespaces with loopback up. Returns 0, or -errno (-EPERM when
 * not root: callers skip). Up to 16 live namespaces per process. */
int netns_create(struct netns *ns, const char *label);
/* Kills the holder and reaps it. Processes still inside keep the namespace
 * alive until they exit (those started by the helpers below die with their
 * parent). Idempotent. */
void netns_destroy(struct netns *ns);

/* Moves the calling process into the namespaces (network and mount). Only in
 * a single-threaded child: setns(CLONE_NEWNS) refuses threaded callers. */
int netns_enter(const struct netns *ns);

/* Forks a child that enters ns (NULL: stays where it is), runs fn(arg) and
 * _exits with its value. The child gets `death_signal` when the caller
 * dies (0: SIGKILL). Returns the pid or -errno. */
pid_t netns_spawn_sig(const struct netns *ns, int death_signal, int (*fn)(void *arg), void *arg);
pid_t netns_spawn(const struct netns *ns, int (*fn)(void *arg), void *arg);
/* Forks and execs argv[0] (searched in PATH) inside ns with stdout and
 * stderr appended to log (NULL: inherited). env entries ("K=V", NULL-ended,
 * may be NULL) are added to the environment. Returns the pid or -errno. */
pid_t netns_exec(const struct netns *ns, int death_signal, const char *const argv[],
                 const char *const env[], const char *log);
/* Runs `sh -c cmd` inside ns and waits (up to 60 s); returns the exit status,
 * 128+signal, or a negative errno. cmd is printf-formatted. Output goes to
 * stderr only with PVBACK_TEST_VERBOSE set. */
int netns_run(const struct netns *ns, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* As netns_run, with the command's stdout captured into out (NUL-ended). */
int netns_capture(const struct netns *ns, char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Whether namespaces, bridges and TAP devices can be made here (root, a
 * kernel with them). Cached; tests skip with a message when false. */
bool netns_supported(void);

#endif
