/*
 * The libconfig-backed loader behind conf.h. A load has three passes over a
 * parsed file: walk the whole tree to warn about keys the table does not
 * know (and to reject a scalar where the table expects a group), then fill
 * every field from the file or its default, then free everything again if
 * any key was bad, so a failed load leaves nothing for the caller to free.
 */
#include <errno.h>
#include <inttypes.h>
#include <libconfig.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemons/common/conf.h"

const char *const lars_conf_log_levels[] = {"debug", "info", "notice", "warning", "error", NULL};

typedef void (*conf_warn_cb)(const char *file, int line, const char *key, void *arg);

static void *field_ptr(void *settings, const lars_conf_key_t *k)
{
    return (char *)settings + k->offset;
}

static int conf_fail(lars_conf_error_t *err, int r, const char *file, int line, const char *key,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int conf_fail(lars_conf_error_t *err, int r, const char *file, int line, const char *key,
                     const char *fmt, ...)
{
    va_list ap;

    if (!err)
        return r;
    snprintf(err->file, sizeof(err->file), "%s", file ? file : "");
    err->line = line;
    snprintf(err->key, sizeof(err->key), "%s", key ? key : "");
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return r;
}

const char *lars_conf_error_format(const lars_conf_error_t *err, char *buf, size_t size)
{
    char line[16] = "";

    if (err->line > 0)
        snprintf(line, sizeof(line), "%d:", err->line);
    if (err->key[0])
        snprintf(buf, size, "%s:%s %s: %s", err->file, line, err->key, err->msg);
    else
        snprintf(buf, size, "%s:%s %s", err->file, line, err->msg);
    return buf;
}

/* ------------------------------------------------------------ strv -- */

static void strv_clear(lars_strv_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = 0;
}

static int strv_push(lars_strv_t *l, const char *s, size_t len)
{
    char **v = realloc(l->v, (l->n + 1) * sizeof(*v));

    if (!v)
        return -ENOMEM;
    l->v = v;
    v[l->n] = strndup(s, len);
    if (!v[l->n])
        return -ENOMEM;
    l->n++;
    return 0;
}

static int strv_from_csv(lars_strv_t *l, const char *csv)
{
    const char *p = csv;

    l->v = NULL;
    l->n = 0;
    if (!csv || !*csv)
        return 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        int r = strv_push(l, p, len);

        if (r < 0) {
            strv_clear(l);
            return r;
        }
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

bool lars_strv_contains(const lars_strv_t *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], s) == 0)
            return true;
    return false;
}

/* -------------------------------------------------------- defaults -- */

static int key_set_default(const lars_conf_key_t *k, void *settings)
{
    void *p = field_ptr(settings, k);

    switch (k->type) {
    case LARS_CONF_INT:
        *(int64_t *)p = k->def_int;
        return 0;
    case LARS_CONF_FLOAT:
        *(double *)p = k->def_float;
        return 0;
    case LARS_CONF_BOOL:
        *(bool *)p = k->def_int != 0;
        return 0;
    case LARS_CONF_STRING:
        *(char **)p = strdup(k->def_str ? k->def_str : "");
        return *(char **)p ? 0 : -ENOMEM;
    case LARS_CONF_STRING_LIST:
        return strv_from_csv(p, k->def_str);
    }
    return -EINVAL;
}

/* Puts every owned field into a freeable state before anything can fail. */
static void conf_zero(const lars_conf_key_t *keys, size_t nkeys, void *settings)
{
    for (size_t i = 0; i < nkeys; i++) {
        void *p = field_ptr(settings, &keys[i]);

        if (keys[i].type == LARS_CONF_STRING)
            *(char **)p = NULL;
        else if (keys[i].type == LARS_CONF_STRING_LIST)
            *(lars_strv_t *)p = (lars_strv_t){0};
    }
}

int lars_conf_defaults(const lars_conf_key_t *keys, size_t nkeys, void *settings)
{
    conf_zero(keys, nkeys, settings);
    for (size_t i = 0; i < nkeys; i++) {
        int r = key_set_default(&keys[i], settings);

        if (r < 0) {
            lars_conf_free(keys, nkeys, settings);
            return r;
        }
    }
    return 0;
}

