/*
 * Config files in libconfig syntax, read against a declared key table.
 *
 * Each program declares its keys once (path, type, default, range, help) with
 * the offset of the field that receives the value in its own settings struct.
 * lars_conf_load() fills every field (default when the key is absent), warns
 * about keys not in the table, and on a bad file fails with the file, line and
 * key in the error so the caller can print it and exit with EX_CONFIG (78).
 */
#ifndef LARS_COMMON_CONF_H
#define LARS_COMMON_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LARS_EX_CONFIG 78

typedef enum lars_conf_type {
    LARS_CONF_INT,         /* field: int64_t, checked against [min, max] */
    LARS_CONF_FLOAT,       /* field: double, checked against [fmin, fmax] */
    LARS_CONF_BOOL,        /* field: bool */
    LARS_CONF_STRING,      /* field: char * (owned, freed by lars_conf_free) */
    LARS_CONF_STRING_LIST, /* field: lars_strv_t (owned) */
} lars_conf_type_t;

typedef struct lars_strv {
    char **v;
    size_t n;
} lars_strv_t;

typedef struct lars_conf_key {
    const char *path; /* dotted: "log_level", "db.host", "loadbalance.probe_num" */
    lars_conf_type_t type;
    size_t offset; /* offsetof(settings struct, field) */
    int64_t def_int;
    double def_float;
    const char *def_str;  /* STRING default; STRING_LIST: comma-separated */
    int64_t min, max;     /* INT range (both 0: no check) */
    double fmin, fmax;    /* FLOAT range (both 0: no check) */
    const char *help;     /* one line, shown by --check-config */
} lars_conf_key_t;

typedef struct lars_conf_error {
    char file[512];
    int line;     /* 0 when unknown (e.g. a missing file) */
    char key[128];/* "" when the error is not about one key */
    char msg[256];
} lars_conf_error_t;

/* Loads `path` into `settings`. A missing file is an error only when
 * must_exist (an explicit -c); otherwise every key takes its default.
 * Unknown keys are reported through `warn` (may be NULL) and are not errors.
 * Returns 0, or -EINVAL / -ENOENT / -ENOMEM with *ret_err filled. */
int lars_conf_load(const char *path, bool must_exist, const lars_conf_key_t *keys, size_t nkeys,
                   void *settings, void (*warn)(const char *file, int line, const char *key,
                                                void *arg),
                   void *warn_arg, lars_conf_error_t *ret_err);

/* Fills every field with its default (what load does for an absent file). */
int lars_conf_defaults(const lars_conf_key_t *keys, size_t nkeys, void *settings);

/* Frees the strings and lists lars_conf_load() stored in `settings`. */
void lars_conf_free(const lars_conf_key_t *keys, size_t nkeys, void *settings);

/* Prints the effective settings as a valid config file (for --check-config). */
void lars_conf_print(FILE *out, const lars_conf_key_t *keys, size_t nkeys, const void *settings);

/* "FILE:LINE: KEY: MSG" */
const char *lars_conf_error_format(const lars_conf_error_t *err, char *buf, size_t size);

#endif
