/* sim_dom: the shared grant-table layout, ref/frame allocation, Xen's pin and
 * flag rules (acquire/release), deferred revocation, and recovery from a
 * process that died holding the table lock or a mapping. One process, files
 * in a private temporary directory. */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_main.h"
#include "sim_dom.h"
#include "sim_paths.h"
#include "tmpdir.h"

static char dir[PATH_MAX];
static struct sim_dom *d1; /* the granting domain, dom1 */

static void setup(void)
{
        ck_assert_int_eq(tmpdir_make(dir, sizeof(dir), "pvback-simdom"), 0);
        ck_assert_int_eq(sim_dom_create(dir, 1), 0);
        ck_assert_int_eq(sim_dom_map(dir, 1, &d1), 0);
}

static void teardown(void)
{
        sim_dom_unmap(d1);
        d1 = NULL;
        tmpdir_remove(dir);
}

static uint32_t share(uint16_t to, bool writable)
{
        uint32_t ref;
        ck_assert_int_eq(sim_gnt_share_one(d1, to, writable, &ref), 0);
        return ref;
}

START_TEST(layout_is_what_a_guest_sees)
{
        struct sim_gnttab *gt = d1->gt;
        ck_assert_uint_eq(gt->hdr.h.magic, SIM_GNT_MAGIC);
        ck_assert_uint_eq(gt->hdr.h.domid, 1);
        ck_assert_uint_eq(gt->hdr.h.nr_entries, 16384);
        ck_assert_uint_eq(sizeof(gt->shared), SIM_GNT_FRAMES * 4096u);
        ck_assert_uint_eq((uintptr_t)gt->shared % 4096, 0);
        /* The first share skips the toolstack's reserved refs 0..7. */
        uint32_t ref = share(0, true);
        ck_assert_uint_eq(ref, GNTTAB_NR_RESERVED_ENTRIES);
        ck_assert_uint_eq(gt->shared[ref].flags, GTF_permit_access);
        ck_assert_uint_eq(gt->shared[ref].domid, 0);
        ck_assert_uint_lt(gt->shared[ref].frame, SIM_MEM_FRAMES);
        uint32_t ro = share(3, false);
        ck_assert_uint_eq(ro, ref + 1);
        ck_assert_uint_eq(gt->shared[ro].flags, GTF_permit_access | GTF_readonly);
        ck_assert_uint_ne(gt->shared[ro].frame, gt->shared[ref].frame);
        ck_assert_uint_eq(gt->hdr.h.refs_used, 2);
}
END_TEST

START_TEST(shared_frames_are_zeroed_and_reused)
{
        uint32_t ref = share(0, true);
        uint32_t frame = d1->gt->shared[ref].frame;
        memset(d1->mem + (size_t)frame * 4096, 0xab, 4096);
        ck_assert_int_eq(sim_gnt_end_access(d1->gt, ref), 0);
        ck_assert_uint_eq(d1->gt->shared[ref].flags, 0);
        ck_assert_uint_eq(d1->gt->hdr.h.refs_used, 0);
        uint32_t again = share(0, true);
        ck_assert_uint_eq(again, ref);
        ck_assert_uint_eq(d1->gt->shared[again].frame, frame);
        for (int i = 0; i < 4096; i++)
                ck_assert_uint_eq(d1->mem[(size_t)frame * 4096 + i], 0);
}
END_TEST

