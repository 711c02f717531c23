# see extender/CMakeLists.txt
