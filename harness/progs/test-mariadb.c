/*
 * test-mariadb: runs a private MariaDB (harness/mariadb.c) for shell tests
 * and `make demo` until SIGTERM/SIGINT/SIGHUP, then stops it and removes its
 * directory. Once the server is ready it prints shell-style lines
 *   LARS_TEST_DB_HOST=127.0.0.1  LARS_TEST_DB_PORT=...  LARS_TEST_DB_USER=...
 *   LARS_TEST_DB_PASSWORD=...  LARS_TEST_DB_NAME=...  LARS_TEST_DB_SOCKET=...
 *   LARS_TEST_DB_DIR=...  LARS_TEST_DB_PID=...
 * on stdout and, with --env-file, writes them to that file (atomically, so a
 * script can wait for it to appear and then source it). It exits when its
 * parent does, so a killed test script leaves no server behind.
 *
 *   test-mariadb [--env-file F] [--conf F] [--password-file F] [--sample]
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "harness/mariadb.h"

static void print_env(const test_mariadb_t *db, FILE *out)
{
    fprintf(out,
            "LARS_TEST_DB_HOST=%s\nLARS_TEST_DB_PORT=%d\nLARS_TEST_DB_USER=%s\n"
            "LARS_TEST_DB_PASSWORD=%s\nLARS_TEST_DB_NAME=%s\nLARS_TEST_DB_SOCKET=%s\n"
            "LARS_TEST_DB_DIR=%s\nLARS_TEST_DB_PID=%d\n",
            db->host, db->port, db->user, db->password, db->name, db->socket, db->dir,
            (int)db->pid);
}

static int write_file(const char *path, const test_mariadb_t *db, int what)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "we");
    if (!f)
        return -errno;
    if (what == 'e')
        print_env(db, f);
    else if (what == 'c')
        test_mariadb_conf_snippet(db, f);
    else
        fprintf(f, "%s\n", db->password);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        int r = -errno;
        unlink(tmp);
        return r;
    }
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: test-mariadb [--env-file FILE] [--conf FILE] [--password-file FILE] "
                 "[--sample]\n");
}

int main(int argc, char **argv)
{
    static const struct option options[] = {
        {"env-file", required_argument, NULL, 'e'},
        {"conf", required_argument, NULL, 'c'},
        {"password-file", required_argument, NULL, 'p'},
        {"sample", no_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *files[3] = {NULL, NULL, NULL}; /* env, conf, password */
    test_mariadb_t db;
    char sample[512];
    bool with_sample = false;
    sigset_t set;
    int c, sig, r;

    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (c) {
        case 'e':
            files[0] = optarg;
            break;
        case 'c':
            files[1] = optarg;
            break;
        case 'p':
            files[2] = optarg;
            break;
        case 's':
            with_sample = true;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }

    /* Signals wait until the server is up; then stop it cleanly. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM);

    if (test_mariadb_start(&db) < 0)
        return 1;
    if (with_sample) {
        r = test_source_path("sql/sample-routes.sql", sample, sizeof(sample));
        if (r < 0 || test_mariadb_apply_file(&db, sample) < 0) {
            fprintf(stderr, "test-mariadb: cannot apply sql/sample-routes.sql\n");
            goto fail;
        }
    }
    for (int i = 2; i >= 0; i--) {
        if (!files[i])
            continue;
        r = write_file(files[i], &db, "ecp"[i]);
        if (r < 0) {
            fprintf(stderr, "test-mariadb: cannot write %s: %s\n", files[i], strerror(-r));
            goto fail;
        }
    }
    print_env(&db, stdout);
    fflush(stdout);

    if (sigwait(&set, &sig) != 0)
        sig = 0;
    test_mariadb_stop(&db);
    return 0;
fail:
    test_mariadb_stop(&db);
    return 1;
}
