# see exporter/CMakeLists.txt
