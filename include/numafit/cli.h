/* cli.h - what every numafit program's command line shares: flags settable from the environment.
 *
 * Every long option --some-flag can also be given as NUMAFIT_SOME_FLAG. The environment goes
 * first and the command line after it, so an explicit flag wins. A flag without an argument is
 * set by "1"/"true"; a repeatable flag (listed in `repeatable`) takes a whitespace-separated list.
 */
#ifndef NUMAFIT_CLI_H
#define NUMAFIT_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

/* Build argv = argv[0] + options from the environment + argv[1..]. Free with nf_cli_free_argv. */
int nf_cli_env_argv(const struct option *longopts, const char *const *repeatable, int argc,
                    char **argv, int *out_argc, char ***out_argv);
void nf_cli_free_argv(int argc, char **argv);

/* "NUMAFIT_SOME_FLAG" for "some-flag" into buf. */
const char *nf_cli_env_name(const char *flag, char *buf, size_t len);

/* ---- the options every program has: --log-level, --help, --version ---- */

/* getopt_long values of the common options; give them these in longopts. */
#define NF_CLI_OPT_LOG_LEVEL 'L'
#define NF_CLI_OPT_HELP 'h'
#define NF_CLI_OPT_VERSION 'V'

#define NF_CLI_EXIT (-1) /* --help / --version printed: stop with exit code 0 */
#define NF_CLI_USAGE 2   /* bad usage: stop with exit code 2 */

typedef struct nf_cli_prog {
    const char *name;  /* "numafit-extender": prefix of messages, --version */
    const char *usage; /* the --help text */
    bool see_help;     /* usage errors end with "(see NAME --help)" and quote a bad value */
} nf_cli_prog;

/* What the default branch of a program's option switch does with getopt_long's value c:
 * --log-level ARG sets the log level (0); --help prints usage to stdout and --version
 * "NAME VERSION" (NF_CLI_EXIT); a bad level (message on stderr) or any other c, i.e. an unknown
 * option or a missing argument (usage on stderr), is NF_CLI_USAGE. */
int nf_cli_common_option(const nf_cli_prog *prog, int c, const char *arg);

/* "NAME: <message>\n" on stderr, plus "(see NAME --help)\n" when prog->see_help; NF_CLI_USAGE. */
int nf_cli_usage_error(const nf_cli_prog *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Raise the soft RLIMIT_NOFILE to the hard limit (servers hold a socket per client, the extender
 * one per exporter): the 1,024 default is what a thousand idle clients exhaust. Returns the
 * soft limit now in effect. */
long nf_cli_raise_nofile(void);

#endif
