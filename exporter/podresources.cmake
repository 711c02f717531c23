# kubelet's podresources API v1 (gRPC core's C API + protobuf-c), asked on a thread of its own
# (exporter/podresources.h, podres_poller.h); built into nf_kubelet (kubelet.cmake). The messages' C code is generated from
# proto/podresources-v1.proto at build time.
pkg_check_modules(GRPC REQUIRED IMPORTED_TARGET grpc)
pkg_check_modules(PROTOBUFC REQUIRED IMPORTED_TARGET GLOBAL libprotobuf-c) # GLOBAL: tests build answers with it
find_program(NF_PROTOC_C protoc-c REQUIRED)

set(NF_PODRES_PROTO_DIR ${PROJECT_SOURCE_DIR}/proto)
set(NF_PODRES_GEN ${CMAKE_CURRENT_BINARY_DIR}/podresources-v1.pb-c.c
                  ${CMAKE_CURRENT_BINARY_DIR}/podresources-v1.pb-c.h)
add_custom_command(
  OUTPUT ${NF_PODRES_GEN}
  COMMAND ${NF_PROTOC_C} --proto_path=${NF_PODRES_PROTO_DIR} --c_out=${CMAKE_CURRENT_BINARY_DIR}
          podresources-v1.proto
  DEPENDS ${NF_PODRES_PROTO_DIR}/podresources-v1.proto
  COMMENT "protoc-c podresources-v1.proto")
# generated code: not ours to warn about
set_source_files_properties(${CMAKE_CURRENT_BINARY_DIR}/podresources-v1.pb-c.c
                            PROPERTIES COMPILE_OPTIONS "-w")

set(NF_PODRES_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/podresources.c
  ${CMAKE_CURRENT_LIST_DIR}/podres_poller.c
  ${CMAKE_CURRENT_BINARY_DIR}/podresources-v1.pb-c.c
)
