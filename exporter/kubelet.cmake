# nf_kubelet: KubeletConfiguration and kubelet's state files (cpu/memory manager, device plugins),
# kept as a last good view and applied to a NodeTopology (see exporter/kubelet_view.h).
add_library(nf_kubelet STATIC
  ${CMAKE_CURRENT_LIST_DIR}/kubelet_json.c
  ${CMAKE_CURRENT_LIST_DIR}/kubelet_spew.c
  ${CMAKE_CURRENT_LIST_DIR}/kubelet_config.c
  ${CMAKE_CURRENT_LIST_DIR}/kubelet_config_find.c
  ${CMAKE_CURRENT_LIST_DIR}/kubelet_cpu_state.c
  ${CMAKE_CURRENT_LIST_DIR}/kubelet_take_by_topology.c
  ${CMAKE_CURRENT_LIST_DIR}/kubelet_memory_state.c
  ${CMAKE_CURRENT_LIST_DIR}/kubelet_device_checkpoint.c
  ${CMAKE_CURRENT_LIST_DIR}/kubelet_view.c
  ${NF_PODRES_SOURCES}
)
target_include_directories(nf_kubelet PUBLIC ${CMAKE_CURRENT_LIST_DIR} PRIVATE ${CMAKE_CURRENT_BINARY_DIR})
target_link_libraries(nf_kubelet PUBLIC numafit PRIVATE PkgConfig::GRPC PkgConfig::PROTOBUFC Threads::Threads)
