# nf_cache: the extender's topology cache and what fills it (exporter pullers, --topology-dir,
# --nrt).
add_library(nf_cache STATIC
  ${CMAKE_CURRENT_LIST_DIR}/cache.c
  ${CMAKE_CURRENT_LIST_DIR}/puller.c
  ${CMAKE_CURRENT_LIST_DIR}/topology_dir.c
  ${CMAKE_CURRENT_LIST_DIR}/nrt_source.c
)
target_include_directories(nf_cache PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(nf_cache PUBLIC numafit PkgConfig::CURL Threads::Threads)
