# numafit-extender: the HTTP glue (a library, so tests serve it on loopback in-process), the
# binding cycle (reservations, API server client) and main().
add_library(nf_extender_http STATIC ${CMAKE_CURRENT_LIST_DIR}/extender_http.c
  ${CMAKE_CURRENT_LIST_DIR}/node_view.c
  ${CMAKE_CURRENT_LIST_DIR}/explain.c
  ${CMAKE_CURRENT_LIST_DIR}/extender_metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/reservations.c
  ${CMAKE_CURRENT_LIST_DIR}/binder.c)
target_link_libraries(nf_extender_http PUBLIC nf_cache nf_fit PkgConfig::MHD)

# fit_cli.c: the fit options as both commands take them (fit.h knows nothing of the CLI)
add_executable(numafit-extender ${CMAKE_CURRENT_LIST_DIR}/extender_main.c
               ${CMAKE_CURRENT_LIST_DIR}/fit_cli.c)
target_link_libraries(numafit-extender PRIVATE nf_extender_http nf_cache nf_fit PkgConfig::MHD)
target_compile_definitions(numafit-extender PRIVATE NUMAFIT_VERSION="${PROJECT_VERSION}")
