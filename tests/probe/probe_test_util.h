/* probe_test_util.h - a fake sysfs tree of PCI functions for the probe tests, in a directory from
 * nft_tmpdir() (real files and links, as the kernel lays them out). */
#ifndef NUMAFIT_PROBE_TEST_UTIL_H
#define NUMAFIT_PROBE_TEST_UTIL_H

#include <unistd.h>

#include "testutil.h"

/* <root>/bus/pci/devices/<bdf>/ with a driver link (driver NULL: unbound), an iommu_group link
 * when iommu_group >= 0, and numa_node. */
static inline int pt_fake_vf(const char *root, const char *bdf, const char *driver, int iommu_group,
                             int numa_node)
{
    char dir[4096], t[256];
    snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", root, bdf);
    if (nft_mkdirs(dir))
        return -1;
    if (driver) {
        snprintf(t, sizeof(t), "../../../bus/pci/drivers/%s", driver);
        if (symlink(t, nft_path(dir, "driver")))
            return -1;
    }
    if (iommu_group >= 0) {
        snprintf(t, sizeof(t), "../../../kernel/iommu_groups/%d", iommu_group);
        if (symlink(t, nft_path(dir, "iommu_group")))
            return -1;
    }
    snprintf(t, sizeof(t), "%d\n", numa_node);
    nft_write(nft_path(dir, "numa_node"), t);
    return 0;
}

#endif
