/*
 * Private MariaDB server for tests; see mariadb.h. Startup is tuned for
 * speed over durability (small buffer pool, no binlog, no performance
 * schema, log flushed once a second): a throw-away server starts in well
 * under a second on an idle machine.
 */
#include "harness/mariadb.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define READY_TIMEOUT_MS   30000
#define INSTALL_TIMEOUT_MS 60000
#define STOP_TIMEOUT_MS    20000
#define PORT_ATTEMPTS      4

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_file_tail(const char *path, int max_lines)
{
    char line[1024];
    char **ring = calloc((size_t)max_lines, sizeof(char *));
    int n = 0;
    FILE *f = fopen(path, "re");

    if (!f || !ring)
        goto out;
    while (fgets(line, sizeof(line), f)) {
        free(ring[n % max_lines]);
        ring[n % max_lines] = strdup(line);
        n++;
    }
    fprintf(stderr, "---- last lines of %s ----\n", path);
    for (int i = n > max_lines ? n - max_lines : 0; i < n; i++)
        fputs(ring[i % max_lines] ? ring[i % max_lines] : "\n", stderr);
out:
    if (f)
        fclose(f);
    for (int i = 0; ring && i < max_lines; i++)
        free(ring[i]);
    free(ring);
}

static bool file_contains(const char *path, const char *needle)
{
    char line[1024];
    bool found = false;
    FILE *f = fopen(path, "re");

    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd, port = -errno;

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    else
        port = -errno;
    close(fd);
    return port;
}

/* fork + exec with stdout/stderr to `log`; the child dies with this thread. */
static pid_t spawn(char *const argv[], const char *log)
{
    pid_t parent = getpid();
    pid_t pid;
    int fd;

    fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        close(fd);
        return -errno;
    }
    if (pid == 0) {
        sigset_t none;

        /* The caller may block or ignore signals (a sigwait loop); the
         * server must still stop on SIGTERM. */
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGPIPE, SIG_DFL);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
            _exit(127);
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fd);
    return pid;
}

/* Waits for `pid` up to timeout_ms; returns its wait status or -ETIMEDOUT. */
static int wait_pid(pid_t pid, long long timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    int status;

    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return status;
        if (r < 0 && errno != EINTR)
            return -errno;
        if (now_ms() >= deadline)
            return -ETIMEDOUT;
        sleep_ms(20);
    }
}

static const char *mariadbd_path(void)
{
    static const char *const candidates[] = {"/usr/sbin/mariadbd", "/usr/sbin/mysqld",
                                             "/usr/libexec/mariadbd"};
    const char *env = getenv("LARS_TEST_MARIADBD");

    if (env && env[0])
        return env;
    for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
        if (access(candidates[i], X_OK) == 0)
            return candidates[i];
    return "mariadbd";
}

static int install_datadir(test_mariadb_t *db)
{
    char arg_datadir[200], arg_tmpdir[200], log[200];
    char *argv[16];
    int argc = 0, status;
    pid_t pid;

    snprintf(arg_datadir, sizeof(arg_datadir), "--datadir=%s", db->datadir);
    snprintf(arg_tmpdir, sizeof(arg_tmpdir), "--tmpdir=%s", db->dir);
    snprintf(log, sizeof(log), "%s/install.log", db->dir);
    argv[argc++] = "mariadb-install-db";
    argv[argc++] = "--no-defaults";
    argv[argc++] = "--auth-root-authentication-method=normal";
    argv[argc++] = arg_datadir;
    /* Not /tmp: a starting mariadbd deletes every #sql* file in its tmpdir,
     * so parallel installs there removed each other's temporary tables. */
    argv[argc++] = arg_tmpdir;
    argv[argc++] = "--skip-test-db";
    argv[argc++] = "--skip-name-resolve";
    argv[argc++] = "--innodb-log-file-size=8M";
    argv[argc++] = "--innodb-buffer-pool-size=32M";
    argv[argc++] = "--skip-log-bin";
    /* Native AIO contexts are a machine-wide limit (fs.aio-max-nr) that
     * parallel test servers can exhaust; the tests do not need them. */
    argv[argc++] = "--innodb-use-native-aio=0";
    if (geteuid() == 0)
        argv[argc++] = "--user=root";
    argv[argc] = NULL;

    pid = spawn(argv, log);
    if (pid < 0) {
        fprintf(stderr, "test_mariadb: cannot start mariadb-install-db: %s\n", strerror(-pid));
        return pid;
    }
    status = wait_pid(pid, INSTALL_TIMEOUT_MS);
    if (status == -ETIMEDOUT) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "test_mariadb: mariadb-install-db failed (status %d)\n", status);
        print_file_tail(log, 80);
        return -EIO;
    }
    return 0;
}

