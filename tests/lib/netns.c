/* Test network namespaces held by a sleeping process (see netns.h). The
 * holder reports readiness over a pipe once its namespaces exist, loopback is
 * up and /sys is remounted; it then waits to be killed. */
#include "netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"
#include "simhost.h"

#define NETNS_MAX 16

static struct netns *live[NETNS_MAX];
static pid_t live_owner;
static bool atexit_set;

static void netns_kill_all(void)
{
        if (getpid() != live_owner)
                return;
        for (int i = 0; i < NETNS_MAX; i++)
                if (live[i])
                        netns_destroy(live[i]);
}

static void netns_track(struct netns *ns, bool add)
{
        if (!atexit_set) {
                atexit(netns_kill_all);
                atexit_set = true;
        }
        live_owner = getpid();
        for (int i = 0; i < NETNS_MAX; i++) {
                if (add && !live[i]) {
                        live[i] = ns;
                        return;
                }
                if (!add && live[i] == ns)
                        live[i] = NULL;
        }
}

/* In a fresh child: die with the parent. */
static void child_bind_to_parent(int sig)
{
        prctl(PR_SET_PDEATHSIG, sig ? sig : SIGKILL);
        if (getppid() == 1)
                _exit(127);
}

/* The holder: new network and mount namespaces; / made private so the sysfs
 * mounted over /sys (which shows the mounting process's network namespace)
 * stays in here; loopback up. Then report and sleep until killed. */
static int holder_setup(void)
{
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
                return errno;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("sysfs", "/sys", "sysfs", 0, NULL) < 0)
                return errno;
        int rc = system("ip link set lo up");
        return WIFEXITED(rc) && WEXITSTATUS(rc) == 0 ? 0 : EIO;
}

int netns_create(struct netns *ns, const char *label)
{
        int pfd[2];
        memset(ns, 0, sizeof(*ns));
        snprintf(ns->label, sizeof(ns->label), "%s", label ? label : "netns");
        if (pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
                int e = errno;
                close(pfd[0]);
                close(pfd[1]);
                return -e;
        }
        if (pid == 0) {
                child_bind_to_parent(SIGKILL);
                close(pfd[0]);
                int err = holder_setup();
                if (write(pfd[1], &err, sizeof(err)) != sizeof(err))
                        _exit(1);
                close(pfd[1]);
                if (err)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(pfd[1]);
        int err = EIO;
        ssize_t r;
        do
                r = read(pfd[0], &err, sizeof(err));
        while (r < 0 && errno == EINTR);
        close(pfd[0]);
        if (r != sizeof(err) || err) {
                kill(pid, SIGKILL);
                waitpid(pid, NULL, 0);
                return -(err ? err : EIO);
        }
        ns->holder = pid;
        snprintf(ns->net_path, sizeof(ns->net_path), "/proc/%d/ns/net", (int)pid);
        snprintf(ns->mnt_path, sizeof(ns->mnt_path), "/proc/%d/ns/mnt", (int)pid);
        netns_track(ns, true);
        return 0;
}

void netns_destroy(struct netns *ns)
{
        if (ns->holder > 0) {
                kill(ns->holder, SIGKILL);
                waitpid(ns->holder, NULL, 0);
                ns->holder = 0;
        }
        netns_track(ns, false);
}

static int enter_one(const char *path, int type)
{
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        int rc = setns(fd, type) < 0 ? -errno : 0;
        close(fd);
        return rc;
}

int netns_enter(const struct netns *ns)
{
        int rc = enter_one(ns->net_path, CLONE_NEWNET);
        return rc ?: enter_one(ns->mnt_path, CLONE_NEWNS);
}

pid_t netns_spawn_sig(const struct netns *ns, int death_signal, int (*fn)(void *arg), void *arg)
{
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                child_bind_to_parent(death_signal);
                if (ns && netns_enter(ns) < 0)
                        _exit(126);
                /* _exit: the parent's atexit handlers are not ours to run. */
                _exit(fn(arg) & 0xff);
        }
        return pid;
}

pid_t netns_spawn(const struct netns *ns, int (*fn)(void *arg), void *arg)
{
        return netns_spawn_sig(ns, SIGKILL, fn, arg);
}

struct exec_job {
        const char *const *argv, *const *env;
        const char *log;
};

static int exec_job_run(void *arg)
{
        const struct exec_job *j = arg;
        for (int i = 0; j->env && j->env[i]; i++)
                putenv((char *)j->env[i]);
        const struct proc_exec e = {.argv = j->argv, .out_path = j->log, .append = true};
        return proc_exec(&e);
}

pid_t netns_exec(const struct netns *ns, int death_signal, const char *const argv[],
                 const char *const env[], const char *log)
{
        struct exec_job j = {.argv = argv, .env = env, .log = log};
        return netns_spawn_sig(ns, death_signal, exec_job_run, &j);
}

struct sh_job {
        const char *cmd;
        int out_fd; /* the command's stdout, or -1 */
};

static int sh_job_run(void *arg)
{
        const struct sh_job *j = arg;
        if (j->out_fd >= 0)
                dup2(j->out_fd, STDOUT_FILENO);
        if (!getenv("PVBACK_TEST_VERBOSE")) {
                int null = open("/dev/null", O_WRONLY);
                if (j->out_fd < 0)
                        dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
        }
        execl("/bin/sh", "sh", "-c", j->cmd, (char *)NULL);
        return 127;
}

static int run_sh(const struct netns *ns, char *out, size_t outlen, const char *cmd)
{
        int pfd[2] = {-1, -1};
        if (out && pipe2(pfd, O_CLOEXEC) < 0)
                return -errno;
        struct sh_job j = {.cmd = cmd, .out_fd = pfd[1]};
        pid_t pid = netns_spawn_sig(ns, SIGKILL, sh_job_run, &j);
        if (out) {
                close(pfd[1]);
                if (pid > 0)
                        proc_read_all(pfd[0], out, outlen);
                close(pfd[0]);
        }
        if (pid < 0)
                return pid;
        return simhost_wait(pid, 60000);
}

int netns_run(const struct netns *ns, const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return run_sh(ns, NULL, 0, cmd);
}

int netns_capture(const struct netns *ns, char *out, size_t outlen, const char *fmt, ...)
{
        char cmd[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(cmd, sizeof(cmd), fmt, ap);
        va_end(ap);
        return run_sh(ns, out, outlen, cmd);
}

bool netns_supported(void)
{
        static int cached = -1;
        if (cached < 0) {
                struct netns ns;
                cached = 0;
                if (geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0 &&
                    netns_create(&ns, "probe") == 0) {
                        cached = netns_run(&ns, "ip link add pvbk-probe type bridge && "
                                                "ip tuntap add dev pvbk-tap mode tap") == 0;
                        netns_destroy(&ns);
                }
        }
        return cached == 1;
}
