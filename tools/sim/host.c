/* The simulated host daemon: state directory, domains, signals, shutdown.
 * The control protocol itself is in host_ctl.c; xenstored and the event-channel
 * broker are subsystems it owns but does not look inside. */
#include "host.h"
#include "host_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "sim_dom.h"
#include "sim_paths.h"

static int dom_dir(const struct sim_host *h, uint16_t domid, char *buf, size_t len)
{
        return sim_path_dom(buf, len, h->dir, domid, NULL);
}

bool sim_host_has_domain(const struct sim_host *h, uint16_t domid)
{
        return domid < SIM_MAX_DOMID && (h->domains[domid / 8] & (1u << (domid % 8)));
}

static void set_domain(struct sim_host *h, uint16_t domid, bool present)
{
        if (present)
                h->domains[domid / 8] |= (uint8_t)(1u << (domid % 8));
        else
                h->domains[domid / 8] &= (uint8_t)~(1u << (domid % 8));
}

int sim_host_domain_create(struct sim_host *h, uint16_t domid, char *err, size_t errlen)
{
        char path[PATH_MAX];
        int rc;

        if (domid >= SIM_MAX_DOMID) {
                snprintf(err, errlen, "domid %u is reserved (must be below %u)", domid,
                         SIM_MAX_DOMID);
                return -EINVAL;
        }
        if (sim_host_has_domain(h, domid)) {
                snprintf(err, errlen, "domain %u already exists", domid);
                return -EEXIST;
        }
        if ((rc = dom_dir(h, domid, path, sizeof(path))) < 0 || (mkdir(path, 0755) < 0 &&
                                                                  (rc = -errno) != -EEXIST)) {
                snprintf(err, errlen, "cannot create %s: %s", path, strerror(-rc));
                return rc;
        }
        if ((rc = sim_dom_create(h->dir, domid)) < 0) {
                snprintf(err, errlen, "cannot create the grant table and memory of domain %u: %s",
                         domid, strerror(-rc));
                goto undo_dir;
        }
        if ((rc = evtchn_broker_domain_add(h->broker, domid)) < 0) {
                snprintf(err, errlen, "cannot create the event channels of domain %u: %s", domid,
                         strerror(-rc));
                goto undo_dom;
        }
        if ((rc = xsd_domain_introduce(h->xsd, domid)) < 0) {
                snprintf(err, errlen, "cannot introduce domain %u to xenstored: %s", domid,
                         strerror(-rc));
                goto undo_evtchn;
        }
        set_domain(h, domid, true);
        pv_info("sim", "domain %u created", domid);
        return 0;

undo_evtchn:
        evtchn_broker_domain_remove(h->broker, domid);
undo_dom:
        sim_dom_remove(h->dir, domid);
undo_dir:
        rmdir(path);
        return rc;
}

/* Order matters and follows Xen: the domain dies (grant ops against it fail),
 * its event channels close, xenstore drops it and fires @releaseDomain, and
 * only then do its pages go away. */
int sim_host_domain_destroy(struct sim_host *h, uint16_t domid, char *err, size_t errlen)
{
        char path[PATH_MAX];
        int rc, first = 0;

        if (domid == 0) {
                snprintf(err, errlen, "domain 0 cannot be destroyed; stop the host instead");
                return -EPERM;
        }
        if (!sim_host_has_domain(h, domid)) {
                snprintf(err, errlen, "domain %u does not exist", domid);
                return -ENOENT;
        }
        if ((rc = sim_dom_set_dying(h->dir, domid)) < 0)
                first = first ? first : rc;
        if ((rc = evtchn_broker_domain_remove(h->broker, domid)) < 0)
                first = first ? first : rc;
        if ((rc = xsd_domain_release(h->xsd, domid)) < 0)
                first = first ? first : rc;
        if ((rc = sim_dom_remove(h->dir, domid)) < 0)
                first = first ? first : rc;
        if (dom_dir(h, domid, path, sizeof(path)) == 0 && rmdir(path) < 0 && errno != ENOENT)
                first = first ? first : -errno;
        set_domain(h, domid, false);
        if (first) {
                snprintf(err, errlen, "domain %u destroyed, but its teardown was incomplete: %s",
                         domid, strerror(-first));
                pv_warn("sim", "%s", err);
                return first;
        }
        pv_info("sim", "domain %u destroyed", domid);
        return 0;
}

static void on_signal(struct ev_loop *loop, int fd, uint32_t events, void *arg)
{
        struct signalfd_siginfo si;
        (void)arg;
        (void)events;
        if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                pv_info("sim", "signal %u: stopping", si.ssi_signo);
        ev_stop(loop);
}

static int open_signalfd(void)
{
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return -errno;
        int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
        return fd < 0 ? -errno : fd;
}

