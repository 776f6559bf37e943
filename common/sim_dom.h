/* A simulated domain's hypervisor-side state in shared files: its grant table
 * (grant_entry_v1_t, as a guest sees it) with Xen's private bookkeeping (pin
 * counts, dying flag), and its memory frames. The pvback-sim daemon creates and
 * removes them; the "sim" provider in every process maps them. */
#ifndef PVBACK_SIM_DOM_H
#define PVBACK_SIM_DOM_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* xenctrl.h first: it sets up what the public xen headers expect. */
#include <xenctrl.h>
#include <xen/grant_table.h>

/* Creates <dir>/dom<N>/{gnttab,mem} (and <dir>/dom<N> if missing). */
int sim_dom_create(const char *dir, uint16_t domid);
/* Marks the domain dying: from now on grant operations against it fail as
 * they do for a dying domain in Xen (GNTST_bad_domain / errno). */
int sim_dom_set_dying(const char *dir, uint16_t domid);
/* Unlinks the files. Mappings other processes still hold stay valid, as a
 * zombie domain's pages do while a backend holds them mapped. */
int sim_dom_remove(const char *dir, uint16_t domid);

/* Processes that die:
 *  - holding the table lock in a copy: the next locker undoes the copy's pins
 *    (robust mutex + hdr.inflight), as Xen always releases a copy's pins;
 *  - with grants mapped: their pins stay until a sweep sees the pid gone
 *    (maptrack), as gntdev's release unmaps on exit; the granting side sweeps
 *    when it revokes a busy grant or runs out of refs;
 *  - with pages shared: the grants stay valid until such a sweep ends them,
 *    where Linux's gntalloc ends them when the process's fd closes.
 * Pids are compared by liveness only: a recycled pid keeps pins alive longer. */

/* ---- layout of <dir>/dom<N>/gnttab ---------------------------------------
 * One struct sim_gnttab, mapped MAP_SHARED by every process. The `shared`
 * array is exactly what a v1 guest sees; everything else is what Xen keeps
 * privately (struct active_grant_entry, allocation state). */
#define SIM_GNT_MAGIC      0x50564754u /* "PVGT" */
#define SIM_GNT_VERSION    1u
#define SIM_GNT_FRAMES     32u /* grant-table frames: Xen's default max_grant_frames */
#define SIM_GNT_ENTRIES    (SIM_GNT_FRAMES * 4096u / (uint32_t)sizeof(grant_entry_v1_t))
#define SIM_MEM_FRAMES     65536u /* 256 MiB of guest memory, sparse */
#define SIM_MAPTRACK       4096u  /* foreign mappings of this domain's grants */

/* Xen's act->pin layout (grant_table.c GNTPIN_*): host/device × read/write
 * counters of 8 bits each; a set top bit means "would overflow". */
#define SIM_PIN_HSTW_INC   0x00000001u
#define SIM_PIN_HSTW_MASK  0x000000ffu
#define SIM_PIN_HSTR_INC   0x00000100u
#define SIM_PIN_HSTR_MASK  0x0000ff00u
#define SIM_PIN_OVERFLOW   0x80808080u

/* Private per-ref flags (the owner's allocation state, not Xen's). */
#define SIM_REF_DEFERRED   0x1u /* unshared while pinned: freed once unpinned */

struct sim_gnt_active {
        uint32_t pin;        /* Xen's act->pin */
        uint16_t domid;      /* Xen's act->domid: who holds the pins */
        uint16_t priv;       /* SIM_REF_* */
        uint32_t frame;      /* Xen's act->mfn: the frame fixed at first pin */
        uint32_t alloc_frame; /* frame the owner allocated with this ref */
        int32_t owner_pid;   /* process of the granting domain that shared it */
};

/* One foreign mapping of one ref, so pins of a crashed mapper can be undone. */
struct sim_maptrack {
        int32_t pid; /* 0 = free slot */
        uint32_t ref;
        uint16_t domid;
        uint16_t readonly;
};

/* The pin a copy holds while the lock is held; undone if its process dies
 * holding the lock (robust mutex, EOWNERDEAD). */
struct sim_inflight {
        uint32_t active;
        uint32_t ref;
        uint32_t pin_inc;
};

