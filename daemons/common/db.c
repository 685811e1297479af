/*
 * MariaDB connection setup, password resolution and small query helpers
 * shared by the daemons and larsctl. See db.h for the contract.
 */
#include "daemons/common/db.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <errmsg.h>
#include <mysqld_error.h>

/* A password file larger than this is a mistake (a wrong path), not a password. */
#define PASSWORD_FILE_MAX 4096

static pthread_once_t library_once = PTHREAD_ONCE_INIT;
static int library_rc;

/* mysql_init() would initialise the library implicitly, but that is not
 * thread-safe; daemons connect from several threads. */
static void library_init(void)
{
    library_rc = mysql_library_init(0, NULL, NULL);
}

static void set_error(lars_db_error_t *err, unsigned int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(lars_db_error_t *err, unsigned int code, const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return;
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}

static int read_password_file(const char *path, char **ret_password, lars_db_error_t *err)
{
    char buf[PASSWORD_FILE_MAX + 1];
    size_t len = 0;
    ssize_t n;
    int fd, r = 0;

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        r = -errno;
        set_error(err, 0, "cannot read password file %s: %s", path, strerror(errno));
        return r;
    }
    while (len < sizeof(buf)) {
        n = read(fd, buf + len, sizeof(buf) - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = -errno;
            set_error(err, 0, "cannot read password file %s: %s", path, strerror(errno));
            goto out_close_fd;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > PASSWORD_FILE_MAX) {
        r = -EFBIG;
        set_error(err, 0, "password file %s is larger than %d bytes", path, PASSWORD_FILE_MAX);
        goto out_close_fd;
    }
    if (memchr(buf, '\0', len)) {
        r = -EINVAL;
        set_error(err, 0, "password file %s contains a NUL byte", path);
        goto out_close_fd;
    }
    if (len > 0 && buf[len - 1] == '\n')
        len--;
    if (len > 0 && buf[len - 1] == '\r')
        len--;
    *ret_password = strndup(buf, len);
    if (!*ret_password) {
        r = -ENOMEM;
        set_error(err, 0, "out of memory");
    }
out_close_fd:
    explicit_bzero(buf, sizeof(buf));
    close(fd);
    return r;
}

int lars_db_resolve_password(const lars_db_settings_t *s, char **ret_password,
                             lars_db_error_t *ret_err)
{
    const char *credentials = getenv("CREDENTIALS_DIRECTORY");
    char path[4096];

    if (s->password_file && s->password_file[0])
        return read_password_file(s->password_file, ret_password, ret_err);

    if (credentials && credentials[0]) {
        if ((size_t)snprintf(path, sizeof(path), "%s/%s", credentials, LARS_DB_CREDENTIAL) >=
            sizeof(path)) {
            set_error(ret_err, 0, "CREDENTIALS_DIRECTORY path too long");
            return -ENAMETOOLONG;
        }
        if (access(path, F_OK) == 0) {
            int r = read_password_file(path, ret_password, ret_err);
            /* The packages install an empty credential file; an empty
             * credential must not hide a password set in the config. */
            if (r < 0 || (*ret_password)[0] || !s->password || !s->password[0])
                return r;
            free(*ret_password);
        }
    }

    *ret_password = strdup(s->password ? s->password : "");
    if (!*ret_password) {
        set_error(ret_err, 0, "out of memory");
        return -ENOMEM;
    }
    return 0;
}

bool lars_db_is_conn_lost(unsigned int code)
{
    switch (code) {
    case CR_SOCKET_CREATE_ERROR:
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_IPSOCK_ERROR:
    case CR_UNKNOWN_HOST:
    case CR_SERVER_GONE_ERROR:
    case CR_TCP_CONNECTION:
    case CR_SERVER_HANDSHAKE_ERR:
    case CR_SERVER_LOST:
    case CR_SERVER_LOST_EXTENDED:
    case CR_ERR_NET_READ:
    case CR_ERR_NET_WRITE:
    case ER_SERVER_SHUTDOWN:
    case ER_NET_READ_ERROR:
    case ER_CONNECTION_KILLED:
        return true;
    default:
        return false;
    }
}

int lars_db_error_from(MYSQL *conn, const char *what, lars_db_error_t *ret_err)
{
    unsigned int code = mysql_errno(conn);

    set_error(ret_err, code, "%s: %s (%u)", what, mysql_error(conn), code);
    return lars_db_is_conn_lost(code) ? -ENOTCONN : -EIO;
}

const char *lars_db_describe(const lars_db_settings_t *s, char *buf, size_t size)
{
    const char *name = s->name ? s->name : "";

    if (s->socket && s->socket[0])
        snprintf(buf, size, "%s/%s", s->socket, name);
    else
        snprintf(buf, size, "%s:%lld/%s", s->host && s->host[0] ? s->host : "127.0.0.1",
                 (long long)s->port, name);
    return buf;
}

static int set_options(MYSQL *conn, const lars_db_settings_t *s)
{
    unsigned int connect_timeout = s->connect_timeout_s ?: LARS_DB_CONNECT_TIMEOUT_S;
    unsigned int rw_timeout = s->rw_timeout_s ?: LARS_DB_RW_TIMEOUT_S;
    unsigned int protocol =
        (s->socket && s->socket[0]) ? MYSQL_PROTOCOL_SOCKET : MYSQL_PROTOCOL_TCP;
    my_bool reconnect = 0;

    if (mysql_options(conn, MYSQL_OPT_CONNECT_TIMEOUT, &connect_timeout) ||
        mysql_options(conn, MYSQL_OPT_READ_TIMEOUT, &rw_timeout) ||
        mysql_options(conn, MYSQL_OPT_WRITE_TIMEOUT, &rw_timeout) ||
        mysql_options(conn, MYSQL_OPT_RECONNECT, &reconnect) ||
        mysql_options(conn, MYSQL_OPT_PROTOCOL, &protocol) ||
        mysql_options(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4"))
        return -EINVAL;
    return 0;
}

static int connect_error(MYSQL *conn, const lars_db_settings_t *s, lars_db_error_t *ret_err)
{
    unsigned int code = mysql_errno(conn);
    char where[600];

    /* The client's text already ends in the OS error ("... (111)"); the
     * MariaDB code stays in ret_err->code. */
    set_error(ret_err, code, "cannot connect to MariaDB at %s: %s",
              lars_db_describe(s, where, sizeof(where)), mysql_error(conn));
    if (lars_db_is_conn_lost(code))
        return -ENOTCONN;
    if (code == ER_ACCESS_DENIED_ERROR || code == ER_DBACCESS_DENIED_ERROR)
        return -EACCES;
    return -EIO;
}

int lars_db_connect(const lars_db_settings_t *s, MYSQL **ret_conn, lars_db_error_t *ret_err)
{
    bool use_socket = s->socket && s->socket[0];
    char *password = NULL;
    MYSQL *conn;
    int r;

    pthread_once(&library_once, library_init);
    if (library_rc != 0) {
        set_error(ret_err, 0, "cannot initialise the MariaDB client library");
        return -ENOMEM;
    }
    if (s->port < 0 || s->port > 65535) {
        set_error(ret_err, 0, "db port %lld out of range", (long long)s->port);
        return -EINVAL;
    }
    r = lars_db_resolve_password(s, &password, ret_err);
    if (r < 0)
        return r;

    conn = mysql_init(NULL);
    if (!conn) {
        set_error(ret_err, 0, "out of memory");
        r = -ENOMEM;
        goto out_free_password;
    }
    if (set_options(conn, s) < 0) {
        set_error(ret_err, 0, "cannot set MariaDB client options");
        r = -EINVAL;
        goto out_close;
    }
    if (!mysql_real_connect(
            conn, use_socket ? "localhost" : (s->host && s->host[0] ? s->host : "127.0.0.1"),
            s->user, password, s->name && s->name[0] ? s->name : NULL,
            use_socket ? 0 : (unsigned int)s->port, use_socket ? s->socket : NULL, 0)) {
        r = connect_error(conn, s, ret_err);
        goto out_close;
    }
    *ret_conn = conn;
    conn = NULL;
    r = 0;
out_close:
    lars_db_free(conn);
out_free_password:
    explicit_bzero(password, password ? strlen(password) : 0);
    free(password);
    return r;
}

void lars_db_free(MYSQL *conn)
{
    if (conn)
        mysql_close(conn);
}

int64_t lars_db_exec(MYSQL *conn, const char *sql, lars_db_error_t *ret_err)
{
    MYSQL_RES *res;
    my_ulonglong affected;

    if (mysql_real_query(conn, sql, strlen(sql)) != 0)
        return lars_db_error_from(conn, "query failed", ret_err);
    res = mysql_store_result(conn);
    if (res) {
        mysql_free_result(res);
        return 0;
    }
    if (mysql_field_count(conn) != 0)
        return lars_db_error_from(conn, "reading result failed", ret_err);
    affected = mysql_affected_rows(conn);
    return affected == (my_ulonglong)-1 ? 0 : (int64_t)affected;
}

int lars_db_query_u64(MYSQL *conn, const char *sql, uint64_t *ret_value, lars_db_error_t *ret_err)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    char *end;
    int r = 0;

    if (mysql_real_query(conn, sql, strlen(sql)) != 0)
        return lars_db_error_from(conn, "query failed", ret_err);
    res = mysql_store_result(conn);
    if (!res)
        return lars_db_error_from(conn, "reading result failed", ret_err);
    row = mysql_fetch_row(res);
    if (!row || mysql_num_fields(res) < 1 || !row[0]) {
        set_error(ret_err, 0, "query returned no value");
        r = -ENOENT;
        goto out_free_result;
    }
    errno = 0;
    *ret_value = strtoull(row[0], &end, 10);
    if (errno != 0 || end == row[0] || *end != '\0' || row[0][0] == '-') {
        set_error(ret_err, 0, "query returned '%s', not an unsigned number", row[0]);
        r = -ERANGE;
    }
out_free_result:
    mysql_free_result(res);
    return r;
}

int lars_db_begin(MYSQL *conn, lars_db_error_t *ret_err)
{
    int64_t r = lars_db_exec(conn, "START TRANSACTION", ret_err);

    return r < 0 ? (int)r : 0;
}

int lars_db_commit(MYSQL *conn, lars_db_error_t *ret_err)
{
    if (mysql_commit(conn) != 0)
        return lars_db_error_from(conn, "commit failed", ret_err);
    return 0;
}

void lars_db_rollback(MYSQL *conn)
{
    (void)mysql_rollback(conn);
}

/* Drains the results of a multi-statement query; the server stops at the
 * first failing statement. */
static int drain_results(MYSQL *conn, lars_db_error_t *ret_err)
{
    unsigned int index = 1;
    MYSQL_RES *res;
    int status;
    char what[64];

    for (;;) {
        res = mysql_store_result(conn);
        if (res)
            mysql_free_result(res);
        else if (mysql_field_count(conn) != 0)
            goto fail;
        status = mysql_next_result(conn);
        if (status < 0)
            return 0;
        if (status > 0) {
            index++;
            goto fail;
        }
        index++;
    }
fail:
    snprintf(what, sizeof(what), "statement %u failed", index);
    return lars_db_error_from(conn, what, ret_err);
}

int lars_db_exec_script(MYSQL *conn, const char *sql, lars_db_error_t *ret_err)
{
    int r;

    if (mysql_set_server_option(conn, MYSQL_OPTION_MULTI_STATEMENTS_ON) != 0)
        return lars_db_error_from(conn, "enabling multi-statements failed", ret_err);
    if (mysql_real_query(conn, sql, strlen(sql)) != 0)
        r = lars_db_error_from(conn, "statement 1 failed", ret_err);
    else
        r = drain_results(conn, ret_err);
    if (r != -ENOTCONN)
        (void)mysql_set_server_option(conn, MYSQL_OPTION_MULTI_STATEMENTS_OFF);
    return r;
}
