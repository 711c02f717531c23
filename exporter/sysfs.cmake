# nf_sysfs: the exporter's hardware readers (hwloc + sysfs NUMA topology, SR-IOV PFs/VFs and the
# SR-IOV network device plugin config). See sysfs_machine.h, sysfs_sriov.h, sriov_config.h.
add_library(nf_sysfs STATIC
  ${CMAKE_CURRENT_LIST_DIR}/sysfs_machine.c
  ${CMAKE_CURRENT_LIST_DIR}/sysfs_sriov.c
  ${CMAKE_CURRENT_LIST_DIR}/sriov_config.c
)
target_include_directories(nf_sysfs PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(nf_sysfs PUBLIC numafit PkgConfig::HWLOC Threads::Threads)
