/* probe_test_util.h - helpers shared by the probe tests: a fake sysfs tree of PCI functions in
 * a temporary directory (real files and links, as the kernel lays them out). */
#ifndef NUMAFIT_PROBE_TEST_UTIL_H
#define NUMAFIT_PROBE_TEST_UTIL_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p */
static inline int pt_mkdirs(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    return mkdir(buf, 0755) == 0 || access(buf, F_OK) == 0 ? 0 : -1;
}

/* <root>/bus/pci/devices/<bdf>/ with a driver link (driver NULL: unbound), an iommu_group link
 * when iommu_group >= 0, and numa_node. */
static inline int pt_fake_vf(const char *root, const char *bdf, const char *driver, int iommu_group,
                             int numa_node)
{
    char dir[4096], p[4200], t[256];
    snprintf(dir, sizeof(dir), "%s/bus/pci/devices/%s", root, bdf);
    if (pt_mkdirs(dir))
        return -1;
    if (driver) {
        snprintf(p, sizeof(p), "%s/driver", dir);
        snprintf(t, sizeof(t), "../../../bus/pci/drivers/%s", driver);
        if (symlink(t, p))
            return -1;
    }
    if (iommu_group >= 0) {
        snprintf(p, sizeof(p), "%s/iommu_group", dir);
        snprintf(t, sizeof(t), "../../../kernel/iommu_groups/%d", iommu_group);
        if (symlink(t, p))
            return -1;
    }
    snprintf(p, sizeof(p), "%s/numa_node", dir);
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", numa_node);
    return fclose(f);
}

static inline char *pt_tmpdir(void)
{
    char tmpl[] = "/tmp/nf-probe-test-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline void pt_rmrf(const char *dir)
{
    char cmd[4200];
    if (!dir || strncmp(dir, "/tmp/nf-probe-test-", 19) != 0)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

#endif
