/*
 * lars-dns config keys (docs/configuration.md, lars-dns) and the copy of the
 * settings that lars-dns keeps, so the loaded config can be freed or replaced on SIGHUP.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/dns/internal.h"

const lars_conf_key_t dns_conf_keys[] = {
    LARS_CONF_LOG_LEVEL_KEY(dns_settings_t, log_level),
    LARS_DB_CONF_KEYS(dns_settings_t, db),
    LARS_CONF_STRING_KEY("listen", dns_settings_t, listen, "0.0.0.0:7778",
                         "ip:port to bind when systemd passes no socket (restart to change)"),
    LARS_CONF_INT_KEY("threads", dns_settings_t, threads, 4, 1, 256,
                      "worker loops serving connections (restart to change)"),
    LARS_CONF_INT_KEY("max_conns", dns_settings_t, max_conns, 10000, 1, 10000000,
                      "connections above this are accepted and closed (restart to change)"),
    LARS_CONF_INT_KEY("max_frame", dns_settings_t, max_frame, 4194304, 65527, 4194304,
                      "largest response body; bigger routes are truncated"),
    LARS_CONF_INT_KEY("version_poll_ms", dns_settings_t, version_poll_ms, 1000, 10, 3600000,
                      "how often RouteVersion is read"),
    LARS_CONF_INT_KEY("reload_interval_s", dns_settings_t, reload_interval_s, 10, 1, 86400,
                      "full reload of RouteData even without a version change"),
    LARS_CONF_INT_KEY("change_retention_s", dns_settings_t, change_retention_s, 86400, 60,
                      315360000, "RouteChange rows older than this are deleted"),
};
const size_t dns_conf_nkeys = LARS_CONF_NKEYS(dns_conf_keys);

static int dup_str(char **dst, const char *src)
{
    *dst = strdup(src ? src : "");
    return *dst ? 0 : -ENOMEM;
}

int dns_settings_copy(dns_t *d, const dns_settings_t *s)
{
    if (dup_str(&d->listen, s->listen) < 0 || dup_str(&d->db.host, s->db.host) < 0 ||
        dup_str(&d->db.socket, s->db.socket) < 0 || dup_str(&d->db.user, s->db.user) < 0 ||
        dup_str(&d->db.password, s->db.password) < 0 ||
        dup_str(&d->db.password_file, s->db.password_file) < 0 ||
        dup_str(&d->db.name, s->db.name) < 0)
        return -ENOMEM;
    d->db.port = s->db.port;
    d->db.connect_timeout_s = s->db.connect_timeout_s;
    d->db.rw_timeout_s = s->db.rw_timeout_s;
    d->nthreads = (unsigned)s->threads;
    d->max_conns = (unsigned)s->max_conns;
    d->max_frame = (uint32_t)s->max_frame;
    atomic_store(&d->version_poll_ms, s->version_poll_ms);
    atomic_store(&d->reload_interval_s, s->reload_interval_s);
    atomic_store(&d->change_retention_s, s->change_retention_s);
    return 0;
}

void dns_settings_release(dns_t *d)
{
    free(d->listen);
    free(d->db.host);
    free(d->db.socket);
    free(d->db.user);
    if (d->db.password)
        explicit_bzero(d->db.password, strlen(d->db.password));
    free(d->db.password);
    free(d->db.password_file);
    free(d->db.name);
    d->listen = NULL;
    memset(&d->db, 0, sizeof(d->db));
}
