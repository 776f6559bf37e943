/* Implementation of log.h: one formatted line per call, written with a single
 * write so lines from several threads do not interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "pvback";
static bool log_syslog;
static enum pv_log_level log_max = PV_LOG_INFO;

void pv_log_init(const char *ident, bool use_syslog, enum pv_log_level max_level)
{
        log_ident = ident;
        log_syslog = use_syslog;
        log_max = max_level;
        if (use_syslog)
                openlog(ident, LOG_PID, LOG_DAEMON);
}

static const char *level_name(enum pv_log_level level)
{
        switch (level) {
        case PV_LOG_ERR:
                return "error";
        case PV_LOG_WARN:
                return "warning";
        case PV_LOG_INFO:
                return "info";
        default:
                return "debug";
        }
}

void pv_log(enum pv_log_level level, const char *ctx, const char *fmt, ...)
{
        char msg[1024];
        va_list ap;

        if (level > log_max)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        if (log_syslog) {
                if (ctx && *ctx)
                        syslog((int)level, "%s: %s", ctx, msg);
                else
                        syslog((int)level, "%s", msg);
                return;
        }
        char line[1200];
        int n = snprintf(line, sizeof(line), "%s: %s: %s%s%s\n", log_ident, level_name(level),
                         ctx && *ctx ? ctx : "", ctx && *ctx ? ": " : "", msg);
        if (n > (int)sizeof(line) - 1)
                n = (int)sizeof(line) - 1;
        ssize_t w = write(STDERR_FILENO, line, (size_t)n);
        (void)w;
}
