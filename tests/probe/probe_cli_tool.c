/* probe_cli_tool.c - a stand-in for `numafit-exporter probe` in tests and by hand:
 * `nf_probe_cli_tool probe --vdev net_null0 ...` runs nf_probe_cli_main(argc - 1, argv + 1). */
#include <stdio.h>
#include <string.h>

#include "probe_cli.h"

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "probe") != 0) {
        fprintf(stderr, "usage: %s probe [options]\n", argv[0]);
        return 2;
    }
    return nf_probe_cli_main(argc - 1, argv + 1);
}