struct sim_gnt_hdr {
        uint32_t magic;
        uint32_t version;
        uint16_t domid;
        uint16_t pad;
        uint32_t dying;
        uint32_t nr_entries;
        uint32_t nr_mem_frames;
        uint32_t refs_used;
        uint32_t frames_used;
        uint32_t maps_used;
        uint32_t deferred;
        struct sim_inflight inflight[2]; /* source and destination side */
        pthread_mutex_t lock; /* process-shared, robust */
};

struct sim_gnttab {
        union {
                struct sim_gnt_hdr h;
                uint8_t page[4096];
        } hdr;
        grant_entry_v1_t shared[SIM_GNT_ENTRIES];
        struct sim_gnt_active act[SIM_GNT_ENTRIES];
        uint64_t ref_bitmap[SIM_GNT_ENTRIES / 64];
        uint64_t frame_bitmap[SIM_MEM_FRAMES / 64];
        struct sim_maptrack maptrack[SIM_MAPTRACK];
};

/* A process's view of one incarnation of a domain: both files mapped once. */
struct sim_dom {
        uint16_t domid;
        ino_t ino;
        struct sim_gnttab *gt;
        uint8_t *mem;
        int mem_fd;
        struct sim_dom *older; /* superseded incarnations, kept mapped */
};

/* Initialises a table in memory (the file, or a test buffer). */
int sim_gnttab_init(struct sim_gnttab *gt, uint16_t domid);
/* Takes the table lock; recovers the table if the last holder died. */
int sim_gnttab_lock(struct sim_gnttab *gt);
void sim_gnttab_unlock(struct sim_gnttab *gt);

/* The current incarnation of domid on host `dir`, mapped once per process and
 * cached. -ENOENT if the domain does not exist (or its files are gone). A dying
 * cached incarnation is returned as is (callers check hdr.h.dying), unless a
 * new domain with the same id exists, which then replaces it in the cache. */
int sim_dom_get(const char *dir, uint16_t domid, struct sim_dom **out);
/* Maps a domain's files without caching (tests); sim_dom_unmap undoes it. */
int sim_dom_map(const char *dir, uint16_t domid, struct sim_dom **out);
void sim_dom_unmap(struct sim_dom *d);

/* ---- Xen's pin rules (grant_table.c), called with the table lock held ---- */
/* acquire_grant_for_copy / map_grant_ref for v1 entries: checks the ref, the
 * active domid, the shared flags and the frame, sets GTF_reading/GTF_writing
 * and takes one pin. Returns GNTST_*; *frame is the granted frame. */
int16_t sim_gnt_acquire(struct sim_gnttab *gt, uint32_t ref, uint16_t ldomid, bool readonly,
                        uint32_t *frame);
/* The same for a copy: records the pin in hdr.inflight[slot] so that it is
 * undone if this process dies holding the lock. */
int16_t sim_gnt_acquire_copy(struct sim_gnttab *gt, unsigned slot, uint32_t ref, uint16_t ldomid,
                             bool readonly, uint32_t *frame);
void sim_gnt_release_copy(struct sim_gnttab *gt, unsigned slot, uint32_t ref, bool readonly);
/* release_grant_for_copy / unmap: drops the pin, clears the flags Xen clears. */
void sim_gnt_release(struct sim_gnttab *gt, uint32_t ref, bool readonly);

/* ---- the granting side (gntalloc's job), table lock held ---------------- */
/* Allocates a ref (never one of the GNTTAB_NR_RESERVED_ENTRIES) and a zeroed
 * frame, fills the entry for `domid` and publishes GTF_permit_access last. */
int sim_gnt_share_one(struct sim_dom *d, uint16_t domid, bool writable, uint32_t *ref);
/* gnttab_end_foreign_access: revokes and frees if unpinned (0), else marks
 * the ref deferred and returns -EBUSY; it is freed by a later sweep. */
int sim_gnt_end_access(struct sim_gnttab *gt, uint32_t ref);
/* Frees deferred refs that are no longer pinned; releases pins of mappers and
 * refs of sharers whose process has died. Returns refs freed. */
unsigned sim_gnt_sweep(struct sim_gnttab *gt, bool reap_dead);

/* ---- maptrack (table lock held) ------------------------------------------ */
int sim_maptrack_add(struct sim_gnttab *gt, pid_t pid, uint32_t ref, uint16_t domid,
                     bool readonly);
void sim_maptrack_del(struct sim_gnttab *gt, pid_t pid, uint32_t ref, uint16_t domid,
                      bool readonly);

#endif
