/* cli.h - what every numafit program's command line shares: flags settable from the environment.
 *
 * Every long option --some-flag can also be given as NUMAFIT_SOME_FLAG. The environment goes
 * first and the command line after it, so an explicit flag wins. A flag without an argument is
 * set by "1"/"true"; a repeatable flag (listed in `repeatable`) takes a whitespace-separated list.
 */
#ifndef NUMAFIT_CLI_H
#define NUMAFIT_CLI_H

#include <getopt.h>
#include <stddef.h>

/* Build argv = argv[0] + options from the environment + argv[1..]. Free with nf_cli_free_argv. */
int nf_cli_env_argv(const struct option *longopts, const char *const *repeatable, int argc,
                    char **argv, int *out_argc, char ***out_argv);
void nf_cli_free_argv(int argc, char **argv);

/* "NUMAFIT_SOME_FLAG" for "some-flag" into buf. */
const char *nf_cli_env_name(const char *flag, char *buf, size_t len);

#endif
