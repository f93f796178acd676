# Injected into llama-cpp-python's CMake build (CMAKE_PROJECT_INCLUDE, see common.sh).
#
# With GGML_BACKEND_DL=ON and GGML_CPU_ALL_VARIANTS=ON, ggml builds one CPU backend per
# x86 level (libggml-cpu-haswell.so, -skylakex, -icelake, ...) and picks the best one
# for the running CPU at run time. llama-cpp-python only installs a target named
# "ggml-cpu", which does not exist in that mode, so the wheel would ship no CPU backend
# at all. This adds the variants to the wheel, next to libggml.so, after every target
# is defined (cmake_language(DEFER) runs at the end of the top-level CMakeLists).
get_property(_kura_done GLOBAL PROPERTY KURA_CPU_VARIANTS_DEFERRED)
if(NOT _kura_done)
    set_property(GLOBAL PROPERTY KURA_CPU_VARIANTS_DEFERRED TRUE)
    function(kura_install_cpu_variants)
        set(_tags x64 sse42 sandybridge ivybridge piledriver haswell skylakex cannonlake
                  cascadelake icelake cooperlake zen4 alderlake sapphirerapids
                  apple_m1 apple_m2_m3 apple_m4)
        foreach(_tag IN LISTS _tags)
            if(TARGET ggml-cpu-${_tag})
                message(STATUS "kura: installing CPU backend variant ggml-cpu-${_tag}")
                llama_cpp_python_install_target(ggml-cpu-${_tag})
            endif()
        endforeach()
    endfunction()
    cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL kura_install_cpu_variants)
endif()
