/* Test harness implementation (see simhost.h). Check runs each test in a
 * forked child and, on a failed assertion, exits without running teardown
 * or atexit handlers: every process the harness starts dies with its parent
 * (PR_SET_PDEATHSIG), and the state directory is a tmpdir.h one, removed by
 * its sweeper after the daemon's own teardown. Hosts are also stopped from
 * an atexit handler, for a test process that ends normally. */
#include "simhost.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "tmpdir.h"
#include "tools/sim/host.h"
#include "sim_paths.h"

#define MAX_HOSTS 8

static struct simhost *live_hosts[MAX_HOSTS];
static pid_t owner_pid;
static bool atexit_done;

const char *simhost_bin(const char *name, char *buf, size_t len)
{
        const char *build = getenv("PVBACK_BUILD");
        snprintf(buf, len, "%s/bin/%s", build && *build ? build : "build/release", name);
        return buf;
}

static void stop_all_at_exit(void)
{
        if (getpid() != owner_pid)
                return;
        for (int i = 0; i < MAX_HOSTS; i++)
                if (live_hosts[i])
                        simhost_stop(live_hosts[i]);
}

static void track(struct simhost *h, bool add)
{
        if (!atexit_done) {
                atexit(stop_all_at_exit);
                atexit_done = true;
        }
        owner_pid = getpid();
        for (int i = 0; i < MAX_HOSTS; i++) {
                if (add && !live_hosts[i]) {
                        live_hosts[i] = h;
                        return;
                }
                if (!add && live_hosts[i] == h)
                        live_hosts[i] = NULL;
        }
}

/* In a forked child: die with the parent (the daemon gets SIGTERM so its own
 * teardown removes the state directory even if the test was killed), keep
 * the test's output clean. */
static void child_prepare(bool quiet, int death_signal)
{
        prctl(PR_SET_PDEATHSIG, death_signal);
        if (getppid() == 1)
                _exit(127);
        if (quiet && !getenv("PVBACK_TEST_VERBOSE")) {
                int null = open("/dev/null", O_WRONLY);
                if (null >= 0) {
                        dup2(null, STDERR_FILENO);
                        close(null);
                }
        }
}

int simhost_start_wrapped(struct simhost *h, const char *const wrapper[], int timeout_ms)
{
        char bin[PATH_MAX];
        const char *argv[48];
        int n = 0;

        memset(h, 0, sizeof(*h));
        int rc = tmpdir_make(h->dir, sizeof(h->dir), "pvback-t");
        if (rc < 0)
                return rc;
        simhost_bin("pvback-sim", bin, sizeof(bin));
        for (int i = 0; wrapper && wrapper[i] && n < 40; i++)
                argv[n++] = wrapper[i];
        const char *const tail[] = {bin, "start", "--dir", h->dir, "--foreground", NULL};
        for (int i = 0; tail[i]; i++)
                argv[n++] = tail[i];
        argv[n] = NULL;

        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                /* Its own process group: after a failed assertion Check
                 * SIGKILLs the test's whole group, which would skip the
                 * daemon's teardown; this way only PDEATHSIG's SIGTERM
                 * reaches it and it removes its state directory itself. */
                setpgid(0, 0);
                child_prepare(!wrapper, SIGTERM);
                execvp(argv[0], (char *const *)argv);
                _exit(127);
        }
        h->pid = pid;
        track(h, true);
        tmpdir_after(h->dir, pid);

        for (uint64_t deadline = now_ms() + (uint64_t)timeout_ms; now_ms() < deadline;
             sleep_ms(5)) {
                int status;
                if (waitpid(pid, &status, WNOHANG) == pid) {
                        h->pid = 0;
                        simhost_stop(h);
                        return -ECHILD;
                }
                if (sim_host_pid(h->dir) == pid)
                        return 0;
        }
        simhost_stop(h);
        return -ETIMEDOUT;
}

int simhost_start(struct simhost *h)
{
        return simhost_start_wrapped(h, NULL, 10000);
}

int simhost_shutdown(struct simhost *h, int timeout_ms)
{
        int status = -ECHILD;
        if (h->pid > 0) {
                kill(h->pid, SIGTERM);
                status = simhost_wait(h->pid, timeout_ms);
                if (status == -ETIMEDOUT)
                        fprintf(stderr, "simhost: pvback-sim pid %d ignored SIGTERM; killed\n",
                                (int)h->pid);
                h->pid = 0;
        }
        tmpdir_remove(h->dir);
        track(h, false);
        return status;
}

void simhost_stop(struct simhost *h)
{
        simhost_shutdown(h, 5000);
}

