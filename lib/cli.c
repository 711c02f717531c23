/* cli.c - flags from the environment (see numafit/cli.h). */
#include "numafit/cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "numafit/log.h"

#ifndef NUMAFIT_VERSION
#define NUMAFIT_VERSION "unknown"
#endif

const char *nf_cli_env_name(const char *flag, char *buf, size_t len)
{
    size_t n = (size_t)snprintf(buf, len, "NUMAFIT_");
    for (const char *p = flag; *p && n + 1 < len; p++)
        buf[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    buf[n < len ? n : len - 1] = '\0';
    return buf;
}

static bool listed(const char *name, const char *const *list)
{
    for (; list && *list; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

static int push(char ***v, int *n, const char *fmt, const char *a, const char *b)
{
    char **nv = realloc(*v, (size_t)(*n + 2) * sizeof(**v));
    if (!nv)
        return -ENOMEM;
    *v = nv;
    if (asprintf(&nv[*n], fmt, a, b) < 0)
        return -ENOMEM;
    nv[++*n] = NULL;
    return 0;
}

int nf_cli_env_argv(const struct option *longopts, const char *const *repeatable, int argc,
                    char **argv, int *out_argc, char ***out_argv)
{
    char **v = NULL;
    int n = 0, rc = push(&v, &n, "%s%s", argv[0], "");
    for (const struct option *o = longopts; !rc && o->name; o++) {
        char env[128];
        const char *val = getenv(nf_cli_env_name(o->name, env, sizeof(env)));
        if (!val || !*val)
            continue;
        if (o->has_arg == no_argument) {
            if (strcmp(val, "1") == 0 || strcasecmp(val, "true") == 0)
                rc = push(&v, &n, "--%s%s", o->name, "");
        } else if (listed(o->name, repeatable)) {
            char *copy = strdup(val), *save = NULL;
            if (!copy)
                rc = -ENOMEM;
            for (char *tok = copy ? strtok_r(copy, " \t\n", &save) : NULL; tok && !rc;
                 tok = strtok_r(NULL, " \t\n", &save))
                rc = push(&v, &n, "--%s=%s", o->name, tok);
            free(copy);
        } else {
            rc = push(&v, &n, "--%s=%s", o->name, val);
        }
    }
    for (int i = 1; !rc && i < argc; i++)
        rc = push(&v, &n, "%s%s", argv[i], "");
    if (rc) {
        nf_cli_free_argv(n, v);
        return rc;
    }
    *out_argc = n;
    *out_argv = v;
    return 0;
}

void nf_cli_free_argv(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        free(argv[i]);
    free(argv);
}

int nf_cli_usage_error(const nf_cli_prog *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (prog->see_help)
        fprintf(stderr, "(see %s --help)\n", prog->name);
    return NF_CLI_USAGE;
}

int nf_cli_common_option(const nf_cli_prog *prog, int c, const char *arg)
{
    nf_log_level level;
    switch (c) {
    case NF_CLI_OPT_LOG_LEVEL:
        if (nf_log_level_parse(arg, &level))
            return prog->see_help
                       ? nf_cli_usage_error(prog,
                                            "--log-level takes debug|info|warn|error, "
                                            "not \"%s\"",
                                            arg)
                       : nf_cli_usage_error(prog, "--log-level takes debug|info|warn|error");
        nf_log_set_level(level);
        return 0;
    case NF_CLI_OPT_HELP:
        fputs(prog->usage, stdout);
        return NF_CLI_EXIT;
    case NF_CLI_OPT_VERSION:
        printf("%s %s\n", prog->name, NUMAFIT_VERSION);
        return NF_CLI_EXIT;
    default:
        fputs(prog->usage, stderr);
        return NF_CLI_USAGE;
    }
}

long nf_cli_raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return -1;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
            return -1;
    }
    return rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
}
