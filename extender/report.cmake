# nf_report: the capacity report (model + table/CSV/JSON/HTML renderers) on top of nf_fit's
# counting; used by numafit-report and by the extender's GET /v1/report.
add_library(nf_report STATIC
  ${CMAKE_CURRENT_LIST_DIR}/report.c
  ${CMAKE_CURRENT_LIST_DIR}/report_render.c
)
target_include_directories(nf_report PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(nf_report PUBLIC nf_fit)
target_link_libraries(nf_extender_http PUBLIC nf_report)

add_executable(numafit-report ${CMAKE_CURRENT_LIST_DIR}/report_main.c ${CMAKE_CURRENT_LIST_DIR}/fit_cli.c)
target_link_libraries(numafit-report PRIVATE nf_report nf_cache PkgConfig::CURL)
target_compile_definitions(numafit-report PRIVATE NUMAFIT_VERSION="${PROJECT_VERSION}")
