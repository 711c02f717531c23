/* probe_cli.h - `numafit-exporter probe`: run one DPDK probe now and print the result.
 *
 *   numafit-exporter probe [--pci BDF]... [--vdev NAME[,ARGS]]... [--timeout DUR] [--no-huge]
 *                          [--lcore N] [--socket N] [--mem MB] [--sysfs-root DIR]
 *
 * prints {"results":[{"device","status","pmd","mac","link","maxRxQueues","checkedAt"}...],
 *         "eal":{"hugepages":bool,"runs":[{"hugepages","args":[EAL argv...],"wallMs","error"}]}}
 * ("eal.hugepages" is true when every EAL run used hugepages)
 * and exits 0 when every device is "ok", 1 when any is not (failed or skipped), 2 on bad usage.
 * It uses the same code as the daemon (nf_probe_targets): PCI devices are pre-checked in sysfs
 * and grouped by their NUMA node (bus/pci/devices/BDF/numa_node); vdevs use --socket (default
 * 0). Memory is hugepages when the node has at least the run's memory free in hugepages, else
 * --no-huge. The lcore is --lcore, else the first CPU of the node that this process may run on.
 * Its command line is every numafit command's (numafit/cli.h): each flag also as NUMAFIT_<FLAG>
 * (NUMAFIT_PCI, NUMAFIT_VDEV: whitespace-separated lists), --log-level, --help, --version.
 */
#ifndef NUMAFIT_PROBE_CLI_H
#define NUMAFIT_PROBE_CLI_H

#include <jansson.h>

#include "dpdk_probe.h"

/* The JSON document above for a finished batch (new reference; NULL when memory runs out). */
json_t *nf_probe_batch_to_json(const nf_probe_batch *b);

/* argv[0] is "probe" (the lead's main() shifts argv). Writes the JSON to stdout, problems to
 * stderr. */
int nf_probe_cli_main(int argc, char **argv);

#endif