void lars_conf_free(const lars_conf_key_t *keys, size_t nkeys, void *settings)
{
    if (!settings)
        return;
    for (size_t i = 0; i < nkeys; i++) {
        void *p = field_ptr(settings, &keys[i]);

        if (keys[i].type == LARS_CONF_STRING) {
            free(*(char **)p);
            *(char **)p = NULL;
        } else if (keys[i].type == LARS_CONF_STRING_LIST) {
            strv_clear(p);
        }
    }
}

/* ------------------------------------------------------------ walk -- */

typedef struct conf_walk {
    const char *file;
    const lars_conf_key_t *keys;
    size_t nkeys;
    conf_warn_cb warn;
    void *warn_arg;
    lars_conf_error_t *err;
} conf_walk_t;

static const lars_conf_key_t *key_find(const conf_walk_t *w, const char *path)
{
    for (size_t i = 0; i < w->nkeys; i++)
        if (strcmp(w->keys[i].path, path) == 0)
            return &w->keys[i];
    return NULL;
}

/* Whether some key lives below the group `path`. */
static bool group_known(const conf_walk_t *w, const char *path)
{
    size_t len = strlen(path);

    for (size_t i = 0; i < w->nkeys; i++)
        if (strncmp(w->keys[i].path, path, len) == 0 && w->keys[i].path[len] == '.')
            return true;
    return false;
}

static int walk_group(const conf_walk_t *w, const config_setting_t *group, const char *prefix)
{
    int n = config_setting_length(group);

    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(group, i);
        const char *name = config_setting_name(s);
        int line = config_setting_source_line(s);
        char path[256];
        bool is_group = config_setting_is_group(s);
        int r;

        if (!name)
            continue;
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", name);
        if (key_find(w, path))
            continue; /* its type is checked when it is read */
        if (!group_known(w, path)) {
            if (w->warn)
                w->warn(w->file, line, path, w->warn_arg);
            continue;
        }
        if (!is_group)
            return conf_fail(w->err, -EINVAL, w->file, line, path, "expected a group { ... }");
        r = walk_group(w, s, path);
        if (r < 0)
            return r;
    }
    return 0;
}

/* ------------------------------------------------------------ read -- */

static int read_strv(const config_setting_t *s, lars_strv_t *ret)
{
    int n;

    *ret = (lars_strv_t){0};
    if (config_setting_type(s) == CONFIG_TYPE_STRING)
        return strv_push(ret, config_setting_get_string(s), strlen(config_setting_get_string(s)));
    if (!config_setting_is_list(s) && !config_setting_is_array(s))
        return -EINVAL;
    n = config_setting_length(s);
    for (int i = 0; i < n; i++) {
        const char *v = config_setting_get_string_elem(s, i);
        int r;

        if (!v || config_setting_type(config_setting_get_elem(s, i)) != CONFIG_TYPE_STRING) {
            strv_clear(ret);
            return -EINVAL;
        }
        r = strv_push(ret, v, strlen(v));
        if (r < 0) {
            strv_clear(ret);
            return r;
        }
    }
    return 0;
}

static bool choice_ok(const lars_conf_key_t *k, const char *v)
{
    if (!k->choices)
        return true;
    for (const char *const *c = k->choices; *c; c++)
        if (strcmp(*c, v) == 0)
            return true;
    return false;
}

static const char *type_name(lars_conf_type_t t)
{
    switch (t) {
    case LARS_CONF_INT:
        return "an integer";
    case LARS_CONF_FLOAT:
        return "a number";
    case LARS_CONF_BOOL:
        return "true or false";
    case LARS_CONF_STRING:
        return "a string";
    case LARS_CONF_STRING_LIST:
        return "a list of strings [\"...\", ...]";
    }
    return "?";
}

