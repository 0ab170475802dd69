# Helpers that give every Zeta target the same language standard and warnings.

# zeta_target_defaults(<target>): C++20, strict warnings, -Werror when asked for.
function(zeta_target_defaults target)
  target_compile_features(${target} PRIVATE cxx_std_20)
  set_target_properties(${target} PROPERTIES CXX_EXTENSIONS OFF)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wshadow -Wpedantic
                                           -Wnon-virtual-dtor -Wold-style-cast)
  if(ZETA_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(ZETA_NATIVE)
    target_compile_options(${target} PRIVATE -march=native)
  endif()
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
    # GCC 12 false positives: maybe-uninitialized inside Eigen's AVX-512 intrinsics and
    # restrict inside std::string (GCC bug 105329).
    target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized -Wno-restrict)
  endif()
endfunction()
