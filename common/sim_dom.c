/* A simulated domain's shared files: creation and removal (the pvback-sim
 * daemon), mapping and the per-process cache of mappings (the sim provider),
 * and the table lock. Xen's grant rules themselves are in sim_dom_grant.c. */
#include "sim_dom.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_paths.h"

#define SIM_MEM_BYTES ((size_t)SIM_MEM_FRAMES * 4096u)

_Static_assert(sizeof(grant_entry_v1_t) == 8, "v1 grant entries are 8 bytes");
_Static_assert(sizeof(struct sim_gnt_hdr) <= 4096, "header fits its page");
_Static_assert(offsetof(struct sim_gnttab, shared) == 4096, "entries start on a frame");

int sim_gnttab_init(struct sim_gnttab *gt, uint16_t domid)
{
        pthread_mutexattr_t a;
        int rc;

        memset(&gt->hdr, 0, sizeof(gt->hdr));
        gt->hdr.h.domid = domid;
        gt->hdr.h.nr_entries = SIM_GNT_ENTRIES;
        gt->hdr.h.nr_mem_frames = SIM_MEM_FRAMES;
        /* Refs 0..7 belong to the toolstack (console, xenstore): never handed out. */
        for (uint32_t r = 0; r < GNTTAB_NR_RESERVED_ENTRIES; r++)
                gt->ref_bitmap[r / 64] |= 1ull << (r % 64);
        if ((rc = pthread_mutexattr_init(&a)) != 0)
                return -rc;
        rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        if (!rc)
                rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        if (!rc)
                rc = pthread_mutex_init(&gt->hdr.h.lock, &a);
        pthread_mutexattr_destroy(&a);
        if (rc)
                return -rc;
        gt->hdr.h.version = SIM_GNT_VERSION;
        __atomic_store_n(&gt->hdr.h.magic, SIM_GNT_MAGIC, __ATOMIC_RELEASE);
        return 0;
}

/* A holder that died with the lock held may have left a copy's pin behind:
 * undo it, the way Xen's gnttab_copy always releases what it acquired. */
static void recover_inflight(struct sim_gnttab *gt)
{
        for (unsigned i = 0; i < 2; i++) {
                struct sim_inflight *f = &gt->hdr.h.inflight[i];
                if (f->active && f->ref < SIM_GNT_ENTRIES)
                        sim_gnt_release(gt, f->ref, f->pin_inc == SIM_PIN_HSTR_INC);
                f->active = 0;
        }
}

int sim_gnttab_lock(struct sim_gnttab *gt)
{
        int rc = pthread_mutex_lock(&gt->hdr.h.lock);
        if (rc == EOWNERDEAD) {
                recover_inflight(gt);
                rc = pthread_mutex_consistent(&gt->hdr.h.lock);
        }
        return -rc;
}

void sim_gnttab_unlock(struct sim_gnttab *gt)
{
        pthread_mutex_unlock(&gt->hdr.h.lock);
}

static int create_file(const char *path, size_t size, int *fd_out)
{
        int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0)
                return -errno;
        if (ftruncate(fd, (off_t)size) < 0) {
                int rc = -errno;
                close(fd);
                unlink(path);
                return rc;
        }
        *fd_out = fd;
        return 0;
}

/* The table is built under a temporary name and renamed into place, so a
 * process that finds <dom>/gnttab always maps an initialised table. */
static int create_gnttab(const char *dir, uint16_t domid)
{
        char tmp[PATH_MAX], path[PATH_MAX];
        int fd, rc;

        if ((rc = sim_path_dom(path, sizeof(path), dir, domid, SIM_GNTTAB_FILE)) < 0 ||
            (rc = sim_path_dom(tmp, sizeof(tmp), dir, domid, SIM_GNTTAB_FILE ".new")) < 0)
                return rc;
        if ((rc = create_file(tmp, sizeof(struct sim_gnttab), &fd)) < 0)
                return rc;
        void *p = mmap(NULL, sizeof(struct sim_gnttab), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (p == MAP_FAILED) {
                rc = -errno;
                unlink(tmp);
                return rc;
        }
        rc = sim_gnttab_init(p, domid);
        munmap(p, sizeof(struct sim_gnttab));
        if (rc == 0 && rename(tmp, path) < 0)
                rc = -errno;
        if (rc < 0)
                unlink(tmp);
        return rc;
}

int sim_dom_create(const char *dir, uint16_t domid)
{
        char path[PATH_MAX];
        int fd, rc;

        if ((rc = sim_path_dom(path, sizeof(path), dir, domid, NULL)) < 0)
                return rc;
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
                return -errno;
        if ((rc = sim_path_dom(path, sizeof(path), dir, domid, SIM_MEM_FILE)) < 0)
                return rc;
        /* Sparse: a domain costs only the frames it touches. */
        if ((rc = create_file(path, SIM_MEM_BYTES, &fd)) < 0)
                return rc;
        close(fd);
        if ((rc = create_gnttab(dir, domid)) < 0)
                unlink(path);
        return rc;
}

static int map_gnttab_file(const char *path, struct sim_gnttab **gt, ino_t *ino)
{
        struct stat st;
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || (size_t)st.st_size != sizeof(struct sim_gnttab)) {
                close(fd);
                return -EPROTO;
        }
        void *p = mmap(NULL, sizeof(struct sim_gnttab), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
        close(fd);
        if (p == MAP_FAILED)
                return -errno;
        struct sim_gnttab *t = p;
        if (__atomic_load_n(&t->hdr.h.magic, __ATOMIC_ACQUIRE) != SIM_GNT_MAGIC ||
            t->hdr.h.version != SIM_GNT_VERSION) {
                munmap(p, sizeof(struct sim_gnttab));
                return -EPROTO;
        }
        *gt = t;
        *ino = st.st_ino;
        return 0;
}

int sim_dom_set_dying(const char *dir, uint16_t domid)
{
        char path[PATH_MAX];
        struct sim_gnttab *gt;
        ino_t ino;
        int rc;

        if ((rc = sim_path_dom(path, sizeof(path), dir, domid, SIM_GNTTAB_FILE)) < 0 ||
            (rc = map_gnttab_file(path, &gt, &ino)) < 0)
                return rc;
        /* Under the lock: a batch in progress finishes first, later ones see it. */
        rc = sim_gnttab_lock(gt);
        __atomic_store_n(&gt->hdr.h.dying, 1, __ATOMIC_RELEASE);
        if (rc == 0)
                sim_gnttab_unlock(gt);
        munmap(gt, sizeof(*gt));
        return 0;
}

int sim_dom_remove(const char *dir, uint16_t domid)
{
        static const char *const names[] = {SIM_GNTTAB_FILE, SIM_MEM_FILE, SIM_GNTTAB_FILE ".new"};
        char path[PATH_MAX];
        int first = 0;

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                int rc = sim_path_dom(path, sizeof(path), dir, domid, names[i]);
                if (rc == 0 && unlink(path) < 0 && errno != ENOENT)
                        rc = -errno;
                if (rc < 0 && i < 2 && !first)
                        first = rc;
        }
        return first;
}

