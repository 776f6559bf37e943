/* Online resize of vbds. Linux blkback notices a new capacity in its ring
 * thread (xen_vbd_resize) and writes `sectors` then rewrites `state` in one
 * transaction; here one monitor thread polls the connected vbds' backing
 * stores and does the same through its own xenstore connection, so neither
 * the control thread nor a worker ever waits on it. */
#include "blkback/bb_vbd.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blkback/bb_config.h"
#include "log.h"
#include "xb.h"

static pthread_mutex_t rs_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rs_cond = PTHREAD_COND_INITIALIZER;
static struct bb_vbd *rs_list;
static unsigned rs_count;
static bool rs_running, rs_stop;
static pthread_t rs_thread;

struct resize_txn {
        struct bb_vbd *v;
        uint64_t sectors;
};

static int resize_txn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
        struct resize_txn *r = arg;
        const char *be = r->v->dev->be_path;
        int state, rc;
        char *s = NULL;

        rc = xb_printf(xs, t, be, "sectors", "%llu", (unsigned long long)r->sectors);
        if (rc < 0)
                return rc;
        /* Rewriting the current state fires the frontend's watch. */
        if (xb_read_str(xs, t, be, "state", &s) < 0)
                return 0;
        state = atoi(s);
        free(s);
        return xb_printf(xs, t, be, "state", "%d", state);
}

static void check_one(struct xs_handle *xs, struct bb_vbd *v)
{
        uint64_t bytes, sectors;
        struct resize_txn r;

        if (bb_backing_size(&v->backing, &bytes) < 0)
                return;
        sectors = bytes >> BB_SECTOR_SHIFT;
        if (sectors == v->lim.sectors)
                return;
        pv_info(v->dev->name, "backing store resized: %llu -> %llu sectors",
                (unsigned long long)v->lim.sectors, (unsigned long long)sectors);
        v->lim.sectors = sectors;
        v->backing.bytes = bytes;
        for (unsigned i = 0; i < v->nr_queues; i++)
                bb_queue_set_backing(v->queues[i], &v->lim, v->backing.fd, v->backing.blkdev);
        r.v = v;
        r.sectors = sectors;
        if (xs && xb_transact(xs, resize_txn, &r) < 0)
                pv_warn(v->dev->name, "publishing the new size failed");
}

static void *monitor(void *arg)
{
        struct xs_handle *xs = xs_open(0);
        struct timespec ts;
        (void)arg;

        pthread_mutex_lock(&rs_lock);
        while (!rs_stop) {
                clock_gettime(CLOCK_MONOTONIC, &ts);
                ts.tv_sec += bb_cfg.resize_poll_ms / 1000;
                ts.tv_nsec += (long)(bb_cfg.resize_poll_ms % 1000) * 1000000L;
                if (ts.tv_nsec >= 1000000000L) {
                        ts.tv_sec++;
                        ts.tv_nsec -= 1000000000L;
                }
                pthread_cond_timedwait(&rs_cond, &rs_lock, &ts);
                if (rs_stop)
                        break;
                for (struct bb_vbd *v = rs_list; v; v = v->resize_next)
                        check_one(xs, v);
        }
        pthread_mutex_unlock(&rs_lock);
        if (xs)
                xs_close(xs);
        return NULL;
}

void bb_resize_add(struct bb_vbd *v)
{
        if (!bb_cfg.resize_poll_ms)
                return;
        pthread_mutex_lock(&rs_lock);
        if (!v->resize_listed) {
                v->resize_next = rs_list;
                rs_list = v;
                v->resize_listed = true;
                rs_count++;
        }
        if (!rs_running) {
                rs_stop = false;
                pthread_condattr_t ca;
                pthread_condattr_init(&ca);
                pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
                pthread_cond_destroy(&rs_cond);
                pthread_cond_init(&rs_cond, &ca);
                pthread_condattr_destroy(&ca);
                if (pthread_create(&rs_thread, NULL, monitor, NULL) == 0)
                        rs_running = true;
                else
                        pv_warn(v->dev->name, "no resize monitor: %s", strerror(errno));
        }
        pthread_mutex_unlock(&rs_lock);
}

void bb_resize_del(struct bb_vbd *v)
{
        bool join = false;
        pthread_mutex_lock(&rs_lock);
        if (v->resize_listed) {
                for (struct bb_vbd **pp = &rs_list; *pp; pp = &(*pp)->resize_next) {
                        if (*pp == v) {
                                *pp = v->resize_next;
                                break;
                        }
                }
                v->resize_listed = false;
                rs_count--;
        }
        /* The last one out stops the thread, so nothing outlives the devices. */
        if (rs_running && rs_count == 0) {
                rs_stop = true;
                pthread_cond_broadcast(&rs_cond);
                join = true;
                rs_running = false;
        }
        pthread_mutex_unlock(&rs_lock);
        if (join)
                pthread_join(rs_thread, NULL);
}
