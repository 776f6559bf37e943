/* netback end to end through the shipped binaries: pvbackd as domain 0 of a
 * simulated host, the vif attached by `pvback-sim vif attach` with Debian's
 * stock vif-bridge putting it on bridge xenbr0 (host namespace), and
 * `pvback-netfront tap` giving the guest namespace an eth0. Asserts: the
 * script bridged the netdev, ping works both ways, and a TCP stream of
 * 256 MiB each way (real kernel TCP: GSO and partial checksums cross the
 * rings as netif flags) arrives with the sender's digest. With
 * --worker-cpus, every worker thread may run only on the CPU given and the
 * vif still carries traffic. */
#include <check.h>
#include <dirent.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"
#include "nbworld.h"

/* The sanitizer build runs the data path ~10x slower: smaller streams. */
#if defined(__SANITIZE_ADDRESS__)
#define E2E_BYTES (32ull << 20)
#else
#define E2E_BYTES (256ull << 20)
#endif

static struct nbw world;

static bool skip_reason(void)
{
        if (access("/etc/xen/scripts/vif-bridge", X_OK) != 0) {
                fprintf(stderr, "netback_e2e: skipped: /etc/xen/scripts/vif-bridge is not "
                                "installed (Debian package xen-utils-common)\n");
                return true;
        }
        if (!netns_supported()) {
                fprintf(stderr, "netback_e2e: skipped: needs root, network namespaces, "
                                "bridges and /dev/net/tun\n");
                return true;
        }
        return false;
}

static void stream_ok(bool guest_to_host, uint16_t port, uint32_t seed)
{
        struct nbw_stream s;
        const char *dir = guest_to_host ? "guest→host" : "host→guest";
        ck_assert_int_eq(nbw_tcp_stream(&world, guest_to_host, E2E_BYTES, port, seed, &s), 0);
        ck_assert_msg(s.bytes_received == E2E_BYTES, "%s: %llu of %llu bytes arrived", dir,
                      (unsigned long long)s.bytes_received, (unsigned long long)E2E_BYTES);
        ck_assert_msg(s.first_bad == UINT64_MAX, "%s: first wrong byte at offset %llu", dir,
                      (unsigned long long)s.first_bad);
        ck_assert_msg(s.digest_received == s.digest_sent, "%s: digest %016llx, sent %016llx", dir,
                      (unsigned long long)s.digest_received, (unsigned long long)s.digest_sent);
        printf("netback_e2e: %s %llu MiB verified (digest %016llx) at %.0f Mbit/s\n", dir,
               (unsigned long long)(E2E_BYTES >> 20), (unsigned long long)s.digest_received,
               nbw_mbps(&s));
}

START_TEST(ping_and_verified_tcp_through_bridge)
{
        char why[4096];
        if (skip_reason())
                return;
        ck_assert_msg(nbw_up(&world, NULL, why, sizeof(why)) == 0, "%s", why);
        /* The stock script put the netdev on the bridge and said so. */
        ck_assert_int_eq(
            netns_run(&world.hostns, "ip -o link show vif1.0 | grep -q 'master xenbr0'"), 0);
        char *hs = nbw_be_read(&world, "hotplug-status");
        ck_assert_msg(hs && strcmp(hs, "connected") == 0, "hotplug-status %s", hs ? hs : "-");
        free(hs);
        ck_assert_msg(nbw_netfront_start(&world, "tap", NULL, why, sizeof(why)) == 0, "%s", why);
        ck_assert_msg(nbw_be_wait(&world, "state", "4", 10000), "backend never Connected");
        char *carrier = nbw_be_read(&world, "carrier");
        ck_assert_msg(carrier && strcmp(carrier, "1") == 0, "carrier %s", carrier ? carrier : "-");
        free(carrier);

        ck_assert_msg(nbw_ping(&world, true, 3) == 0, "guest cannot ping the host");
        ck_assert_msg(nbw_ping(&world, false, 3) == 0, "host cannot ping the guest");
        stream_ok(true, 5001, 11);
        stream_ok(false, 5002, 12);

        /* Both directions used the offloads the default negotiation offers. */
        ck_assert_int_eq(nbw_netfront_stop(&world), 0);
        char *log = nbw_slurp(world.nf_log);
        ck_assert_msg(strstr(log, "gso-tcpv4: on") && strstr(log, "csum-offload: on"), "%s", log);
        free(log);
        nbw_down(&world);
}
END_TEST

