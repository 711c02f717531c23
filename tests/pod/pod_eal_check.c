/* pod_eal_check.c - a real DPDK EAL started with the arguments it is given (numafit-pod's, with a
 * net_null vdev in place of the VF), for tests/pod/test_pod_eal.py.
 *
 * Prints key=value lines: eal=ok|failed, error, mainLcore, mainSocket (the NUMA node DPDK sees
 * for the main lcore), lcores, hugepages (0/1), ports and port names, and mallocSocketN=ok|failed
 * for a 1 MiB rte_malloc on the main lcore's socket (what --socket-mem must have put there).
 * Exit 0 when EAL initialised, 1 when not.
 */
#include <stdio.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_malloc.h>

int main(int argc, char **argv)
{
    if (rte_eal_init(argc, argv) < 0) {
        printf("eal=failed\nerror=%s\n", rte_strerror(rte_errno));
        return 1;
    }
    unsigned main_lcore = rte_get_main_lcore();
    unsigned socket = rte_lcore_to_socket_id(main_lcore);
    printf("eal=ok\nmainLcore=%u\nmainSocket=%u\nlcores=%u\nhugepages=%d\nports=%u\n", main_lcore,
           socket, rte_lcore_count(), rte_eal_has_hugepages(), rte_eth_dev_count_avail());
    uint16_t port;
    RTE_ETH_FOREACH_DEV(port)
    {
        char name[RTE_ETH_NAME_MAX_LEN];
        if (rte_eth_dev_get_name_by_port(port, name) == 0)
            printf("port=%s\n", name);
    }
    void *p = rte_malloc_socket("numafit-pod-check", 1 << 20, 0, (int)socket);
    printf("mallocSocket%u=%s\n", socket, p ? "ok" : "failed");
    rte_free(p);
    rte_eal_cleanup();
    return 0;
}