int sim_dom_map(const char *dir, uint16_t domid, struct sim_dom **out)
{
        char path[PATH_MAX];
        struct sim_dom *d = calloc(1, sizeof(*d));
        int rc;

        if (!d)
                return -ENOMEM;
        d->domid = domid;
        d->mem_fd = -1;
        if ((rc = sim_path_dom(path, sizeof(path), dir, domid, SIM_GNTTAB_FILE)) < 0 ||
            (rc = map_gnttab_file(path, &d->gt, &d->ino)) < 0)
                goto fail;
        if ((rc = sim_path_dom(path, sizeof(path), dir, domid, SIM_MEM_FILE)) < 0)
                goto fail;
        if ((d->mem_fd = open(path, O_RDWR | O_CLOEXEC)) < 0) {
                rc = -errno;
                goto fail;
        }
        void *m = mmap(NULL, SIM_MEM_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, d->mem_fd, 0);
        if (m == MAP_FAILED) {
                rc = -errno;
                goto fail;
        }
        d->mem = m;
        *out = d;
        return 0;
fail:
        sim_dom_unmap(d);
        return rc;
}

void sim_dom_unmap(struct sim_dom *d)
{
        if (!d)
                return;
        if (d->gt)
                munmap(d->gt, sizeof(*d->gt));
        if (d->mem)
                munmap(d->mem, SIM_MEM_BYTES);
        if (d->mem_fd >= 0)
                close(d->mem_fd);
        free(d);
}

/* ---- per-process cache ----------------------------------------------------
 * Every domain is mapped once per process and never unmapped while the process
 * lives: grant mappings and copies in flight may still point into a dying
 * incarnation, exactly as a zombie domain's pages outlive it in Xen. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_dom *cache[DOMID_FIRST_RESERVED];
static char cache_dir[PATH_MAX];
static struct sim_dom *retired; /* incarnations of hosts no longer in use */

static void retire(struct sim_dom *d)
{
        struct sim_dom *last = d;
        while (last->older)
                last = last->older;
        last->older = retired;
        retired = d;
}

/* A process that moves to another host (tests do) keeps its old mappings. */
static void switch_host(const char *dir)
{
        if (strcmp(cache_dir, dir) == 0)
                return;
        for (unsigned i = 0; i < DOMID_FIRST_RESERVED; i++) {
                if (cache[i]) {
                        retire(cache[i]);
                        __atomic_store_n(&cache[i], NULL, __ATOMIC_RELEASE);
                }
        }
        snprintf(cache_dir, sizeof(cache_dir), "%s", dir);
}

static int refresh(const char *dir, uint16_t domid, struct sim_dom **out)
{
        struct sim_dom *d = cache[domid], *n = NULL;
        char path[PATH_MAX];
        struct stat st;
        int rc;

        if (d && !__atomic_load_n(&d->gt->hdr.h.dying, __ATOMIC_ACQUIRE)) {
                *out = d;
                return 0;
        }
        if (d) {
                /* Dying: a new domain may have been created with the same id. */
                if ((rc = sim_path_dom(path, sizeof(path), dir, domid, SIM_GNTTAB_FILE)) < 0)
                        return rc;
                if (stat(path, &st) < 0 || st.st_ino == d->ino) {
                        *out = d;
                        return 0;
                }
        }
        if ((rc = sim_dom_map(dir, domid, &n)) < 0)
                return d ? (*out = d, 0) : rc;
        n->older = d;
        __atomic_store_n(&cache[domid], n, __ATOMIC_RELEASE);
        *out = n;
        return 0;
}

int sim_dom_get(const char *dir, uint16_t domid, struct sim_dom **out)
{
        struct sim_dom *d;
        int rc;

        if (domid >= DOMID_FIRST_RESERVED)
                return -ENOENT;
        d = __atomic_load_n(&cache[domid], __ATOMIC_ACQUIRE);
        if (d && !__atomic_load_n(&d->gt->hdr.h.dying, __ATOMIC_RELAXED) &&
            strcmp(cache_dir, dir) == 0) {
                *out = d;
                return 0;
        }
        pthread_mutex_lock(&cache_lock);
        switch_host(dir);
        rc = refresh(dir, domid, out);
        pthread_mutex_unlock(&cache_lock);
        return rc;
}
