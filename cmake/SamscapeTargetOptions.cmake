# Warnings, sanitizers and LibTorch precompiled headers, collected per target so that they apply to
# samscape's own code only (third-party headers come in as SYSTEM through imported targets).

function(samscape_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wnon-virtual-dtor)
  if(SAMSCAPE_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(SAMSCAPE_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# LibTorch's umbrella header costs about 20 s per translation unit; a target that includes it in
# several files shares one precompiled copy.
function(samscape_torch_pch target)
  if(SAMSCAPE_PRECOMPILED_HEADERS)
    target_precompile_headers(${target} PRIVATE <torch/torch.h>)
  endif()
endfunction()
