# The exporter's core (collector, derived resources, HTTP, event loop) and its binary.
add_library(nf_exporter STATIC
  ${CMAKE_CURRENT_LIST_DIR}/zone_resources.c
  ${CMAKE_CURRENT_LIST_DIR}/collector.c
  ${CMAKE_CURRENT_LIST_DIR}/exporter_http.c
  ${CMAKE_CURRENT_LIST_DIR}/exporter_metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/exporter_daemon.c
  ${CMAKE_CURRENT_LIST_DIR}/privsep.c
  ${CMAKE_CURRENT_LIST_DIR}/nrt_publisher.c
)
target_include_directories(nf_exporter PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(nf_exporter PUBLIC numafit nf_sysfs nf_kubelet nf_probe PkgConfig::MHD
                      PkgConfig::SECCOMP)

add_executable(numafit-exporter ${CMAKE_CURRENT_LIST_DIR}/exporter_main.c)
target_link_libraries(numafit-exporter PRIVATE nf_exporter)
target_compile_definitions(numafit-exporter PRIVATE NUMAFIT_VERSION="${PROJECT_VERSION}")
