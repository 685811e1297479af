/*
 * The config loader (daemons/common/conf.c) against the real key tables of
 * lars-agent, lars-dns and lars-reporter (first byte % 3 picks one; the rest
 * is the file). A file that loads must print (--check-config) as a file that
 * loads again to the same settings, i.e. prints identically; a file that does
 * not load must leave an error that formats. Inputs with an @include are
 * skipped: an include reads other files (even stdin through /proc/self/fd),
 * which is the operator's business, not a parser bug.
 */
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemons/agent/agent.h"
#include "daemons/common/conf.h"
#include "daemons/dns/dns.h"
#include "daemons/reporter/reporter.h"
#include "fuzz/fuzz.h"

typedef union any_settings {
    agent_settings_t agent;
    dns_settings_t dns;
    rp_settings_t rp;
} any_settings_t;

static int conf_fd = -1;
static char conf_path[64];

static void no_warn(const char *file, int line, const char *key, void *arg)
{
}

/* The file lives in a memfd: nothing on disk, reopened by path. */
static void put_file(const void *text, size_t len)
{
    if (conf_fd < 0) {
        conf_fd = memfd_create("fuzz-conf", MFD_CLOEXEC);
        FUZZ_CHECK(conf_fd >= 0);
        snprintf(conf_path, sizeof(conf_path), "/proc/self/fd/%d", conf_fd);
    }
    FUZZ_CHECK(ftruncate(conf_fd, 0) == 0);
    FUZZ_CHECK(pwrite(conf_fd, text, len, 0) == (ssize_t)len);
}

static char *print_settings(const lars_conf_key_t *keys, size_t nkeys, const void *s,
                            size_t *ret_len)
{
    char *text = NULL;
    FILE *f = open_memstream(&text, ret_len);

    FUZZ_CHECK(f);
    lars_conf_print(f, keys, nkeys, s);
    FUZZ_CHECK(fclose(f) == 0);
    return text;
}

int fuzz_conf(const uint8_t *data, size_t size)
{
    static any_settings_t s1, s2;
    fuzz_input_t in = {data, size};
    uint8_t which = fuzz_u8(&in) % 3;
    const lars_conf_key_t *keys = which == 0   ? agent_conf_keys
                                  : which == 1 ? dns_conf_keys
                                               : rp_conf_keys;
    size_t nkeys = which == 0 ? agent_conf_nkeys : which == 1 ? dns_conf_nkeys : rp_conf_nkeys;
    lars_conf_error_t err = {0};
    char *text1, *text2, line[1024];
    size_t len1, len2;

    if (memmem(in.p, in.n, "include", 7))
        return 0;
    put_file(in.p, in.n);
    if (lars_conf_load(conf_path, true, keys, nkeys, &s1, no_warn, NULL, &err) < 0) {
        FUZZ_CHECK(err.line >= 0);
        FUZZ_CHECK(lars_conf_error_format(&err, line, sizeof(line))[0] != '\0');
        return 0;
    }
    text1 = print_settings(keys, nkeys, &s1, &len1);
    put_file(text1, len1);
    err = (lars_conf_error_t){0};
    if (lars_conf_load(conf_path, true, keys, nkeys, &s2, no_warn, NULL, &err) < 0) {
        fprintf(stderr, "printed config does not load: %s\n---\n%s---\n",
                lars_conf_error_format(&err, line, sizeof(line)), text1);
        FUZZ_CHECK(!"printed settings load again");
    }
    text2 = print_settings(keys, nkeys, &s2, &len2);
    if (len1 != len2 || memcmp(text1, text2, len1) != 0)
        fprintf(stderr, "---\n%s---\n%s---\n", text1, text2);
    FUZZ_CHECK(len1 == len2 && memcmp(text1, text2, len1) == 0);
    free(text1);
    free(text2);
    lars_conf_free(keys, nkeys, &s1);
    lars_conf_free(keys, nkeys, &s2);
    return 0;
}
