/* fit_cli.c - the fit options on a command line (see fit_cli.h). */
#include "fit_cli.h"

#include <string.h>

int nf_fit_cli_option(const nf_cli_prog *prog, const char *flag, const char *arg, nf_fit_opts *o)
{
    if (strcmp(flag, "hugepages-alignment") == 0)
        return nf_hugepages_align_parse(arg, &o->hugepages)
                   ? nf_cli_usage_error(
                         prog, "--hugepages-alignment takes all or guaranteed, not \"%s\"", arg)
                   : 0;
    if (strcmp(flag, "align") == 0)
        return nf_align_parse(arg, &o->align)
                   ? nf_cli_usage_error(prog, "--align takes numa, socket or kubelet, not \"%s\"",
                                        arg)
                   : 0;
    return nf_strategy_parse(arg, &o->strategy)
               ? nf_cli_usage_error(prog,
                                    "--strategy takes most-allocated, least-allocated or "
                                    "balanced, not \"%s\"",
                                    arg)
               : 0;
}