bool test_mariadb_production_like(void)
{
    const char *v = getenv("LARS_TEST_MARIADB_PROFILE");

    return v && strcmp(v, "production") == 0;
}

static pid_t spawn_server(test_mariadb_t *db)
{
    char a_datadir[200], a_socket[200], a_port[32], a_pid[200], a_log[200], a_tmp[200], out[200];
    char *argv[32];
    int argc = 0;

    snprintf(a_datadir, sizeof(a_datadir), "--datadir=%s", db->datadir);
    snprintf(a_socket, sizeof(a_socket), "--socket=%s", db->socket);
    snprintf(a_port, sizeof(a_port), "--port=%d", db->port);
    snprintf(a_pid, sizeof(a_pid), "--pid-file=%s/mariadbd.pid", db->dir);
    snprintf(a_log, sizeof(a_log), "--log-error=%s", db->log);
    snprintf(a_tmp, sizeof(a_tmp), "--tmpdir=%s", db->dir);
    snprintf(out, sizeof(out), "%s/mariadbd.out", db->dir);
    argv[argc++] = (char *)mariadbd_path();
    argv[argc++] = "--no-defaults";
    argv[argc++] = a_datadir;
    argv[argc++] = a_socket;
    argv[argc++] = a_port;
    argv[argc++] = "--bind-address=127.0.0.1";
    argv[argc++] = "--skip-networking=0";
    argv[argc++] = a_pid;
    argv[argc++] = a_log;
    argv[argc++] = a_tmp;
    argv[argc++] = "--skip-name-resolve";
    argv[argc++] = "--skip-log-bin";
    argv[argc++] = "--performance-schema=0";
    if (test_mariadb_production_like()) {
        /* Benchmarks: MariaDB's own defaults for durability and sizes (a log
         * flush per commit, 128M pool, 96M redo log), as production runs. */
        argv[argc++] = "--innodb-buffer-pool-size=128M";
        argv[argc++] = "--innodb-log-file-size=96M";
    } else {
        argv[argc++] = "--innodb-buffer-pool-size=32M";
        argv[argc++] = "--innodb-log-file-size=8M";
        argv[argc++] = "--innodb-flush-log-at-trx-commit=2";
    }
    argv[argc++] = "--innodb-use-native-aio=0";
    argv[argc++] = "--character-set-server=utf8mb4";
    argv[argc++] = "--max-connections=500";
    if (geteuid() == 0)
        argv[argc++] = "--user=root";
    argv[argc] = NULL;
    return spawn(argv, out);
}