static int read_key(const conf_walk_t *w, const lars_conf_key_t *k, const config_setting_t *s,
                    void *settings)
{
    void *p = field_ptr(settings, k);
    int type = config_setting_type(s);
    int line = config_setting_source_line(s);

    switch (k->type) {
    case LARS_CONF_INT: {
        int64_t v;

        if (type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
            break;
        v = config_setting_get_int64(s);
        if ((k->min || k->max) && (v < k->min || v > k->max))
            return conf_fail(w->err, -EINVAL, w->file, line, k->path,
                             "%" PRId64 " is out of range [%" PRId64 ", %" PRId64 "]", v, k->min,
                             k->max);
        *(int64_t *)p = v;
        return 0;
    }
    case LARS_CONF_FLOAT: {
        double v;

        if (type != CONFIG_TYPE_FLOAT && type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64)
            break;
        v = type == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                                      : (double)config_setting_get_int64(s);
        if ((k->fmin != 0 || k->fmax != 0) && (v < k->fmin || v > k->fmax))
            return conf_fail(w->err, -EINVAL, w->file, line, k->path, "%g is out of range [%g, %g]",
                             v, k->fmin, k->fmax);
        *(double *)p = v;
        return 0;
    }
    case LARS_CONF_BOOL:
        if (type != CONFIG_TYPE_BOOL)
            break;
        *(bool *)p = config_setting_get_bool(s);
        return 0;
    case LARS_CONF_STRING: {
        const char *v;
        char *dup;

        if (type != CONFIG_TYPE_STRING)
            break;
        v = config_setting_get_string(s);
        if (!choice_ok(k, v))
            return conf_fail(w->err, -EINVAL, w->file, line, k->path,
                             "\"%s\" is not one of the allowed values", v);
        dup = strdup(v);
        if (!dup)
            return conf_fail(w->err, -ENOMEM, w->file, line, k->path, "out of memory");
        free(*(char **)p);
        *(char **)p = dup;
        return 0;
    }
    case LARS_CONF_STRING_LIST: {
        lars_strv_t l;
        int r = read_strv(s, &l);

        if (r == -EINVAL)
            break;
        if (r < 0)
            return conf_fail(w->err, r, w->file, line, k->path, "out of memory");
        strv_clear(p);
        *(lars_strv_t *)p = l;
        return 0;
    }
    }
    return conf_fail(w->err, -EINVAL, w->file, line, k->path, "expected %s", type_name(k->type));
}

static int conf_apply(const conf_walk_t *w, const config_t *cfg, void *settings)
{
    int r = walk_group(w, config_root_setting(cfg), "");

    for (size_t i = 0; r >= 0 && i < w->nkeys; i++) {
        const config_setting_t *s = config_lookup(cfg, w->keys[i].path);

        if (s)
            r = read_key(w, &w->keys[i], s, settings);
    }
    return r;
}

static int conf_parse(config_t *cfg, const char *path, FILE *f, lars_conf_error_t *err)
{
    char dir[PATH_MAX];

    snprintf(dir, sizeof(dir), "%s", path);
    config_set_include_dir(cfg, dirname(dir));
    if (config_read(cfg, f) == CONFIG_TRUE)
        return 0;
    return conf_fail(err, -EINVAL, config_error_file(cfg) ? config_error_file(cfg) : path,
                     config_error_line(cfg), NULL, "%s",
                     config_error_text(cfg) ? config_error_text(cfg) : "parse error");
}

int lars_conf_load(const char *path, bool must_exist, const lars_conf_key_t *keys, size_t nkeys,
                   void *settings, conf_warn_cb warn, void *warn_arg, lars_conf_error_t *ret_err)
{
    conf_walk_t w = {.file = path,
                     .keys = keys,
                     .nkeys = nkeys,
                     .warn = warn,
                     .warn_arg = warn_arg,
                     .err = ret_err};
    config_t cfg;
    FILE *f;
    int r;

    r = lars_conf_defaults(keys, nkeys, settings);
    if (r < 0)
        return conf_fail(ret_err, r, path, 0, NULL, "out of memory");

    f = fopen(path, "re");
    if (!f) {
        r = -errno;
        if (r == -ENOENT && !must_exist)
            return 0;
        lars_conf_free(keys, nkeys, settings);
        return conf_fail(ret_err, r, path, 0, NULL, "%s", strerror(-r));
    }

    config_init(&cfg);
    r = conf_parse(&cfg, path, f, ret_err);
    fclose(f);
    if (r >= 0)
        r = conf_apply(&w, &cfg, settings);
    config_destroy(&cfg);
    if (r < 0)
        lars_conf_free(keys, nkeys, settings);
    return r;
}

/* ----------------------------------------------------------- print -- */

static void print_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c == '\n')
            fputs("\\n", out);
        else if (c == '\t')
            fputs("\\t", out);
        else if (c == '\r')
            fputs("\\r", out);
        else if (c < 0x20 || c == 0x7f)
            fprintf(out, "\\x%02x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* Shortest form that reads back to the same double, always as a float. */
static void print_float(FILE *out, double v)
{
    char buf[64];

    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, out);
    if (!strpbrk(buf, ".eEn"))
        fputs(".0", out);
}

