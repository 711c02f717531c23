/* test_sysfs_sriov_paths.c - nf_sriov_scan reads a VF the same whichever way it reaches it: through
 * the PF's parent for the kernel's "../<VF>" links, through the link itself for any other form,
 * and words every problem of a VF as the careful reader does (junk IOMMU group, missing vendor,
 * link to a file). A PF whose VF sorts before it is still found. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include <cmocka.h>

#include "sriov_config.h"
#include "sysfs_machine.h"
#include "sysfs_sriov.h"
#include "sysfs_test_util.h"

/* single preset: PF 0000:3b:00.0 (numa 0) with VFs 0000:3b:01.0-3 (vfio-pci, 8086:1889, iommu
 * groups 50-53), changed so that each VF takes another path. */
static void damage(const fx *f)
{
    const char *pf = "devices/pci0000:3b/0000:3b:00.0";
    assert_int_equal(
        nft_sh(
            "cd '%s' && "
            /* virtfn1: an absolute link */
            "ln -sfn \"$PWD/devices/pci0000:3b/0000:3b:01.1\" %s/virtfn1 && "
            /* virtfn2: its IOMMU group link names no number */
            "ln -sfn ../../../kernel/iommu_groups/abc devices/pci0000:3b/0000:3b:01.2/iommu_group"
            " && "
            /* virtfn3: no vendor file */
            "rm devices/pci0000:3b/0000:3b:01.3/vendor && "
            /* virtfn4: a link to a plain file */
            "echo x > devices/pci0000:3b/notadir && ln -s ../notadir %s/virtfn4 && "
            /* PF 0000:50:00.0, whose one VF 0000:3b:02.0 sorts before it */
            "d=devices/pci0000:50/0000:50:00.0 v=devices/pci0000:3b/0000:3b:02.0 && "
            "mkdir -p $d $v && echo 0x8086 > $d/vendor && echo 0x1592 > $d/device && "
            "echo 0 > $d/numa_node && echo 8 > $d/sriov_totalvfs && echo 1 > $d/sriov_numvfs && "
            "ln -s ../../pci0000:3b/0000:3b:02.0 $d/virtfn0 && "
            "echo 0x8086 > $v/vendor && echo 0x1889 > $v/device && echo 0x020000 > $v/class && "
            "ln -s ../../../bus/pci/drivers/vfio-pci $v/driver && "
            "ln -s ../../../kernel/iommu_groups/60 $v/iommu_group && "
            "ln -s ../../../devices/pci0000:50/0000:50:00.0 bus/pci/devices/0000:50:00.0 && "
            "ln -s ../../../devices/pci0000:3b/0000:3b:02.0 bus/pci/devices/0000:3b:02.0",
            f->sys, pf, pf),
        0);
}

static void assert_vf(const nf_vf *vf, const char *pci, const char *vendor, const char *device,
                      const char *driver, int group)
{
    assert_string_equal(vf->pci, pci);
    if (vendor)
        assert_string_equal(vf->vendor, vendor);
    else
        assert_null(vf->vendor);
    if (device)
        assert_string_equal(vf->device, device);
    else
        assert_null(vf->device);
    if (driver)
        assert_string_equal(vf->driver, driver);
    else
        assert_null(vf->driver);
    assert_int_equal(vf->iommu_group, group);
}

static void assert_error_is(const char *got, const char *sys, const char *rest)
{
    char want[1024];
    snprintf(want, sizeof(want), "error: %s/bus/pci/devices/%s", sys, rest);
    assert_non_null(got);
    assert_string_equal(got, want);
}

