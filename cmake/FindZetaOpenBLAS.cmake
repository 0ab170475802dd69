# Finds OpenBLAS (Debian: libopenblas-dev) and wraps it as the imported target
# ZetaOpenBLAS::OpenBLAS; Debian's OpenBLASConfig.cmake sets variables only.
find_package(OpenBLAS CONFIG QUIET)
if(OpenBLAS_FOUND)
  set(ZetaOpenBLAS_LIBRARY "${OpenBLAS_LIBRARIES}")
  set(ZetaOpenBLAS_INCLUDE_DIR "${OpenBLAS_INCLUDE_DIRS}")
else()
  find_library(ZetaOpenBLAS_LIBRARY NAMES openblas)
  find_path(ZetaOpenBLAS_INCLUDE_DIR NAMES cblas.h PATH_SUFFIXES openblas)
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(ZetaOpenBLAS
                                  REQUIRED_VARS ZetaOpenBLAS_LIBRARY ZetaOpenBLAS_INCLUDE_DIR)
if(ZetaOpenBLAS_FOUND AND NOT TARGET ZetaOpenBLAS::OpenBLAS)
  add_library(ZetaOpenBLAS::OpenBLAS UNKNOWN IMPORTED)
  set_target_properties(ZetaOpenBLAS::OpenBLAS PROPERTIES
                        IMPORTED_LOCATION "${ZetaOpenBLAS_LIBRARY}"
                        INTERFACE_INCLUDE_DIRECTORIES "${ZetaOpenBLAS_INCLUDE_DIR}")
endif()
