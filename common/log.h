/* Logging with device context, to stderr or syslog. Callers pass the context
 * ("vif5.0 q1") so every line says which device it is about. */
#ifndef PVBACK_LOG_H
#define PVBACK_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum pv_log_level {
        PV_LOG_ERR = LOG_ERR,
        PV_LOG_WARN = LOG_WARNING,
        PV_LOG_INFO = LOG_INFO,
        PV_LOG_DEBUG = LOG_DEBUG,
};

/* ident names the program; use_syslog sends lines to syslog instead of stderr. */
void pv_log_init(const char *ident, bool use_syslog, enum pv_log_level max_level);
void pv_log(enum pv_log_level level, const char *ctx, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

#define pv_err(ctx, ...)   pv_log(PV_LOG_ERR, ctx, __VA_ARGS__)
#define pv_warn(ctx, ...)  pv_log(PV_LOG_WARN, ctx, __VA_ARGS__)
#define pv_info(ctx, ...)  pv_log(PV_LOG_INFO, ctx, __VA_ARGS__)
#define pv_debug(ctx, ...) pv_log(PV_LOG_DEBUG, ctx, __VA_ARGS__)

#endif