static void show_cli_failure(const char *const args[], int rc, const char *errpath)
{
        char line[512];
        fprintf(stderr, "simhost: pvback-sim");
        for (int i = 0; args[i]; i++)
                fprintf(stderr, " %s", args[i]);
        fprintf(stderr, ": %s %d; its stderr:\n", rc < 0 ? "wait failed" : "exit", rc);
        FILE *f = fopen(errpath, "re");
        while (f && fgets(line, sizeof(line), f))
                fprintf(stderr, "  | %s", line);
        if (f)
                fclose(f);
}

int simhost_cli(struct simhost *h, char *out, size_t outlen, const char *const args[])
{
        char bin[PATH_MAX];
        const char *argv[64];
        int pfd[2], n = 0;

        simhost_bin("pvback-sim", bin, sizeof(bin));
        argv[n++] = "pvback-sim";
        for (int i = 0; args[i] && n < 60; i++)
                argv[n++] = args[i];
        argv[n++] = "--dir";
        argv[n++] = h->dir;
        argv[n] = NULL;
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -1;
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        /* Quiet on success, but a failing command's words belong in the
         * test's failure output: its stderr is kept in a file and shown
         * when it exits non-zero. */
        char errpath[PATH_MAX + 16];
        snprintf(errpath, sizeof(errpath), "%s/cli-stderr.log", h->dir);
        if (pid == 0) {
                child_prepare(false, SIGKILL);
                int err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (err >= 0)
                        dup2(err, STDERR_FILENO);
                dup2(pfd[1], STDOUT_FILENO);
                execv(bin, (char *const *)argv);
                _exit(127);
        }
        close(pfd[1]);
        proc_read_all(pfd[0], out, out ? outlen : 0);
        close(pfd[0]);
        /* Longer than any --timeout a test passes (60 s under valgrind),
         * so the command's own timeout and message win. */
        int rc = simhost_wait(pid, 300000);
        if (rc != 0)
                show_cli_failure(args, rc, errpath);
        /* The host's stop removes only what it made. */
        unlink(errpath);
        return rc < 0 ? -1 : rc;
}

static int domain_cmd(struct simhost *h, const char *verb, uint16_t domid)
{
        char id[16];
        snprintf(id, sizeof(id), "%u", domid);
        const char *const args[] = {"domain", verb, "--domid", id, NULL};
        return simhost_cli(h, NULL, 0, args) == 0 ? 0 : -EIO;
}

int simhost_domain_create(struct simhost *h, uint16_t domid)
{
        return domain_cmd(h, "create", domid);
}

int simhost_domain_destroy(struct simhost *h, uint16_t domid)
{
        return domain_cmd(h, "destroy", domid);
}

void simhost_enter(struct simhost *h, uint16_t domid)
{
        char path[PATH_MAX], id[16];
        sim_path_dom(path, sizeof(path), h->dir, domid, SIM_XS_SOCK);
        snprintf(id, sizeof(id), "%u", domid);
        setenv("XENSTORED_PATH", path, 1);
        setenv(XH_ENV_PROVIDER, "sim", 1);
        setenv(SIM_ENV_DIR, h->dir, 1);
        setenv(SIM_ENV_DOMID, id, 1);
}

struct xs_handle *simhost_xs_open(struct simhost *h, uint16_t domid)
{
        char path[PATH_MAX];
        const char *old = getenv("XENSTORED_PATH");
        char *saved = old ? strdup(old) : NULL;

        sim_path_dom(path, sizeof(path), h->dir, domid, SIM_XS_SOCK);
        setenv("XENSTORED_PATH", path, 1);
        struct xs_handle *xs = xs_open(0);
        if (saved) {
                setenv("XENSTORED_PATH", saved, 1);
                free(saved);
        } else {
                unsetenv("XENSTORED_PATH");
        }
        return xs;
}

bool simhost_xs_is(struct xs_handle *xs, const char *path, const char *want)
{
        unsigned len;
        char *v = xs_read(xs, XBT_NULL, path, &len);
        bool ok = v && !strcmp(v, want);
        free(v);
        return ok;
}

pid_t simhost_spawn(struct simhost *h, uint16_t domid, int (*fn)(void *arg), void *arg)
{
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                child_prepare(false, SIGKILL);
                simhost_enter(h, domid);
                /* _exit: the parent's atexit handlers (host shutdown) are not ours. */
                _exit(fn(arg) & 0xff);
        }
        return pid;
}

int simhost_wait(pid_t pid, int timeout_ms)
{
        return proc_wait(pid, timeout_ms);
}

pid_t simhost_spawn_exec(struct simhost *h, uint16_t domid, const struct proc_exec *e)
{
        return simhost_spawn(h, domid, proc_exec_fn, (void *)e);
}