static int connect_root(test_mariadb_t *db, MYSQL **ret_conn)
{
    unsigned int timeout = 5, protocol = MYSQL_PROTOCOL_SOCKET;
    my_bool reconnect = 0;
    MYSQL *conn = mysql_init(NULL);

    if (!conn)
        return -ENOMEM;
    mysql_options(conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_options(conn, MYSQL_OPT_READ_TIMEOUT, &timeout);
    mysql_options(conn, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
    mysql_options(conn, MYSQL_OPT_RECONNECT, &reconnect);
    mysql_options(conn, MYSQL_OPT_PROTOCOL, &protocol);
    mysql_options(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (!mysql_real_connect(conn, "localhost", "root", NULL, NULL, 0, db->socket, 0)) {
        mysql_close(conn);
        return -ENOTCONN;
    }
    *ret_conn = conn;
    return 0;
}

/* Waits until root can log in. -EADDRINUSE when the server died because its
 * port was taken (the caller picks another one). */
static int wait_ready(test_mariadb_t *db)
{
    long long deadline = now_ms() + READY_TIMEOUT_MS;
    int status;

    for (;;) {
        if (waitpid(db->pid, &status, WNOHANG) == db->pid) {
            db->pid = 0;
            if (file_contains(db->log, "Address already in use") ||
                file_contains(db->log, "Do you already have another server running on port"))
                return -EADDRINUSE;
            fprintf(stderr, "test_mariadb: mariadbd exited during startup (status %d)\n", status);
            print_file_tail(db->log, 30);
            return -EIO;
        }
        if (connect_root(db, &db->root) == 0)
            return 0;
        if (now_ms() >= deadline) {
            fprintf(stderr, "test_mariadb: mariadbd not ready after %d ms\n", READY_TIMEOUT_MS);
            print_file_tail(db->log, 30);
            return -ETIMEDOUT;
        }
        sleep_ms(30);
    }
}

static int run_server(test_mariadb_t *db, bool new_port)
{
    int r = -EADDRINUSE;

    for (int attempt = 0; attempt < PORT_ATTEMPTS && r == -EADDRINUSE; attempt++) {
        if (new_port || attempt > 0) {
            db->port = free_port();
            if (db->port < 0)
                return db->port;
        }
        db->pid = spawn_server(db);
        if (db->pid < 0) {
            r = db->pid;
            db->pid = 0;
            fprintf(stderr, "test_mariadb: cannot start mariadbd: %s\n", strerror(-r));
            return r;
        }
        r = wait_ready(db);
        if (r == -EADDRINUSE && !new_port) {
            fprintf(stderr, "test_mariadb: port %d taken, cannot restart on it\n", db->port);
            return r;
        }
    }
    if (r < 0 && db->pid > 0) {
        kill(db->pid, SIGKILL);
        waitpid(db->pid, NULL, 0);
        db->pid = 0;
    }
    return r;
}

static void random_hex(char *buf, size_t chars)
{
    unsigned char raw[32] = {0};
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || read(fd, raw, sizeof(raw)) != (ssize_t)sizeof(raw)) {
        unsigned int seed = (unsigned int)(now_ms() ^ getpid());
        for (size_t i = 0; i < sizeof(raw); i++)
            raw[i] = (unsigned char)rand_r(&seed);
    }
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < chars && i / 2 < sizeof(raw); i++)
        buf[i] = "0123456789abcdef"[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
    buf[chars] = '\0';
}

static int create_user_and_schema(test_mariadb_t *db)
{
    char schema[512];
    int r;

    r = test_mariadb_exec(db,
                          "CREATE USER '%s'@'%%' IDENTIFIED BY '%s';"
                          "CREATE USER '%s'@'localhost' IDENTIFIED BY '%s';"
                          "GRANT ALL ON `%s`.* TO '%s'@'%%';"
                          "GRANT ALL ON `%s`.* TO '%s'@'localhost'",
                          db->user, db->password, db->user, db->password, db->name, db->user,
                          db->name, db->user);
    if (r < 0)
        return r;
    r = test_source_path("sql/schema.sql", schema, sizeof(schema));
    if (r < 0) {
        fprintf(stderr, "test_mariadb: sql/schema.sql not found (set LARS_SRCDIR)\n");
        return r;
    }
    r = test_mariadb_apply_file(db, schema);
    if (r < 0)
        return r;
    if (mysql_select_db(db->root, db->name) != 0) {
        fprintf(stderr, "test_mariadb: USE %s: %s\n", db->name, mysql_error(db->root));
        return -EIO;
    }
    return 0;
}

static void fill_settings(test_mariadb_t *db)
{
    static char empty[] = "";

    db->settings = (lars_db_settings_t){
        .host = db->host,
        .port = db->port,
        .socket = empty,
        .user = db->user,
        .password = db->password,
        .password_file = empty,
        .name = db->name,
    };
}

int test_mariadb_start(test_mariadb_t *db)
{
    int r;

    *db = (test_mariadb_t){0};
    snprintf(db->dir, sizeof(db->dir), "/tmp/lars-mariadb-XXXXXX");
    if (!mkdtemp(db->dir)) {
        r = -errno;
        fprintf(stderr, "test_mariadb: mkdtemp: %m\n");
        db->dir[0] = '\0';
        return r;
    }
    snprintf(db->datadir, sizeof(db->datadir), "%s/data", db->dir);
    snprintf(db->socket, sizeof(db->socket), "%s/sock", db->dir);
    snprintf(db->log, sizeof(db->log), "%s/mariadbd.log", db->dir);
    snprintf(db->host, sizeof(db->host), "127.0.0.1");
    snprintf(db->user, sizeof(db->user), "lars");
    snprintf(db->name, sizeof(db->name), "lars");
    random_hex(db->password, 32);

    r = install_datadir(db);
    if (r < 0)
        goto fail;
    r = run_server(db, true);
    if (r < 0)
        goto fail;
    r = create_user_and_schema(db);
    if (r < 0)
        goto fail;
    fill_settings(db);
    return 0;
fail:
    test_mariadb_stop(db);
    return r;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

void test_mariadb_stop(test_mariadb_t *db)
{
    lars_db_free(db->root);
    db->root = NULL;
    if (db->pid > 0) {
        kill(db->pid, SIGCONT);
        kill(db->pid, SIGTERM);
        if (wait_pid(db->pid, STOP_TIMEOUT_MS) == -ETIMEDOUT) {
            fprintf(stderr, "test_mariadb: mariadbd %d ignored SIGTERM, killing it\n",
                    (int)db->pid);
            kill(db->pid, SIGKILL);
            waitpid(db->pid, NULL, 0);
        }
        db->pid = 0;
    }
    if (db->dir[0] && !getenv("LARS_TEST_KEEP_DB"))
        nftw(db->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    db->dir[0] = '\0';
}

int test_mariadb_kill(test_mariadb_t *db)
{
    lars_db_free(db->root);
    db->root = NULL;
    if (db->pid <= 0)
        return -ESRCH;
    kill(db->pid, SIGKILL);
    waitpid(db->pid, NULL, 0);
    db->pid = 0;
    return 0;
}

int test_mariadb_restart(test_mariadb_t *db)
{
    int r;

    if (db->pid > 0)
        test_mariadb_kill(db);
    r = run_server(db, false);
    if (r < 0)
        return r;
    if (mysql_select_db(db->root, db->name) != 0) {
        fprintf(stderr, "test_mariadb: USE %s after restart: %s\n", db->name,
                mysql_error(db->root));
        return -EIO;
    }
    return 0;
}

/* True when every thread of pid is stopped ('T' in /proc/PID/task/TID/stat). */
static bool all_threads_stopped(pid_t pid)
{
    char dir[64], path[400], buf[512];
    struct dirent *e;
    bool stopped = true;
    DIR *d;

    snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
    d = opendir(dir);
    if (!d)
        return false;
    while (stopped && (e = readdir(d))) {
        FILE *f;
        char *paren;

        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s/stat", dir, e->d_name);
        f = fopen(path, "re");
        if (!f)
            continue; /* the thread ended */
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = '\0';
        fclose(f);
        paren = strrchr(buf, ')');
        stopped = paren && paren[1] == ' ' && (paren[2] == 'T' || paren[2] == 't');
    }
    closedir(d);
    return stopped;
}

int test_mariadb_pause(test_mariadb_t *db)
{
    long long deadline;

    if (db->pid <= 0)
        return -ESRCH;
    if (kill(db->pid, SIGSTOP) < 0)
        return -errno;
    /* SIGSTOP is delivered asynchronously: a thread may still answer a
     * query sent right after kill(). Return once all have stopped. */
    deadline = now_ms() + 5000;
    while (!all_threads_stopped(db->pid)) {
        if (now_ms() >= deadline)
            return -ETIMEDOUT;
        sleep_ms(5);
    }
    return 0;
}

int test_mariadb_resume(test_mariadb_t *db)
{
    if (db->pid <= 0)
        return -ESRCH;
    return kill(db->pid, SIGCONT) < 0 ? -errno : 0;
}

static char *vformat(const char *fmt, va_list ap)
{
    char *sql = NULL;

    if (vasprintf(&sql, fmt, ap) < 0)
        return NULL;
    return sql;
}

static int exec_sql(test_mariadb_t *db, const char *sql)
{
    lars_db_error_t err;
    int r;

    if (!db->root) {
        fprintf(stderr, "test_mariadb: server not running\n");
        return -ENOTCONN;
    }
    r = lars_db_exec_script(db->root, sql, &err);
    if (r < 0)
        fprintf(stderr, "test_mariadb: %s\n", err.msg);
    return r;
}

int test_mariadb_exec(test_mariadb_t *db, const char *fmt, ...)
{
    va_list ap;
    char *sql;
    int r;

    va_start(ap, fmt);
    sql = vformat(fmt, ap);
    va_end(ap);
    if (!sql)
        return -ENOMEM;
    r = exec_sql(db, sql);
    free(sql);
    return r;
}

/* Runs `sql` and copies the first column of the first row into buf. */
static int query_first(test_mariadb_t *db, const char *sql, char *buf, size_t size, bool *ret_null)
{
    MYSQL_RES *res;
    MYSQL_ROW row;
    int r = 0;

    if (!db->root)
        return -ENOTCONN;
    if (mysql_query(db->root, sql) != 0 || !(res = mysql_store_result(db->root))) {
        fprintf(stderr, "test_mariadb: %s: %s\n", sql, mysql_error(db->root));
        return -EIO;
    }
    row = mysql_fetch_row(res);
    if (!row || mysql_num_fields(res) < 1) {
        r = -ENOENT;
    } else {
        *ret_null = row[0] == NULL;
        snprintf(buf, size, "%s", row[0] ? row[0] : "");
    }
    mysql_free_result(res);
    return r;
}

int test_mariadb_query_u64(test_mariadb_t *db, uint64_t *ret_value, const char *fmt, ...)
{
    char buf[64], *end;
    bool null = false;
    va_list ap;
    char *sql;
    int r;

    va_start(ap, fmt);
    sql = vformat(fmt, ap);
    va_end(ap);
    if (!sql)
        return -ENOMEM;
    r = query_first(db, sql, buf, sizeof(buf), &null);
    free(sql);
    if (r < 0)
        return r;
    if (null)
        return -ENOENT;
    errno = 0;
    *ret_value = strtoull(buf, &end, 10);
    if (errno || end == buf || *end)
        return -ERANGE;
    return 0;
}

int test_mariadb_query_str(test_mariadb_t *db, char *buf, size_t size, const char *fmt, ...)
{
    bool null = false;
    va_list ap;
    char *sql;
    int r;

    va_start(ap, fmt);
    sql = vformat(fmt, ap);
    va_end(ap);
    if (!sql)
        return -ENOMEM;
    r = query_first(db, sql, buf, size, &null);
    free(sql);
    return r;
}

int test_mariadb_apply_file(test_mariadb_t *db, const char *path)
{
    char *sql = NULL;
    size_t len = 0;
    FILE *f;
    int r;

    f = fopen(path, "re");
    if (!f) {
        r = -errno;
        fprintf(stderr, "test_mariadb: %s: %m\n", path);
        return r;
    }
    FILE *mem = open_memstream(&sql, &len);
    char chunk[4096];
    size_t n;

    if (!mem) {
        fclose(f);
        return -ENOMEM;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, mem);
    fclose(f);
    if (fclose(mem) != 0) {
        free(sql);
        return -ENOMEM;
    }
    r = exec_sql(db, sql);
    if (r < 0)
        fprintf(stderr, "test_mariadb: applying %s failed\n", path);
    free(sql);
    return r;
}

void test_mariadb_conf_snippet(const test_mariadb_t *db, FILE *out)
{
    fprintf(out,
            "db = {\n"
            "    host = \"%s\";\n"
            "    port = %d;\n"
            "    socket = \"\";\n"
            "    user = \"%s\";\n"
            "    password = \"%s\";\n"
            "    password_file = \"\";\n"
            "    name = \"%s\";\n"
            "};\n",
            db->host, db->port, db->user, db->password, db->name);
}

int test_mariadb_write_conf(const test_mariadb_t *db, const char *path)
{
    int fd, r = 0;
    FILE *f;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    f = fdopen(fd, "w");
    if (!f) {
        r = -errno;
        close(fd);
        return r;
    }
    test_mariadb_conf_snippet(db, f);
    if (fclose(f) != 0)
        r = -errno;
    return r;
}

static bool try_path(const char *dir, const char *relpath, char *buf, size_t size)
{
    if ((size_t)snprintf(buf, size, "%s/%s", dir, relpath) >= size)
        return false;
    return access(buf, R_OK) == 0;
}

int test_source_path(const char *relpath, char *buf, size_t size)
{
    const char *src = getenv("LARS_SRCDIR");
    const char *build = getenv("LARS_BUILD");
    char dir[4096];

    if (src && src[0] && try_path(src, relpath, buf, size))
        return 0;
    if (try_path(".", relpath, buf, size))
        return 0;
    if (build && build[0] && strlen(build) < sizeof(dir)) {
        snprintf(dir, sizeof(dir), "%s", build);
        for (int depth = 0; depth < 4 && strcmp(dir, "/") != 0; depth++) {
            char *parent = dirname(dir);
            if (parent != dir)
                snprintf(dir, sizeof(dir), "%s", parent);
            if (try_path(dir, relpath, buf, size))
                return 0;
        }
    }
    return -ENOENT;
}
