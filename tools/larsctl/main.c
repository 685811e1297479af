/*
 * larsctl: the operator's tool for the Lars database. Reads the `db` group
 * of /etc/lars/larsctl.conf (or -c FILE), lets --db-* options override it,
 * and runs one command: route add/del/list/import, version, status.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "daemons/common/conf.h"
#include "tools/larsctl/larsctl.h"

#define DEFAULT_CONFIG "/etc/lars/larsctl.conf"

typedef struct larsctl_settings {
    lars_db_settings_t db;
} larsctl_settings_t;

static const lars_conf_key_t conf_keys[] = {
    LARS_DB_CONF_KEYS(larsctl_settings_t, db),
};

typedef struct command {
    const char *name;
    const char *sub; /* NULL: no subcommand */
    int (*run)(larsctl_t *ctl, int argc, char **argv);
} command_t;

static const command_t commands[] = {
    {"route", "add", larsctl_route_add},   {"route", "del", larsctl_route_del},
    {"route", "list", larsctl_route_list}, {"route", "import", larsctl_route_import},
    {"version", NULL, larsctl_version},    {"status", NULL, larsctl_status},
};

static void help(FILE *out)
{
    fputs("Usage: larsctl [OPTIONS] COMMAND [ARGS]\n"
          "\n"
          "Changes and shows the routes Lars serves, in its MariaDB database.\n"
          "\n"
          "Commands:\n"
          "  route add MODID CMDID IP PORT     add a node to the route of (MODID, CMDID)\n"
          "  route del MODID CMDID IP PORT     remove a node from a route\n"
          "  route list [MODID [CMDID]]        list routes (all, one modid, one pair)\n"
          "  route import FILE                 add the routes in FILE ('-': stdin), one per\n"
          "                                    line 'MODID CMDID IP PORT', '#' comments;\n"
          "                                    all or nothing: a bad line changes nothing\n"
          "  version                           print the current route version\n"
          "  status [MODID [CMDID]]            call statistics reported by the agents\n"
          "\n"
          "Every change is one transaction that also records the changed pairs and\n"
          "raises the route version (max(unix time, old + 1)); lars-dns then pushes\n"
          "the new routes to the agents. MODID and CMDID are 0..2147483647, PORT is\n"
          "1..65535, IP is a dotted IPv4 address or a host name (resolved to IPv4).\n"
          "\n"
          "Options:\n"
          "  -c, --config FILE        config file (default " DEFAULT_CONFIG ", optional);\n"
          "                           only its db = { ... } group is used\n"
          "      --db-host HOST       MariaDB host (default 127.0.0.1)\n"
          "      --db-port PORT       MariaDB port (default 3306)\n"
          "      --db-socket PATH     connect through this Unix socket instead\n"
          "      --db-user USER       user (default lars)\n"
          "      --db-password-file FILE  file holding the password\n"
          "      --db-name NAME       database (default lars)\n"
          "  -h, --help               show this help\n"
          "Options override the config file. The password comes from the password\n"
          "file, else the credential db-password in $CREDENTIALS_DIRECTORY, else\n"
          "db.password in the config file.\n"
          "\n"
          "Exit status:\n"
          "   0  success\n"
          "   1  nothing changed: the route to delete does not exist, the route to\n"
          "      add (or every route of an import) already exists\n"
          "   2  usage error (unknown command, bad MODID, CMDID, IP or PORT)\n"
          "  65  the import file has a bad line (file and line are named)\n"
          "  66  the import file cannot be read\n"
          "  69  MariaDB unavailable: cannot connect or log in, or connection lost\n"
          "  70  MariaDB refused a statement (schema missing? privileges?)\n"
          "  78  bad config file or password file\n",
          out);
}

static void conf_warn(const char *file, int line, const char *key, void *arg)
{
    (void)arg;
    larsctl_err("%s:%d: unknown key '%s' ignored", file, line, key);
}

static int set_string(char **field, const char *value)
{
    char *copy = strdup(value);

    if (!copy)
        return -ENOMEM;
    free(*field);
    *field = copy;
    return 0;
}

enum {
    OPT_DB_HOST = 0x100,
    OPT_DB_PORT,
    OPT_DB_SOCKET,
    OPT_DB_USER,
    OPT_DB_PASSWORD_FILE,
    OPT_DB_NAME,
};

typedef struct overrides {
    const char *config;
    const char *host, *socket, *user, *password_file, *name;
    int64_t port; /* 0: not given */
} overrides_t;

