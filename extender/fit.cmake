# nf_fit: the extender's pure logic (pod requirements, fit, score, kubelet's choice, protocol
# codec). No HTTP, no
# threads; used by numafit-extender and numafit-report. Headers are included as "fit.h" etc.
add_library(nf_fit STATIC
  ${CMAKE_CURRENT_LIST_DIR}/pod_requirements.c
  ${CMAKE_CURRENT_LIST_DIR}/fit.c
  ${CMAKE_CURRENT_LIST_DIR}/fit_memo.c
  ${CMAKE_CURRENT_LIST_DIR}/score.c
  ${CMAKE_CURRENT_LIST_DIR}/kubelet_predict.c
  ${CMAKE_CURRENT_LIST_DIR}/extender_protocol.c
  ${CMAKE_CURRENT_LIST_DIR}/preempt.c
)
target_include_directories(nf_fit PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(nf_fit PUBLIC numafit PkgConfig::JANSSON m)