START_TEST(acquire_checks_like_xen)
{
        struct sim_gnttab *gt = d1->gt;
        uint32_t rw = share(0, true), ro = share(0, false), other = share(2, true), f;

        ck_assert_int_eq(sim_gnt_acquire(gt, 16384, 0, true, &f), GNTST_bad_gntref);
        ck_assert_int_eq(sim_gnt_acquire(gt, other, 0, true, &f), GNTST_general_error);
        ck_assert_int_eq(sim_gnt_acquire(gt, 100, 0, true, &f), GNTST_general_error); /* unused */
        ck_assert_int_eq(sim_gnt_acquire(gt, ro, 0, false, &f), GNTST_general_error);
        ck_assert_uint_eq(gt->shared[ro].flags, GTF_permit_access | GTF_readonly);
        /* A frame outside the domain's memory: get_paged_frame fails. */
        gt->shared[rw].frame = SIM_MEM_FRAMES;
        ck_assert_int_eq(sim_gnt_acquire(gt, rw, 0, false, &f), GNTST_bad_page);
        ck_assert_uint_eq(gt->shared[rw].flags, GTF_permit_access); /* flags undone */
        ck_assert_uint_eq(gt->act[rw].pin, 0);
}
END_TEST

START_TEST(pins_set_and_clear_reading_writing)
{
        struct sim_gnttab *gt = d1->gt;
        uint32_t ref = share(0, true), f;

        ck_assert_int_eq(sim_gnt_acquire(gt, ref, 0, true, &f), GNTST_okay);
        ck_assert_uint_eq(f, gt->shared[ref].frame);
        ck_assert_uint_eq(gt->shared[ref].flags, GTF_permit_access | GTF_reading);
        ck_assert_int_eq(sim_gnt_acquire(gt, ref, 0, false, &f), GNTST_okay);
        ck_assert_uint_eq(gt->shared[ref].flags, GTF_permit_access | GTF_reading | GTF_writing);
        ck_assert_uint_eq(gt->act[ref].pin, SIM_PIN_HSTR_INC | SIM_PIN_HSTW_INC);
        /* Pinned by dom0: dom4 is refused even if the guest re-grants to it. */
        gt->shared[ref].domid = 4;
        ck_assert_int_eq(sim_gnt_acquire(gt, ref, 4, true, &f), GNTST_general_error);
        gt->shared[ref].domid = 0;
        sim_gnt_release(gt, ref, false);
        ck_assert_uint_eq(gt->shared[ref].flags, GTF_permit_access | GTF_reading);
        sim_gnt_release(gt, ref, true);
        ck_assert_uint_eq(gt->shared[ref].flags, GTF_permit_access);
        ck_assert_uint_eq(gt->act[ref].pin, 0);
        sim_gnt_release(gt, ref, true); /* extra release never underflows */
        ck_assert_uint_eq(gt->act[ref].pin, 0);
}
END_TEST

START_TEST(pin_counter_overflow_is_refused)
{
        struct sim_gnttab *gt = d1->gt;
        uint32_t ref = share(0, false), f;
        int i;
        for (i = 0; i < 200; i++)
                if (sim_gnt_acquire(gt, ref, 0, true, &f) != GNTST_okay)
                        break;
        ck_assert_int_eq(i, 128); /* 0x80 in the read counter: Xen stops there */
}
END_TEST

START_TEST(revoking_a_pinned_grant_is_deferred)
{
        struct sim_gnttab *gt = d1->gt;
        uint32_t ref = share(0, true), f;

        ck_assert_int_eq(sim_gnt_acquire(gt, ref, 0, true, &f), GNTST_okay);
        ck_assert_int_eq(sim_gnt_end_access(gt, ref), -EBUSY);
        ck_assert_uint_eq(gt->hdr.h.deferred, 1);
        ck_assert_uint_eq(gt->shared[ref].flags & GTF_permit_access, GTF_permit_access);
        ck_assert_uint_eq(sim_gnt_sweep(gt, false), 0);
        sim_gnt_release(gt, ref, true);
        ck_assert_uint_eq(sim_gnt_sweep(gt, false), 1);
        ck_assert_uint_eq(gt->hdr.h.deferred, 0);
        ck_assert_uint_eq(gt->hdr.h.refs_used, 0);
        ck_assert_uint_eq(gt->shared[ref].flags, 0);
        ck_assert_int_eq(sim_gnt_end_access(gt, ref), -EINVAL); /* already free */
        ck_assert_int_eq(sim_gnt_end_access(gt, 1), -EINVAL);   /* reserved */
}
END_TEST

