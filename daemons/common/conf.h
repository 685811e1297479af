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
    LARS_CONF_INT,         /* field: int64_t, checked against [min, max]; libconfig 1.5
                            * needs an L suffix on values beyond int32 */
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
    const char *def_str;        /* STRING default; STRING_LIST: comma-separated */
    int64_t min, max;           /* INT range (both 0: no check) */
    double fmin, fmax;          /* FLOAT range (both 0: no check) */
    const char *help;           /* one line, shown by --check-config */
    const char *const *choices; /* STRING: NULL-terminated allowed values, or NULL */
    bool secret;                /* STRING: never printed (a password) */
} lars_conf_key_t;

/* Key table entries. The field's type is checked at compile time:
 *   static const lars_conf_key_t keys[] = {
 *       LARS_CONF_INT_KEY("threads", settings_t, threads, 4, 1, 256, "worker loops"),
 *       LARS_CONF_STRV_KEY("dns.servers", settings_t, dns_servers, "127.0.0.1:7778", "..."),
 *   };
 */
#define LARS_CONF_FIELD_(T_, field, ftype)                                                         \
    (offsetof(T_, field) +                                                                         \
     0 * sizeof(char[__builtin_types_compatible_p(__typeof__(((T_ *)0)->field), ftype) ? 1 : -1]))

#define LARS_CONF_INT_KEY(path_, T_, field, def, min_, max_, help_)                                \
    {                                                                                              \
        .path = (path_), .type = LARS_CONF_INT, .offset = LARS_CONF_FIELD_(T_, field, int64_t),    \
        .def_int = (def), .min = (min_), .max = (max_), .help = (help_)                            \
    }
#define LARS_CONF_FLOAT_KEY(path_, T_, field, def, min_, max_, help_)                              \
    {                                                                                              \
        .path = (path_), .type = LARS_CONF_FLOAT, .offset = LARS_CONF_FIELD_(T_, field, double),   \
        .def_float = (def), .fmin = (min_), .fmax = (max_), .help = (help_)                        \
    }
#define LARS_CONF_BOOL_KEY(path_, T_, field, def, help_)                                           \
    {                                                                                              \
        .path = (path_), .type = LARS_CONF_BOOL, .offset = LARS_CONF_FIELD_(T_, field, bool),      \
        .def_int = (def), .help = (help_)                                                          \
    }
#define LARS_CONF_STRING_KEY(path_, T_, field, def, help_)                                         \
    {                                                                                              \
        .path = (path_), .type = LARS_CONF_STRING, .offset = LARS_CONF_FIELD_(T_, field, char *),  \
        .def_str = (def), .help = (help_)                                                          \
    }
/* A password: lars_conf_print() shows "(redacted)" instead of a non-empty value. */
#define LARS_CONF_SECRET_KEY(path_, T_, field, def, help_)                                         \
    {                                                                                              \
        .path = (path_), .type = LARS_CONF_STRING, .offset = LARS_CONF_FIELD_(T_, field, char *),  \
        .def_str = (def), .help = (help_), .secret = true                                          \
    }
/* choices_: a NULL-terminated array, e.g. (const char *const[]){"a", "b", NULL} */
#define LARS_CONF_CHOICE_KEY(path_, T_, field, def, choices_, help_)                               \
    {                                                                                              \
        .path = (path_), .type = LARS_CONF_STRING, .offset = LARS_CONF_FIELD_(T_, field, char *),  \
        .def_str = (def), .help = (help_), .choices = (choices_)                                   \
    }
/* def: comma-separated ("" or NULL: empty list) */
#define LARS_CONF_STRV_KEY(path_, T_, field, def, help_)                                           \
    {                                                                                              \
        .path = (path_), .type = LARS_CONF_STRING_LIST,                                            \
        .offset = LARS_CONF_FIELD_(T_, field, lars_strv_t), .def_str = (def), .help = (help_)      \
    }

#define LARS_CONF_NKEYS(keys) (sizeof(keys) / sizeof((keys)[0]))

/* The levels lars_log understands, for a "log_level" choice key. */
extern const char *const lars_conf_log_levels[];
#define LARS_CONF_LOG_LEVEL_KEY(T_, field)                                                         \
    LARS_CONF_CHOICE_KEY("log_level", T_, field, "info", lars_conf_log_levels,                     \
                         "debug, info, notice, warning or error")

typedef struct lars_conf_error {
    char file[512];
    int line;      /* 0 when unknown (e.g. a missing file) */
    char key[128]; /* "" when the error is not about one key */
    char msg[256];
} lars_conf_error_t;

/* Loads `path` into `settings`. A missing file is an error only when
 * must_exist (an explicit -c); otherwise every key takes its default.
 * Unknown keys are reported through `warn` (may be NULL) and are not errors.
 * Every field is overwritten, not freed first: on a reload, load into a fresh
 * struct and lars_conf_free() the old one.
 * Returns 0, or -EINVAL / -ENOENT / -ENOMEM with *ret_err filled. */
int lars_conf_load(const char *path, bool must_exist, const lars_conf_key_t *keys, size_t nkeys,
                   void *settings,
                   void (*warn)(const char *file, int line, const char *key, void *arg),
                   void *warn_arg, lars_conf_error_t *ret_err);

/* Fills every field with its default (what load does for an absent file). */
int lars_conf_defaults(const lars_conf_key_t *keys, size_t nkeys, void *settings);

/* Whether the list holds `s`. */
bool lars_strv_contains(const lars_strv_t *l, const char *s);

/* Frees the strings and lists lars_conf_load() stored in `settings` (and
 * resets those fields to NULL / empty, so calling it twice is harmless).
 * After a failed load nothing needs freeing, but calling it is safe. */
void lars_conf_free(const lars_conf_key_t *keys, size_t nkeys, void *settings);

/* Prints the effective settings as a valid config file (for --check-config).
 * A secret key that is set prints as LARS_CONF_REDACTED: the output may go to
 * a terminal, a ticket or a log. */
#define LARS_CONF_REDACTED "(redacted)"
void lars_conf_print(FILE *out, const lars_conf_key_t *keys, size_t nkeys, const void *settings);

/* Whether the file `path` that `settings` were loaded from holds a secret
 * others can read: some secret key is non-empty and the file is readable by
 * group or others. Returns 1 (with *ret_key the first such key and *ret_mode
 * the file's permission bits), 0, or the -errno of stat(). */
int lars_conf_secret_exposed(const char *path, const lars_conf_key_t *keys, size_t nkeys,
                             const void *settings, const char **ret_key, unsigned *ret_mode);

/* "FILE:LINE: KEY: MSG" */
const char *lars_conf_error_format(const lars_conf_error_t *err, char *buf, size_t size);

#endif