/* Returns -1 to continue, or an exit code. */
static int parse_options(int argc, char **argv, overrides_t *o)
{
    static const struct option options[] = {
        {"config", required_argument, NULL, 'c'},
        {"db-host", required_argument, NULL, OPT_DB_HOST},
        {"db-port", required_argument, NULL, OPT_DB_PORT},
        {"db-socket", required_argument, NULL, OPT_DB_SOCKET},
        {"db-user", required_argument, NULL, OPT_DB_USER},
        {"db-password-file", required_argument, NULL, OPT_DB_PASSWORD_FILE},
        {"db-name", required_argument, NULL, OPT_DB_NAME},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    char msg[256];
    uint32_t port;
    int c;

    /* '+': stop at the command, so its arguments are never taken for options. */
    while ((c = getopt_long(argc, argv, "+c:h", options, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->config = optarg;
            break;
        case OPT_DB_HOST:
            o->host = optarg;
            break;
        case OPT_DB_SOCKET:
            o->socket = optarg;
            break;
        case OPT_DB_USER:
            o->user = optarg;
            break;
        case OPT_DB_PASSWORD_FILE:
            o->password_file = optarg;
            break;
        case OPT_DB_NAME:
            o->name = optarg;
            break;
        case OPT_DB_PORT:
            if (larsctl_parse_port(optarg, &port, msg, sizeof(msg)) < 0) {
                larsctl_err("--db-port: %s", msg);
                return LARSCTL_EX_USAGE;
            }
            o->port = port;
            break;
        case 'h':
            help(stdout);
            return LARSCTL_EX_OK;
        default:
            fputs("Try 'larsctl --help'.\n", stderr);
            return LARSCTL_EX_USAGE;
        }
    }
    return -1;
}

static int load_settings(const overrides_t *o, larsctl_settings_t *s)
{
    const char *path = o->config ? o->config : DEFAULT_CONFIG;
    lars_conf_error_t cerr;
    const char *secret;
    unsigned mode;
    char buf[1024];
    int r;

    r = lars_conf_load(path, o->config != NULL, conf_keys, LARS_CONF_NKEYS(conf_keys), s, conf_warn,
                       NULL, &cerr);
    if (r < 0) {
        larsctl_err("%s", lars_conf_error_format(&cerr, buf, sizeof(buf)));
        return LARSCTL_EX_CONFIG;
    }
    if (lars_conf_secret_exposed(path, conf_keys, LARS_CONF_NKEYS(conf_keys), s, &secret, &mode) >
        0)
        larsctl_err("warning: %s (mode %04o) is readable by others and holds a password (%s); "
                    "use password_file, --db-password-file or the db-password credential",
                    path, mode, secret);
    if ((o->host && set_string(&s->db.host, o->host) < 0) ||
        (o->socket && set_string(&s->db.socket, o->socket) < 0) ||
        (o->user && set_string(&s->db.user, o->user) < 0) ||
        (o->password_file && set_string(&s->db.password_file, o->password_file) < 0) ||
        (o->name && set_string(&s->db.name, o->name) < 0)) {
        larsctl_err("out of memory");
        return LARSCTL_EX_SOFTWARE;
    }
    if (o->port)
        s->db.port = o->port;
    return LARSCTL_EX_OK;
}

int larsctl_connect(larsctl_t *ctl)
{
    lars_db_error_t err = {0};
    int r;

    if (ctl->conn)
        return LARSCTL_EX_OK;
    r = lars_db_connect(ctl->db, &ctl->conn, &err);
    if (r == 0)
        return LARSCTL_EX_OK;
    larsctl_err("%s", err.msg);
    /* Errors that do not come from MariaDB are about the password file. */
    return err.code == 0 && r != -ENOMEM ? LARSCTL_EX_CONFIG : LARSCTL_EX_UNAVAILABLE;
}

static const command_t *find_command(int argc, char **argv, int *ret_used)
{
    bool known_name = false;

    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        const command_t *cmd = &commands[i];

        if (strcmp(argv[0], cmd->name) != 0)
            continue;
        known_name = true;
        if (!cmd->sub) {
            *ret_used = 1;
            return cmd;
        }
        if (argc >= 2 && strcmp(argv[1], cmd->sub) == 0) {
            *ret_used = 2;
            return cmd;
        }
    }
    if (known_name)
        larsctl_err("'%s' needs a subcommand: add, del, list or import", argv[0]);
    else
        larsctl_err("unknown command '%s'", argv[0]);
    return NULL;
}

int main(int argc, char **argv)
{
    larsctl_settings_t settings = {0};
    overrides_t o = {0};
    larsctl_t ctl = {.db = &settings.db};
    const command_t *cmd;
    int r, used = 0;

    r = parse_options(argc, argv, &o);
    if (r >= 0)
        return r;
    if (optind >= argc) {
        larsctl_err("no command given");
        fputs("Try 'larsctl --help'.\n", stderr);
        return LARSCTL_EX_USAGE;
    }
    cmd = find_command(argc - optind, argv + optind, &used);
    if (!cmd) {
        fputs("Try 'larsctl --help'.\n", stderr);
        return LARSCTL_EX_USAGE;
    }
    r = load_settings(&o, &settings);
    if (r == LARSCTL_EX_OK)
        r = cmd->run(&ctl, argc - optind - used, argv + optind + used);
    lars_db_free(ctl.conn);
    lars_conf_free(conf_keys, LARS_CONF_NKEYS(conf_keys), &settings);
    return r;
}
