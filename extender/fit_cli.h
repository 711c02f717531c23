/* fit_cli.h - the fit options on a command line (--align, --strategy, --hugepages-alignment), as
 * numafit-extender and numafit-report take them. The parsers are fit.h's; this adds the usage
 * error a person reads, so that fit.h knows nothing of the CLI.
 */
#ifndef NUMAFIT_EXTENDER_FIT_CLI_H
#define NUMAFIT_EXTENDER_FIT_CLI_H

#include "fit.h"
#include "numafit/cli.h"

/* --align ARG (flag "align"), --strategy ARG (flag "strategy") or --hugepages-alignment ARG (flag
 * "hugepages-alignment") into o: 0, or NF_CLI_USAGE after a usage error naming the bad value. */
int nf_fit_cli_option(const nf_cli_prog *prog, const char *flag, const char *arg, nf_fit_opts *o);

#endif
