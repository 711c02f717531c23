# nf_probe: the embedded DPDK probe (dpdk_probe.h, probe_cli.h, prober.h).
#
# Only probe_eal.c includes DPDK headers. It is compiled as its own object library so that
# DPDK's cflags (`-include rte_config.h -march=corei7`, its include dirs) stay private to that one
# file; DPDK's include dirs come from an IMPORTED target, so CMake passes them as -isystem and
# DPDK's inline headers cannot trip -Werror. The rest of nf_probe, and every consumer, only
# links DPDK's libraries (DPDK_LINK_LIBRARIES).
# Without DPDK (NUMAFIT_HAVE_DPDK OFF) nf_probe still builds: every device reports
# "skipped: exporter built without DPDK".
add_library(nf_probe STATIC
  ${CMAKE_CURRENT_LIST_DIR}/dpdk_probe.c
  ${CMAKE_CURRENT_LIST_DIR}/probe_cli.c
  ${CMAKE_CURRENT_LIST_DIR}/prober.c
)
target_include_directories(nf_probe PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(nf_probe PUBLIC numafit)

if(NUMAFIT_HAVE_DPDK)
  add_library(nf_probe_eal OBJECT ${CMAKE_CURRENT_LIST_DIR}/probe_eal.c)
  target_include_directories(nf_probe_eal PRIVATE ${CMAKE_CURRENT_LIST_DIR})
  target_link_libraries(nf_probe_eal PRIVATE numafit PkgConfig::DPDK)
  target_compile_definitions(nf_probe_eal PRIVATE NF_HAVE_DPDK=1)
  target_sources(nf_probe PRIVATE $<TARGET_OBJECTS:nf_probe_eal>)
  target_compile_definitions(nf_probe PRIVATE NF_HAVE_DPDK=1)
  # the libraries only (absolute paths from pkg-config), not PkgConfig::DPDK's compile options
  target_link_libraries(nf_probe PRIVATE ${DPDK_LINK_LIBRARIES})
endif()
