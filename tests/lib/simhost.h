/* Test harness: a private simulated Xen host per test (or per fixture), in a
 * fresh temporary directory, torn down even when the test fails. Tests run the
 * real pvback-sim binary from $PVBACK_BUILD/bin. */
#ifndef PVBACK_TEST_SIMHOST_H
#define PVBACK_TEST_SIMHOST_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "xh.h"

struct proc_exec; /* proc.h */

struct simhost {
        char dir[PATH_MAX]; /* state directory (mkdtemp under /tmp) */
        pid_t pid;          /* the pvback-sim daemon */
};

/* Path of a built binary: "$PVBACK_BUILD/bin/<name>" (falls back to build/release). */
const char *simhost_bin(const char *name, char *buf, size_t len);
/* Starts a host (dom0 exists); returns 0 or -errno. */
int simhost_start(struct simhost *h);
/* As simhost_start, with the daemon run under a wrapper command (e.g.
 * valgrind and its options; NULL-terminated) and up to timeout_ms to come up. */
int simhost_start_wrapped(struct simhost *h, const char *const wrapper[], int timeout_ms);
/* Stops the daemon (SIGTERM, SIGKILL after 5 s), removes the directory. Idempotent. */
void simhost_stop(struct simhost *h);
/* As simhost_stop, waiting up to timeout_ms, and returns the daemon's exit
 * status (128+signal if killed, -ETIMEDOUT, or -ECHILD if none was running). */
int simhost_shutdown(struct simhost *h, int timeout_ms);
/* Runs `pvback-sim <args...> --dir <h->dir>`; returns its exit status (or -1).
 * If out is non-NULL, its stdout (NUL-terminated, truncated to outlen-1). */
int simhost_cli(struct simhost *h, char *out, size_t outlen, const char *const args[]);
int simhost_domain_create(struct simhost *h, uint16_t domid);
int simhost_domain_destroy(struct simhost *h, uint16_t domid);
/* Sets this process's environment to act as domain `domid` on this host
 * (XENSTORED_PATH, PVBACK_HYPERVISOR=sim, PVBACK_SIM_DIR, PVBACK_SIM_DOMID). */
void simhost_enter(struct simhost *h, uint16_t domid);
/* xs_open() as domain `domid`, without changing the environment for good. */
struct xs_handle *simhost_xs_open(struct simhost *h, uint16_t domid);
/* Whether the xenstore node at path holds exactly want. */
bool simhost_xs_is(struct xs_handle *xs, const char *path, const char *want);
/* Forks a child acting as `domid` that runs fn(arg) and exits with its return
 * value. Returns the child's pid or -errno. */
pid_t simhost_spawn(struct simhost *h, uint16_t domid, int (*fn)(void *arg), void *arg);
/* Waits up to timeout_ms for pid; returns its exit status, 128+signal if it was
 * killed by one, or -ETIMEDOUT (after which the child is killed and reaped). */
int simhost_wait(pid_t pid, int timeout_ms);
/* simhost_spawn of a command (proc.h): returns the child's pid or -errno. */
pid_t simhost_spawn_exec(struct simhost *h, uint16_t domid, const struct proc_exec *e);

#endif