static void print_value(FILE *out, const lars_conf_key_t *k, const void *settings)
{
    const void *p = (const char *)settings + k->offset;

    switch (k->type) {
    case LARS_CONF_INT: {
        int64_t v = *(const int64_t *)p;

        fprintf(out, "%" PRId64 "%s", v, v < INT32_MIN || v > INT32_MAX ? "L" : "");
        break;
    }
    case LARS_CONF_FLOAT:
        print_float(out, *(const double *)p);
        break;
    case LARS_CONF_BOOL:
        fputs(*(const bool *)p ? "true" : "false", out);
        break;
    case LARS_CONF_STRING: {
        const char *v = *(char *const *)p ? *(char *const *)p : "";

        print_string(out, k->secret && v[0] ? LARS_CONF_REDACTED : v);
        break;
    }
    case LARS_CONF_STRING_LIST: {
        const lars_strv_t *l = p;

        fputc('[', out);
        for (size_t i = 0; i < l->n; i++) {
            fputs(i ? ", " : " ", out);
            print_string(out, l->v[i]);
        }
        fputs(l->n ? " ]" : "]", out);
        break;
    }
    }
}

/* Prints the keys below `prefix` (which ends with '.' unless empty), each
 * group once, where its first key appears in the table. */
static void print_level(FILE *out, const lars_conf_key_t *keys, size_t nkeys, const void *settings,
                        const char *prefix, int depth)
{
    size_t plen = strlen(prefix);

    for (size_t i = 0; i < nkeys; i++) {
        const char *rest = keys[i].path + plen;
        const char *dot;
        bool seen = false;

        if (strncmp(keys[i].path, prefix, plen) != 0)
            continue;
        dot = strchr(rest, '.');
        if (!dot) {
            if (keys[i].help)
                fprintf(out, "%*s# %s\n", depth * 2, "", keys[i].help);
            fprintf(out, "%*s%s = ", depth * 2, "", rest);
            print_value(out, &keys[i], settings);
            fputs(";\n", out);
            continue;
        }
        for (size_t j = 0; j < i && !seen; j++)
            seen = strncmp(keys[j].path, keys[i].path, (size_t)(dot - keys[i].path) + 1) == 0;
        if (seen)
            continue;

        char sub[256];

        snprintf(sub, sizeof(sub), "%.*s", (int)(dot - keys[i].path) + 1, keys[i].path);
        fprintf(out, "%*s%.*s = {\n", depth * 2, "", (int)(dot - rest), rest);
        print_level(out, keys, nkeys, settings, sub, depth + 1);
        fprintf(out, "%*s};\n", depth * 2, "");
    }
}

void lars_conf_print(FILE *out, const lars_conf_key_t *keys, size_t nkeys, const void *settings)
{
    print_level(out, keys, nkeys, settings, "", 0);
}

/* ---------------------------------------------------------- secrets -- */

int lars_conf_secret_exposed(const char *path, const lars_conf_key_t *keys, size_t nkeys,
                             const void *settings, const char **ret_key, unsigned *ret_mode)
{
    const lars_conf_key_t *secret = NULL;
    struct stat st;

    for (size_t i = 0; i < nkeys && !secret; i++) {
        const char *v = *(char *const *)((const char *)settings + keys[i].offset);

        if (keys[i].type == LARS_CONF_STRING && keys[i].secret && v && v[0])
            secret = &keys[i];
    }
    if (!secret)
        return 0;
    if (stat(path, &st) < 0)
        return -errno;
    if (!(st.st_mode & (S_IRGRP | S_IROTH)))
        return 0;
    *ret_key = secret->path;
    *ret_mode = (unsigned)(st.st_mode & 07777);
    return 1;
}