static int write_pid_file(const struct sim_host *h)
{
        char path[PATH_MAX], buf[32];
        int rc = sim_path_host(path, sizeof(path), h->dir, SIM_PID_FILE);
        if (rc < 0)
                return rc;
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
                return -errno;
        int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
        rc = write(fd, buf, (size_t)n) == n ? 0 : -EIO;
        close(fd);
        return rc;
}

static void remove_host_file(const struct sim_host *h, const char *name)
{
        char path[PATH_MAX];
        if (sim_path_host(path, sizeof(path), h->dir, name) == 0)
                unlink(path);
}

/* Refuses to take over a directory another live host serves; clears what a
 * crashed one left behind so the new host starts from nothing. */
static int claim_dir(struct sim_host *h)
{
        long pid = sim_host_pid(h->dir);
        if (pid > 0) {
                pv_err("sim", "a simulated host is already running in %s (pid %ld); stop it with "
                              "'pvback-sim stop --dir %s'",
                       h->dir, pid, h->dir);
                return -EBUSY;
        }
        if (mkdir(h->dir, 0755) == 0) {
                h->made_dir = true;
                return 0;
        }
        if (errno != EEXIST) {
                int rc = -errno;
                pv_err("sim", "cannot create state directory %s: %s", h->dir, strerror(errno));
                return rc;
        }
        return sim_host_clear_stale(h);
}

static int host_setup(struct sim_host *h)
{
        char err[256];
        int rc;

        if ((rc = claim_dir(h)) < 0)
                return rc;
        if ((rc = ev_loop_create(&h->loop)) < 0)
                return rc;
        if ((h->sig_fd = open_signalfd()) < 0)
                return h->sig_fd;
        if ((rc = ev_add(h->loop, h->sig_fd, EPOLLIN, on_signal, h)) < 0)
                return rc;
        if ((rc = xsd_create(h->loop, h->dir, &h->xsd)) < 0) {
                pv_err("sim", "cannot start xenstored: %s", strerror(-rc));
                return rc;
        }
        if ((rc = evtchn_broker_create(h->loop, h->dir, &h->broker)) < 0) {
                pv_err("sim", "cannot start the event-channel broker: %s", strerror(-rc));
                return rc;
        }
        if ((rc = sim_host_domain_create(h, 0, err, sizeof(err))) < 0) {
                pv_err("sim", "%s", err);
                return rc;
        }
        if ((rc = write_pid_file(h)) < 0)
                return rc;
        /* The control socket comes last: once it answers, the host is ready. */
        return sim_host_ctl_listen(h);
}

static void host_teardown(struct sim_host *h)
{
        char err[256];

        sim_host_ctl_close(h);
        for (unsigned d = 1; d < SIM_MAX_DOMID; d++)
                if (sim_host_has_domain(h, (uint16_t)d))
                        sim_host_domain_destroy(h, (uint16_t)d, err, sizeof(err));
        if (h->xsd)
                xsd_destroy(h->xsd);
        if (h->broker)
                evtchn_broker_destroy(h->broker);
        if (sim_host_has_domain(h, 0)) {
                char path[PATH_MAX];
                sim_dom_remove(h->dir, 0);
                if (sim_path_dom(path, sizeof(path), h->dir, 0, NULL) == 0)
                        rmdir(path);
                set_domain(h, 0, false);
        }
        if (h->sig_fd >= 0)
                close(h->sig_fd);
        ev_loop_destroy(h->loop);
        remove_host_file(h, SIM_PID_FILE);
        /* Remove the directory if we made it or it is now empty. */
        if (rmdir(h->dir) < 0 && h->made_dir)
                pv_warn("sim", "state directory %s not empty after teardown", h->dir);
}

static void signal_ready(int *ready_fd, char status)
{
        if (*ready_fd < 0)
                return;
        ssize_t w = write(*ready_fd, &status, 1);
        (void)w;
        close(*ready_fd);
        *ready_fd = -1;
}

int sim_host_run(const char *dir, int ready_fd)
{
        struct sim_host *h = calloc(1, sizeof(*h));
        int rc;

        if (!h) {
                signal_ready(&ready_fd, '1');
                return 1;
        }
        h->sig_fd = -1;
        h->ctl_fd = -1;
        snprintf(h->dir, sizeof(h->dir), "%s", dir);
        signal(SIGPIPE, SIG_IGN);

        rc = host_setup(h);
        if (rc < 0) {
                signal_ready(&ready_fd, '1');
                if (rc != -EBUSY)
                        host_teardown(h);
                free(h);
                return 1;
        }
        pv_info("sim", "simulated host ready in %s", h->dir);
        signal_ready(&ready_fd, '0');
        rc = ev_run(h->loop);
        if (rc < 0)
                pv_err("sim", "event loop failed: %s", strerror(-rc));
        host_teardown(h);
        pv_info("sim", "simulated host in %s stopped", dir);
        free(h);
        return rc < 0 ? 1 : 0;
}
