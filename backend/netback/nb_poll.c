/* L2 busy-poll support: whether a queue has work without sleeping in epoll,
 * and the machine's idle share that gates adaptive polling (as tapdisk's
 * adaptive polling spins only while the CPU would idle anyway). */
#include <fcntl.h>
#include <poll.h>
#include <stdatomic.h>
#include <unistd.h>

#include "netback/nb_vif.h"

/* /proc/stat is read at most this often, by whichever worker asks first. */
#define NB_IDLE_PERIOD_NS 200000000ull

static atomic_uint_fast64_t idle_next_ns;
static atomic_uint idle_share = 0;     /* permille; 0 until measured: no spinning */
static uint64_t idle_prev, total_prev; /* written by the one refreshing worker */
static atomic_flag idle_busy = ATOMIC_FLAG_INIT;

static void idle_refresh(void)
{
        char buf[512];
        uint64_t idle, total;
        int fd = open("/proc/stat", O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return;
        buf[n] = '\0';
        if (nb_coal_parse_stat(buf, &idle, &total) < 0)
                return;
        if (total_prev && total > total_prev && idle >= idle_prev)
                atomic_store(&idle_share,
                             (unsigned)((idle - idle_prev) * 1000u / (total - total_prev)));
        idle_prev = idle;
        total_prev = total;
}

unsigned nb_idle_permille(uint64_t now_ns)
{
        if (now_ns >= atomic_load_explicit(&idle_next_ns, memory_order_relaxed) &&
            !atomic_flag_test_and_set(&idle_busy)) {
                atomic_store(&idle_next_ns, now_ns + NB_IDLE_PERIOD_NS);
                idle_refresh();
                atomic_flag_clear(&idle_busy);
        }
        return atomic_load_explicit(&idle_share, memory_order_relaxed);
}

bool nb_poll_work_ready(struct nb_queue *q)
{
        /* The TX ring is shared memory: no syscall to see a request. Only
         * slots published since TX stopped are new; while the rate limiter
         * waits for credit its timer resumes TX. */
        if (__atomic_load_n(&q->tx.sring->req_prod, __ATOMIC_ACQUIRE) != q->tx_seen &&
            !q->credit_armed)
                return true;
        /* A TAP has no ring to peek at. */
        if (q->up_polling && !q->up_paused && q->up_fd >= 0) {
                struct pollfd p = {.fd = q->up_fd, .events = POLLIN};
                return poll(&p, 1, 0) > 0;
        }
        return false;
}