static pid_t dead_child(void)
{
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
                _exit(0);
        waitpid(pid, NULL, 0);
        return pid;
}

START_TEST(pins_of_a_dead_mapper_are_reaped)
{
        struct sim_gnttab *gt = d1->gt;
        uint32_t ref = share(0, true), f;
        pid_t dead = dead_child();

        ck_assert_int_eq(sim_gnt_acquire(gt, ref, 0, false, &f), GNTST_okay);
        ck_assert_int_eq(sim_maptrack_add(gt, dead, ref, 0, false), 0);
        ck_assert_int_eq(sim_gnt_end_access(gt, ref), -EBUSY);
        ck_assert_uint_eq(sim_gnt_sweep(gt, true), 1);
        ck_assert_uint_eq(gt->hdr.h.maps_used, 0);
        ck_assert_uint_eq(gt->act[ref].pin, 0);
        ck_assert_uint_eq(gt->hdr.h.refs_used, 0);
}
END_TEST

START_TEST(lock_holder_death_undoes_its_copy_pin)
{
        struct sim_gnttab *gt = d1->gt;
        uint32_t ref = share(0, true);

        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                uint32_t f;
                if (sim_gnttab_lock(gt) < 0 ||
                    sim_gnt_acquire_copy(gt, 1, ref, 0, false, &f) != GNTST_okay)
                        _exit(1);
                _exit(0); /* dies mid-copy, lock held */
        }
        int status;
        waitpid(pid, &status, 0);
        ck_assert_int_eq(WEXITSTATUS(status), 0);
        ck_assert_uint_eq(gt->shared[ref].flags & GTF_writing, GTF_writing);
        ck_assert_int_eq(sim_gnttab_lock(gt), 0);
        ck_assert_uint_eq(gt->act[ref].pin, 0);
        ck_assert_uint_eq(gt->shared[ref].flags, GTF_permit_access);
        sim_gnttab_unlock(gt);
}
END_TEST

START_TEST(cache_follows_a_recreated_domain)
{
        struct sim_dom *a, *b;
        ck_assert_int_eq(sim_dom_get(dir, 1, &a), 0);
        ck_assert_int_eq(sim_dom_get(dir, 1, &b), 0);
        ck_assert_ptr_eq(a, b);
        ck_assert_int_eq(sim_dom_get(dir, 9, &b), -ENOENT);
        ck_assert_int_eq(sim_dom_set_dying(dir, 1), 0);
        ck_assert_uint_eq(a->gt->hdr.h.dying, 1);
        ck_assert_int_eq(sim_dom_remove(dir, 1), 0);
        ck_assert_int_eq(sim_dom_get(dir, 1, &b), 0); /* still the zombie */
        ck_assert_ptr_eq(a, b);
        ck_assert_int_eq(sim_dom_create(dir, 1), 0);
        ck_assert_int_eq(sim_dom_get(dir, 1, &b), 0);
        ck_assert_ptr_ne(a, b);
        ck_assert_uint_eq(b->gt->hdr.h.dying, 0);
}
END_TEST

static Suite *sim_dom_suite(void)
{
        Suite *s = suite_create("sim_dom");
        TCase *tc = tcase_create("table");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, layout_is_what_a_guest_sees);
        tcase_add_test(tc, shared_frames_are_zeroed_and_reused);
        tcase_add_test(tc, acquire_checks_like_xen);
        tcase_add_test(tc, pins_set_and_clear_reading_writing);
        tcase_add_test(tc, pin_counter_overflow_is_refused);
        tcase_add_test(tc, revoking_a_pinned_grant_is_deferred);
        tcase_add_test(tc, pins_of_a_dead_mapper_are_reaped);
        tcase_add_test(tc, lock_holder_death_undoes_its_copy_pin);
        tcase_add_test(tc, cache_follows_a_recreated_domain);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(sim_dom_suite)