static void test_every_path(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "single", NULL);
    damage(&f);
    assert_int_equal(nf_sriov_scan(f.sys, NULL, &f.t), 0);
    assert_int_equal(f.t.n_errors, 0);
    assert_int_equal(f.t.n_unplaced_devices, 0);
    nf_numa_node *n = nf_topology_numa(&f.t, 0);
    assert_non_null(n);
    assert_int_equal(n->n_devices, 2); /* both PFs, in address order */
    const nf_device_group *g = &n->devices[0];
    assert_string_equal(g->pf.pci, "0000:3b:00.0");
    assert_null(g->pf.error);
    assert_null(g->resource);
    assert_int_equal(g->n_vfs, 5);
    assert_vf(&g->vfs[0], "0000:3b:01.0", "8086", "1889", "vfio-pci", 50);
    assert_null(g->vfs[0].error);
    assert_vf(&g->vfs[1], "0000:3b:01.1", "8086", "1889", "vfio-pci", 51);
    assert_null(g->vfs[1].error);
    assert_vf(&g->vfs[2], "0000:3b:01.2", "8086", "1889", "vfio-pci", NF_UNKNOWN);
    assert_error_is(g->vfs[2].error, f.sys,
                    "0000:3b:00.0/virtfn2/iommu_group -> abc: not an IOMMU group number");
    assert_vf(&g->vfs[3], "0000:3b:01.3", NULL, "1889", "vfio-pci", 53);
    assert_error_is(g->vfs[3].error, f.sys,
                    "0000:3b:00.0/virtfn3/vendor: No such file or directory");
    assert_vf(&g->vfs[4], "notadir", NULL, NULL, NULL, NF_UNKNOWN);
    assert_error_is(g->vfs[4].error, f.sys,
                    "0000:3b:00.0/virtfn4 -> ../notadir: points nowhere (Not a directory)");

    g = &n->devices[1];
    assert_string_equal(g->pf.pci, "0000:50:00.0");
    assert_null(g->pf.driver);
    assert_null(g->pf.netdev);
    assert_int_equal(g->pf.total_vfs, 8);
    assert_int_equal(g->pf.num_vfs, 1);
    assert_int_equal(g->n_vfs, 1);
    assert_vf(&g->vfs[0], "0000:3b:02.0", "8086", "1889", "vfio-pci", 60);
    assert_null(g->vfs[0].error);
    fx_close(&f);
}

/* With a config, the PCI class is read on either path: VF0 (through the parent) is made an
 * accelerator, so the netDevice pool leaves it; VF1 (absolute link) and 3b:02.0 join it; the VFs
 * with a problem join nothing. */
static void test_every_path_with_config(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, "single", NULL);
    damage(&f);
    nft_write(nft_path(f.sys, "devices/pci0000:3b/0000:3b:01.0/class"), "0x120000\n");
    static const char cfg_text[] = "{\"resourceList\":[{\"resourceName\":\"dpdk\",\"deviceType\":"
                                   "\"netDevice\",\"selectors\":{\"drivers\":[\"vfio-pci\"]}}]}";
    nf_sriov_config *cfg = NULL;
    nf_err err = {{0}};
    assert_int_equal(nf_sriov_config_parse(cfg_text, strlen(cfg_text), "test", &cfg, &err), 0);
    assert_int_equal(nf_sriov_scan(f.sys, cfg, &f.t), 0);
    nf_numa_node *n = nf_topology_numa(&f.t, 0);
    assert_int_equal(n->n_devices, 3); /* 3b:00.0 split in two groups, then 50:00.0 */
    const nf_device_group *g = &n->devices[0];
    assert_null(g->resource);
    assert_int_equal(g->n_vfs, 4);
    assert_string_equal(g->vfs[0].pci, "0000:3b:01.0");
    assert_null(g->vfs[0].error);
    assert_string_equal(g->vfs[1].pci, "0000:3b:01.2");
    g = &n->devices[1];
    assert_string_equal(g->resource, "intel.com/dpdk");
    assert_int_equal(g->n_vfs, 1);
    assert_string_equal(g->vfs[0].pci, "0000:3b:01.1");
    g = &n->devices[2];
    assert_string_equal(g->pf.pci, "0000:50:00.0");
    assert_string_equal(g->resource, "intel.com/dpdk");
    assert_int_equal(g->n_vfs, 1);
    nf_sriov_config_free(cfg);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_path),
        cmocka_unit_test(test_every_path_with_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