/* How many of pid's worker threads there are, and how many may run only on
 * the CPU worker i was given: cpus[i % ncpus] (status Cpus_allowed_list). */
static void workers_on(pid_t pid, const int *cpus, int ncpus, int *on, int *all)
{
        char path[300], line[256], comm[32];
        struct dirent *e;
        DIR *d;
        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        d = opendir(path);
        ck_assert_ptr_nonnull(d);
        *on = *all = 0;
        while ((e = readdir(d))) {
                unsigned idx;
                FILE *f;
                if (e->d_name[0] == '.')
                        continue;
                snprintf(path, sizeof(path), "/proc/%d/task/%s/comm", (int)pid, e->d_name);
                if (!(f = fopen(path, "r")))
                        continue;
                bool worker = fgets(comm, sizeof(comm), f) && sscanf(comm, "pvback-w%u", &idx) == 1;
                fclose(f);
                snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
                if (!worker || !(f = fopen(path, "r")))
                        continue;
                (*all)++;
                char want[16];
                snprintf(want, sizeof(want), "%d", cpus[idx % (unsigned)ncpus]);
                while (fgets(line, sizeof(line), f)) {
                        if (strncmp(line, "Cpus_allowed_list:", 18) != 0)
                                continue;
                        char *v = line + 18 + strspn(line + 18, " \t");
                        v[strcspn(v, "\n")] = '\0';
                        *on += !strcmp(v, want);
                }
                fclose(f);
        }
        closedir(d);
}

START_TEST(workers_run_on_the_cpus_asked)
{
        char why[4096], list[32] = "";
        int cpus[2], ncpus = 0;
        cpu_set_t allowed;
        if (skip_reason())
                return;
        /* The last two CPUs this test may use (pvbackd inherits the set):
         * worker 0 on the first, worker 1 on the second. */
        ck_assert_int_eq(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
        for (int c = CPU_SETSIZE - 1; c >= 0 && ncpus < 2; c--)
                if (CPU_ISSET(c, &allowed))
                        cpus[ncpus++] = c;
        if (ncpus == 2) {
                int t = cpus[0];
                cpus[0] = cpus[1];
                cpus[1] = t;
                snprintf(list, sizeof(list), "%d,%d", cpus[0], cpus[1]);
        } else {
                snprintf(list, sizeof(list), "%d", cpus[0]);
        }
        const char *const args[] = {"--workers", "2", "--worker-cpus", list, NULL};
        const struct nbw_opts o = {.pvbackd_args = args};
        ck_assert_msg(nbw_up(&world, &o, why, sizeof(why)) == 0, "%s", why);
        int on, all;
        workers_on(world.pvbackd, cpus, ncpus, &on, &all);
        ck_assert_msg(all == 2 && on == 2, "%d of %d worker threads only on their CPU of %s", on,
                      all, list);
        char *log = nbw_slurp(world.pvbackd_log);
        ck_assert_msg(strstr(log, "2 worker threads pinned to CPUs"), "%s", log);
        free(log);
        ck_assert_msg(nbw_netfront_start(&world, "tap", NULL, why, sizeof(why)) == 0, "%s", why);
        ck_assert_msg(nbw_be_wait(&world, "state", "4", 10000), "backend never Connected");
        ck_assert_msg(nbw_ping(&world, true, 3) == 0, "guest cannot ping the host");
        ck_assert_msg(nbw_ping(&world, false, 3) == 0, "host cannot ping the guest");
        nbw_down(&world);
}
END_TEST

static Suite *netback_e2e_suite(void)
{
        Suite *s = suite_create("netback_e2e");
        TCase *tc = tcase_create("e2e");
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, ping_and_verified_tcp_through_bridge);
        tcase_add_test(tc, workers_run_on_the_cpus_asked);
        suite_add_tcase(s, tc);
        return s;
}

PV_CHECK_MAIN(netback_e2e_suite)
