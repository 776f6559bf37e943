/* Xen's grant rules over a simulated domain's table: pinning for copy and map
 * (xen/common/grant_table.c acquire_grant_for_copy, map_grant_ref,
 * _set_status_v1), and the granting side that gntalloc implements in Linux.
 * Every function here runs with the table lock held. */
#include "sim_dom.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define COMBO_FLAGS_MASK 0xffffu
#define SET_STATUS_RETRIES 4 /* Xen bounds its cmpxchg retries on guest memory */

static uint32_t *combo_word(struct sim_gnttab *gt, uint32_t ref)
{
        /* flags and domid are one 32-bit word, as Xen's union grant_combo. */
        return (uint32_t *)(void *)&gt->shared[ref];
}

static uint32_t combo(uint16_t flags, uint16_t domid)
{
        return (uint32_t)flags | ((uint32_t)domid << 16);
}

/* _set_status_v1: a guest may change its entry at any time, so the check and
 * the setting of GTF_reading/GTF_writing are one cmpxchg. */
static int16_t set_status_v1(struct sim_gnttab *gt, uint32_t ref, uint16_t ldomid, bool readonly,
                             bool pinned)
{
        uint32_t *w = combo_word(gt, ref);
        uint32_t cur = __atomic_load_n(w, __ATOMIC_ACQUIRE);

        for (int tries = 0; tries < SET_STATUS_RETRIES; tries++) {
                uint16_t flags = (uint16_t)(cur & COMBO_FLAGS_MASK);
                uint16_t domid = (uint16_t)(cur >> 16);
                /* Only an unpinned entry has its type and grantee checked. */
                if (!pinned && ((flags & GTF_type_mask) != GTF_permit_access || domid != ldomid))
                        return GNTST_general_error;
                uint16_t nflags = flags | GTF_reading;
                if (!readonly) {
                        if (flags & GTF_readonly)
                                return GNTST_general_error; /* write-pin of a r/o entry */
                        nflags |= GTF_writing;
                }
                if (__atomic_compare_exchange_n(w, &cur, combo(nflags, domid), false,
                                                __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                        return GNTST_okay;
        }
        return GNTST_general_error; /* entry unstable */
}

static void clear_flags(struct sim_gnttab *gt, uint32_t ref, uint16_t flags)
{
        __atomic_fetch_and(&gt->shared[ref].flags, (uint16_t)~flags, __ATOMIC_RELEASE);
}

static void clear_unused_flags(struct sim_gnttab *gt, uint32_t ref, bool readonly)
{
        uint32_t pin = gt->act[ref].pin;
        uint16_t clear = 0;

        if (!readonly && !(pin & SIM_PIN_HSTW_MASK))
                clear |= GTF_writing;
        if (!pin)
                clear |= GTF_reading;
        if (clear)
                clear_flags(gt, ref, clear);
}

int16_t sim_gnt_acquire(struct sim_gnttab *gt, uint32_t ref, uint16_t ldomid, bool readonly,
                        uint32_t *frame)
{
        struct sim_gnt_active *act;
        int16_t rc;

        if (ref >= gt->hdr.h.nr_entries || ref >= SIM_GNT_ENTRIES)
                return GNTST_bad_gntref;
        act = &gt->act[ref];
        /* Pinned by another domain, or a counter about to overflow. */
        if (act->pin && (act->domid != ldomid || (act->pin & SIM_PIN_OVERFLOW)))
                return GNTST_general_error;
        if (!act->pin || (!readonly && !(act->pin & SIM_PIN_HSTW_MASK))) {
                if ((rc = set_status_v1(gt, ref, ldomid, readonly, act->pin != 0)) != GNTST_okay)
                        return rc;
                if (!act->pin) {
                        uint32_t f = __atomic_load_n(&gt->shared[ref].frame, __ATOMIC_ACQUIRE);
                        /* get_paged_frame: a frame the domain does not own. */
                        if (f >= gt->hdr.h.nr_mem_frames) {
                                clear_unused_flags(gt, ref, readonly);
                                return GNTST_bad_page;
                        }
                        act->frame = f;
                        act->domid = ldomid;
                }
        }
        act->pin += readonly ? SIM_PIN_HSTR_INC : SIM_PIN_HSTW_INC;
        *frame = act->frame;
        return GNTST_okay;
}

void sim_gnt_release(struct sim_gnttab *gt, uint32_t ref, bool readonly)
{
        struct sim_gnt_active *act = &gt->act[ref];
        uint32_t inc = readonly ? SIM_PIN_HSTR_INC : SIM_PIN_HSTW_INC;
        uint32_t mask = readonly ? SIM_PIN_HSTR_MASK : SIM_PIN_HSTW_MASK;

        if (!(act->pin & mask))
                return; /* nothing of this kind held: never underflow */
        act->pin -= inc;
        clear_unused_flags(gt, ref, readonly);
}

int16_t sim_gnt_acquire_copy(struct sim_gnttab *gt, unsigned slot, uint32_t ref, uint16_t ldomid,
                             bool readonly, uint32_t *frame)
{
        int16_t rc = sim_gnt_acquire(gt, ref, ldomid, readonly, frame);
        if (rc == GNTST_okay) {
                struct sim_inflight *f = &gt->hdr.h.inflight[slot];
                f->ref = ref;
                f->pin_inc = readonly ? SIM_PIN_HSTR_INC : SIM_PIN_HSTW_INC;
                f->active = 1;
        }
        return rc;
}

void sim_gnt_release_copy(struct sim_gnttab *gt, unsigned slot, uint32_t ref, bool readonly)
{
        gt->hdr.h.inflight[slot].active = 0;
        sim_gnt_release(gt, ref, readonly);
}

/* ---- the granting side ---------------------------------------------------- */
static int64_t bitmap_alloc(uint64_t *bm, uint32_t nbits)
{
        for (uint32_t w = 0; w < nbits / 64; w++) {
                if (bm[w] == ~0ull)
                        continue;
                int b = __builtin_ctzll(~bm[w]);
                bm[w] |= 1ull << b;
                return (int64_t)w * 64 + b;
        }
        return -1;
}

static void bitmap_free(uint64_t *bm, uint32_t bit)
{
        bm[bit / 64] &= ~(1ull << (bit % 64));
}

static bool bitmap_test(const uint64_t *bm, uint32_t bit)
{
        return bm[bit / 64] & (1ull << (bit % 64));
}

int sim_gnt_share_one(struct sim_dom *d, uint16_t domid, bool writable, uint32_t *ref)
{
        struct sim_gnttab *gt = d->gt;
        int64_t r = bitmap_alloc(gt->ref_bitmap, SIM_GNT_ENTRIES);
        if (r < 0)
                return -ENOSPC;
        int64_t f = bitmap_alloc(gt->frame_bitmap, SIM_MEM_FRAMES);
        if (f < 0) {
                bitmap_free(gt->ref_bitmap, (uint32_t)r);
                return -ENOMEM;
        }
        /* gntalloc hands out zeroed pages. */
        memset(d->mem + (size_t)f * 4096u, 0, 4096u);
        struct sim_gnt_active *act = &gt->act[r];
        act->alloc_frame = (uint32_t)f;
        act->owner_pid = (int32_t)getpid();
        act->priv = 0;
        gt->hdr.h.refs_used++;
        gt->hdr.h.frames_used++;
        /* Frame first, then flags+domid in one store: the order a guest uses
         * (gnttab_grant_foreign_access_ref writes flags last, after a wmb). */
        __atomic_store_n(&gt->shared[r].frame, (uint32_t)f, __ATOMIC_RELAXED);
        uint16_t flags = GTF_permit_access | (writable ? 0 : GTF_readonly);
        __atomic_store_n(combo_word(gt, (uint32_t)r), combo(flags, domid), __ATOMIC_RELEASE);
        *ref = (uint32_t)r;
        return 0;
}

static void free_ref(struct sim_gnttab *gt, uint32_t ref)
{
        struct sim_gnt_active *act = &gt->act[ref];

        if (act->priv & SIM_REF_DEFERRED)
                gt->hdr.h.deferred--;
        bitmap_free(gt->frame_bitmap, act->alloc_frame);
        bitmap_free(gt->ref_bitmap, ref);
        gt->shared[ref].frame = 0;
        gt->hdr.h.refs_used--;
        gt->hdr.h.frames_used--;
        memset(act, 0, sizeof(*act));
}

/* gnttab_end_foreign_access_ref_v1: the entry is invalidated only if no one
 * has it mapped or in a copy (GTF_reading/GTF_writing clear), atomically. */
static bool try_revoke(struct sim_gnttab *gt, uint32_t ref)
{
        uint32_t *w = combo_word(gt, ref);
        uint32_t cur = __atomic_load_n(w, __ATOMIC_ACQUIRE);
        do {
                if (cur & (GTF_reading | GTF_writing))
                        return false;
        } while (!__atomic_compare_exchange_n(w, &cur, 0, false, __ATOMIC_ACQ_REL,
                                              __ATOMIC_ACQUIRE));
        return true;
}

int sim_gnt_end_access(struct sim_gnttab *gt, uint32_t ref)
{
        struct sim_gnt_active *act;

        if (ref < GNTTAB_NR_RESERVED_ENTRIES || ref >= SIM_GNT_ENTRIES ||
            !bitmap_test(gt->ref_bitmap, ref))
                return -EINVAL;
        act = &gt->act[ref];
        if (try_revoke(gt, ref)) {
                free_ref(gt, ref);
                return 0;
        }
        /* Still in use: Linux's gnttab_end_foreign_access defers the release
         * and retries later; the page must not be reused meanwhile. */
        if (!(act->priv & SIM_REF_DEFERRED)) {
                act->priv |= SIM_REF_DEFERRED;
                gt->hdr.h.deferred++;
        }
        return -EBUSY;
}

static bool pid_dead(int32_t pid)
{
        return pid > 0 && kill(pid, 0) < 0 && errno == ESRCH;
}

static void reap_dead_mappers(struct sim_gnttab *gt)
{
        for (uint32_t i = 0; i < SIM_MAPTRACK && gt->hdr.h.maps_used; i++) {
                struct sim_maptrack *m = &gt->maptrack[i];
                if (!m->pid || !pid_dead(m->pid))
                        continue;
                /* gntdev's release on process exit unmaps, and so drops pins. */
                if (m->ref < SIM_GNT_ENTRIES)
                        sim_gnt_release(gt, m->ref, m->readonly);
                memset(m, 0, sizeof(*m));
                gt->hdr.h.maps_used--;
        }
}

unsigned sim_gnt_sweep(struct sim_gnttab *gt, bool reap_dead)
{
        unsigned freed = 0;

        if (reap_dead)
                reap_dead_mappers(gt);
        if (!gt->hdr.h.deferred && !reap_dead)
                return 0;
        for (uint32_t r = GNTTAB_NR_RESERVED_ENTRIES; r < SIM_GNT_ENTRIES; r++) {
                struct sim_gnt_active *act = &gt->act[r];
                if (!bitmap_test(gt->ref_bitmap, r))
                        continue;
                bool orphan = reap_dead && pid_dead(act->owner_pid);
                if (!(act->priv & SIM_REF_DEFERRED) && !orphan)
                        continue;
                /* gntalloc's release ends the grants of a process that died. */
                if (sim_gnt_end_access(gt, r) == 0)
                        freed++;
        }
        return freed;
}

/* ---- maptrack ------------------------------------------------------------ */
int sim_maptrack_add(struct sim_gnttab *gt, pid_t pid, uint32_t ref, uint16_t domid,
                     bool readonly)
{
        for (uint32_t i = 0; i < SIM_MAPTRACK; i++) {
                struct sim_maptrack *m = &gt->maptrack[i];
                if (m->pid)
                        continue;
                m->pid = (int32_t)pid;
                m->ref = ref;
                m->domid = domid;
                m->readonly = readonly;
                gt->hdr.h.maps_used++;
                return 0;
        }
        return -ENOSPC;
}

void sim_maptrack_del(struct sim_gnttab *gt, pid_t pid, uint32_t ref, uint16_t domid,
                      bool readonly)
{
        for (uint32_t i = 0; i < SIM_MAPTRACK; i++) {
                struct sim_maptrack *m = &gt->maptrack[i];
                if (m->pid == (int32_t)pid && m->ref == ref && m->domid == domid &&
                    m->readonly == readonly) {
                        memset(m, 0, sizeof(*m));
                        gt->hdr.h.maps_used--;
                        return;
                }
        }
}
