# cmake --install: the four programs, the exporter's systemd unit (ExecStart pointing at the
# installed binary) and man pages made from each program's --help by help2man (when found).
include(GNUInstallDirs)

set(NUMAFIT_PROGRAMS numafit-exporter numafit-extender numafit-report numafit-pod)
install(TARGETS ${NUMAFIT_PROGRAMS} RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Written at install time, so ExecStart names the binary under the prefix given to
# cmake --install --prefix (DESTDIR staging is not part of that path).
set(NUMAFIT_SYSTEMD_UNIT_DIR "lib/systemd/system"
    CACHE STRING "Where cmake --install puts numafit-exporter.service (relative: under the prefix)")
install(CODE "
  set(unit_dir \"${NUMAFIT_SYSTEMD_UNIT_DIR}\")
  if(NOT IS_ABSOLUTE \"\${unit_dir}\")
    set(unit_dir \"\${CMAKE_INSTALL_PREFIX}/\${unit_dir}\")
  endif()
  file(READ \"${PROJECT_SOURCE_DIR}/deploy/systemd/numafit-exporter.service\" unit)
  string(REPLACE \"/usr/local/bin/numafit-exporter\"
         \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}/numafit-exporter\" unit \"\${unit}\")
  message(STATUS \"Installing: \$ENV{DESTDIR}\${unit_dir}/numafit-exporter.service\")
  file(WRITE \"\$ENV{DESTDIR}\${unit_dir}/numafit-exporter.service\" \"\${unit}\")
")

find_program(HELP2MAN help2man)
if(HELP2MAN)
  set(what_numafit-exporter "per-NUMA free CPUs, hugepages, memory and SR-IOV VFs of this node")
  set(what_numafit-extender "kube-scheduler extender placing DPDK pods on one NUMA node")
  set(what_numafit-report "how many more pods of a shape fit, NUMA-aligned")
  set(what_numafit-pod "inside a DPDK container: its CPUs, VFs and hugepages, and EAL arguments")
  set(pages)
  foreach(prog ${NUMAFIT_PROGRAMS})
    set(page ${PROJECT_BINARY_DIR}/man/${prog}.1)
    add_custom_command(
      OUTPUT ${page}
      COMMAND ${CMAKE_COMMAND} -E make_directory ${PROJECT_BINARY_DIR}/man
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr -n "${what_${prog}}" -o ${page}
              $<TARGET_FILE:${prog}>
      DEPENDS ${prog}
      COMMENT "man page ${prog}.1 from --help"
      VERBATIM)
    list(APPEND pages ${page})
  endforeach()
  add_custom_target(man ALL DEPENDS ${pages})
  install(FILES ${pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "help2man not found: no man pages")
endif()
