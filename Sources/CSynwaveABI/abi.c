/* Compiles the ABI header once for the host so its _Static_asserts run in every build. */
#include "synwave_abi.h"
