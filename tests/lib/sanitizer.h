/* What the sanitizer build (make SANITIZE=1) changes for a test: ASan makes
 * every cycle several times slower, maps memory on its own schedule and
 * holds freed blocks in quarantine (mappings and RSS say nothing about the
 * process under test there), and valgrind cannot run its binaries. */
#ifndef PVBACK_TEST_SANITIZER_H
#define PVBACK_TEST_SANITIZER_H

#include <stdbool.h>
#include <stdio.h>

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#else
#define ASAN_BUILD 0
#endif
static const bool asan_build = ASAN_BUILD;

/* The lifecycle tests' cycle counts: the release build runs the counts the
 * issue asks for; the ASan build a quarter of them (its point there is the
 * sanitizers; the flat counts are the release build's). */
#define LIFECYCLE_ATTACH_CYCLES  (ASAN_BUILD ? 50 : 200)
#define LIFECYCLE_DESTROY_CYCLES (ASAN_BUILD ? 13 : 50)

/* valgrind (memcheck) in front of a process under a leak test: a definite
 * or indirect leak, or a memory error, makes it exit VALGRIND_FAILED. Its
 * log options follow in the caller's argument list. */
#define VALGRIND_FAILED 99
#define VALGRIND_MEMCHECK                                                                          \
        "valgrind", "--quiet", "--leak-check=full", "--show-leak-kinds=definite,indirect",         \
            "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99"
/* What a failed run's exit status means, for the failure message. */
#define VALGRIND_VERDICT(status)                                                                   \
        ((status) == VALGRIND_FAILED ? "valgrind found errors or leaks" : "failure")

/* For a valgrind test: whether it must skip here (and it says so). */
static inline bool valgrind_skipped(void)
{
        if (asan_build)
                fprintf(stderr, "skipped: valgrind does not run ASan binaries\n");
        return asan_build;
}

#endif
