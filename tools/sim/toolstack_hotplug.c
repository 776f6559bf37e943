/* Runs a device's hotplug script the way libxl's device_hotplug does: script
 * read from the backend's `script` key, libxl's argv and environment, stdin
 * from /dev/null, stdout to stderr, killed after the timeout. The environment
 * is otherwise clean, plus XENSTORED_PATH so xenstore-read/-write in the
 * script reach the simulator's xenstored. */
#include "toolstack.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define XS_PATH_MAX  3072
#define HOTPLUG_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int ts_hotplug_add_arg(struct ts_hotplug *hp, const char *arg)
{
        if (hp->nargv + 1 >= TS_HOTPLUG_MAX_ARGS)
                return -ENOSPC;
        hp->argv[hp->nargv] = strdup(arg);
        if (!hp->argv[hp->nargv])
                return -ENOMEM;
        hp->nargv++;
        return 0;
}

int ts_hotplug_add_env(struct ts_hotplug *hp, const char *name, const char *value)
{
        if (hp->nenv + 1 >= TS_HOTPLUG_MAX_ENV)
                return -ENOSPC;
        if (asprintf(&hp->env[hp->nenv], "%s=%s", name, value) < 0)
                return -ENOMEM;
        hp->nenv++;
        return 0;
}

void ts_hotplug_free(struct ts_hotplug *hp)
{
        for (size_t i = 0; i < hp->nargv; i++)
                free(hp->argv[i]);
        for (size_t i = 0; i < hp->nenv; i++)
                free(hp->env[i]);
        memset(hp, 0, sizeof(*hp));
}

static char *read_key(struct xs_handle *xs, const char *dir, const char *key)
{
        char path[XS_PATH_MAX + 64];
        unsigned len;
        snprintf(path, sizeof(path), "%s/%s", dir, key);
        return xs_read(xs, XBT_NULL, path, &len);
}

int ts_hotplug_prepare(struct xs_handle *xs, const struct ts_device *d, enum ts_action action,
                       struct ts_hotplug *hp)
{
        char be[XS_PATH_MAX], rel[128], ctx[32];
        memset(hp, 0, sizeof(*hp));
        int rc = ts_backend_path(d, be, sizeof(be));
        if (rc < 0)
                return rc;
        /* libxl reads the script back from xenstore rather than from its config. */
        char *script = read_key(xs, be, "script");
        if (!script) {
                pv_err(ts_ctx(d, ctx, sizeof(ctx)), "unable to read script from %s", be);
                return -ENOENT;
        }
        /* libxl_linux.c get_hotplug_env: XENBUS_PATH is relative to the
         * backend domain's home, where the script's xenstore-* calls run. */
        snprintf(rel, sizeof(rel), "backend/%s/%u/%u", d->kind->name, d->domid, d->devid);
        rc = ts_hotplug_add_arg(hp, script);
        rc = rc ?: ts_hotplug_add_env(hp, "script", script);
        rc = rc ?: ts_hotplug_add_env(hp, "XENBUS_TYPE", d->kind->name);
        rc = rc ?: ts_hotplug_add_env(hp, "XENBUS_PATH", rel);
        rc = rc ?: ts_hotplug_add_env(hp, "XENBUS_BASE_PATH", "backend");
        free(script);
        rc = rc ?: d->kind->hotplug_args(xs, d, action, hp);
        rc = rc ?: ts_hotplug_add_env(hp, "PATH", HOTPLUG_PATH);
        const char *xsp = getenv("XENSTORED_PATH");
        if (rc == 0 && xsp)
                rc = ts_hotplug_add_env(hp, "XENSTORED_PATH", xsp);
        if (rc < 0)
                ts_hotplug_free(hp);
        return rc;
}

static void log_invocation(const char *ctx, const struct ts_hotplug *hp)
{
        pv_debug(ctx, "calling hotplug script: %s %s", hp->argv[0], hp->argv[1]);
        pv_debug(ctx, "extra args:");
        for (size_t i = 2; i < hp->nargv; i++)
                pv_debug(ctx, "\t%s", hp->argv[i]);
        pv_debug(ctx, "env:");
        for (size_t i = 0; i < hp->nenv; i++) {
                const char *eq = strchr(hp->env[i], '=');
                pv_debug(ctx, "\t%.*s: %s", (int)(eq - hp->env[i]), hp->env[i], eq + 1);
        }
}

static pid_t spawn(const struct ts_hotplug *hp)
{
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        /* Own process group, so a timeout kills the script's children too. */
        setpgid(0, 0);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
                dup2(null, STDIN_FILENO);
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execve(hp->argv[0], hp->argv, hp->env);
        fprintf(stderr, "pvback-sim: exec %s failed: %s\n", hp->argv[0], strerror(errno));
        _exit(127);
}

/* Waits for pid up to timeout_ms; returns 0 with *status, or -ETIMEDOUT. */
static int wait_child(pid_t pid, int timeout_ms, int *status)
{
        struct timespec tick = {0, 5 * 1000 * 1000};
        for (long waited = 0;; waited += 5) {
                pid_t r = waitpid(pid, status, WNOHANG);
                if (r == pid)
                        return 0;
                if (r < 0 && errno != EINTR)
                        return -errno;
                if (waited >= timeout_ms)
                        return -ETIMEDOUT;
                nanosleep(&tick, NULL);
        }
}

/* libxl_exec.c libxl_report_child_exitstatus. */
static void report_status(const char *what, pid_t pid, int status)
{
        if (WIFEXITED(status))
                pv_err(NULL, "%s [%ld] exited with error status %d", what, (long)pid,
                       WEXITSTATUS(status));
        else if (WIFSIGNALED(status))
                pv_err(NULL, "%s [%ld] died due to fatal signal %s", what, (long)pid,
                       strsignal(WTERMSIG(status)));
}

int ts_hotplug_run(struct xs_handle *xs, const struct ts_device *d, enum ts_action action,
                   int timeout_ms)
{
        struct ts_hotplug hp;
        char ctx[32], what[512], be[XS_PATH_MAX];
        ts_ctx(d, ctx, sizeof(ctx));
        int rc = ts_backend_path(d, be, sizeof(be));
        rc = rc ?: ts_hotplug_prepare(xs, d, action, &hp);
        if (rc < 0)
                return rc;
        log_invocation(ctx, &hp);
        snprintf(what, sizeof(what), "%s %s", hp.argv[0], hp.argv[1]);

        int status = 0;
        pid_t pid = spawn(&hp);
        if (pid < 0) {
                rc = -errno;
                pv_err(ctx, "unable to fork");
                goto out;
        }
        pv_debug(ctx, "forking to execute: %s ", what);
        rc = wait_child(pid, timeout_ms, &status);
        if (rc == -ETIMEDOUT) {
                pv_err(NULL, "killing execution of %s because of timeout", what);
                kill(-pid, SIGKILL);
                kill(pid, SIGKILL);
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
                goto out;
        }
        if (rc < 0 || status == 0)
                goto out;
        report_status(what, pid, status);
        char *err = read_key(xs, be, "hotplug-error");
        if (err)
                pv_err(NULL, "script: %s", err);
        free(err);
        rc = -EIO;
out:
        ts_hotplug_free(&hp);
        return rc;
}
